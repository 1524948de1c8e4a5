"""The MRP engine's promises over random small plants: BOM forests up to four levels deep with
shared parts, made and bought items, pieces and kilograms, customer-supplied parts; random stock
(some of it negative), QC holds and open purchase orders; random open lines.

- nothing is promised twice: per SKU what all lines took is at most what exists;
- a line's plan never depends on the lines after it;
- what a line can make is really makeable from the stock it saw (checked by an independent
  net-requirement explosion), and one unit more is not;
- the same input gives the same plan;
- open purchase-order quantity comes in dated lots (and some undated): a line's material date is
  the latest due date of the lots its takes reach, due first first, and its earliest date is
  never before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import ROUND_CEILING, Decimal
from graphlib import TopologicalSorter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.mrp.planning.domain import (
    Capacity,
    Component,
    Item,
    Line,
    LineResult,
    OrderLine,
    Plan,
    PlanInput,
    Stock,
    plan,
)

D = Decimal
ZERO = D(0)
PLAN_DATE = date(2026, 11, 23)
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- random plants ----------------------------------------------------------------------------


@st.composite
def plants(draw: st.DrawFn) -> PlanInput:
    """SKUs on levels 0-3; a made SKU's first part is on the next level and its others on any
    deeper one (so the forest has no cycle, goes down the levels, and a part can hang under
    several parents, or twice under one). Pieces (EA) are whole numbers; kilograms come in
    quarters."""
    sizes = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    sizes += [draw(st.integers(0, 3)), draw(st.integers(0, 2))]
    levels = [level for level, size in enumerate(sizes) for _ in range(size)]
    skus = [f"P{n}" for n in range(len(levels))]
    items: dict[str, Item] = {}
    boms: dict[str, list[Component]] = {}
    for n in reversed(range(len(skus))):  # deepest first: a parent sees its parts' units
        sku, level = skus[n], levels[n]
        below = [s for s, lv in zip(skus, levels, strict=True) if lv == level + 1]
        deeper = [s for s, lv in zip(skus, levels, strict=True) if lv > level]
        if below and draw(st.integers(0, 3)) > 0:
            parts = [draw(st.sampled_from(below))]
            parts += draw(st.lists(st.sampled_from(deeper), max_size=2))  # repeats allowed
            boms[sku] = [Component(part, draw(_qty_per(items[part]))) for part in parts]
            items[sku] = Item(sku, "EA", "make")
        else:
            uom = draw(st.sampled_from(["EA", "EA", "KG"]))
            supplied = draw(st.integers(0, 4)) == 0
            items[sku] = Item(sku, uom, "buy", supplied)
    # Made parts are mostly made (no stock of their own), so the plan goes down the levels.
    stock = {
        sku: draw(_stock(items[sku]))
        for sku in skus
        if draw(st.integers(0, 5)) > (3 if sku in boms else 0)
    }
    tops = [s for s, lv in zip(skus, levels, strict=True) if lv == 0]
    orders = draw(st.lists(_order(tops, skus), min_size=1, max_size=6))
    orders = [replace(o, so_number=f"SO-{n}") for n, o in enumerate(orders, start=1)]
    with_line = draw(st.booleans())
    return PlanInput(
        plan_date=PLAN_DATE,
        orders=orders,
        items=items,
        stock=stock,
        boms=boms,
        lines=[Line("L1")] if with_line else [],
        capacities=[Capacity("L1", D(draw(st.integers(1, 40))), date(2026, 1, 1))],
    )


def _qty_per(part: Item) -> st.SearchStrategy[Decimal]:
    """Whole pieces of a counted part: the engine makes a fraction of a counted sub-assembly
    as a whole one per path, which the explosion below (one sum per SKU) does not."""
    if part.uom == "KG":
        return st.sampled_from([D("0.25"), D("0.5"), D("1.5")])
    return st.integers(1, 3).map(D)


def _stock(item: Item) -> st.SearchStrategy[Stock]:
    quarter = 4 if item.uom == "KG" else 1
    # Small amounts often, so that what is left after a line is just short of the next unit.
    amount = st.one_of(st.integers(0, 6 * quarter), st.integers(-2 * quarter, 30 * quarter)).map(
        lambda n: D(n) / quarter
    )
    small = st.integers(0, 10 * quarter).map(lambda n: D(n) / quarter)
    return st.builds(_with_lots, amount, small, st.lists(_lot(small), max_size=3), small)


def _lot(qty: st.SearchStrategy[Decimal]) -> st.SearchStrategy[tuple[date, Decimal]]:
    """An open PO line due from a week ago to two months ahead."""
    due = st.integers(-7, 60).map(lambda n: date.fromordinal(PLAN_DATE.toordinal() + n))
    return st.tuples(due, qty)


def _with_lots(
    available: Decimal, pending: Decimal, lots: list[tuple[date, Decimal]], undated: Decimal
) -> Stock:
    """Open purchase orders as dated lots (one per date, earliest first) and `undated`."""
    by_date: dict[date, Decimal] = {}
    for due, qty in lots:
        if qty > 0:
            by_date[due] = by_date.get(due, ZERO) + qty
    dated = tuple(sorted(by_date.items()))
    return Stock(available, pending, sum(by_date.values(), undated), dated)


def _order(tops: Sequence[str], skus: Sequence[str]) -> st.SearchStrategy[OrderLine]:
    """A line mostly for a top-level item, sometimes for a part (whose pool it shares)."""
    return st.builds(
        lambda sku, qty, reserved, in_production: OrderLine(
            so_number="",
            line_no=1,
            sku=sku,
            customer_code="C",
            customer_name="Customer",
            customer_priority=3,
            business_unit=None,
            due_date=None,
            qty_open=D(qty),
            unit_price=D(1),
            qty_reserved=D(reserved),
            qty_in_production=D(in_production),
        ),
        st.one_of(st.sampled_from(tops), st.sampled_from(skus)),
        st.one_of(st.integers(1, 4), st.integers(1, 30)),
        st.sampled_from([0, 0, 0, 2, 5]),
        st.sampled_from([0, 0, 0, 3]),
    )


# --- the oracle: stock a line saw, and an independent explosion -------------------------------


def consume(stock: Stock, qty: Decimal) -> Stock:
    """What is left of `stock` after `qty` is taken approved first, then QC, then open PO, its
    dated lots earliest first and the undated rest last (the order every take of the engine
    follows); fails if `qty` is more than there is."""
    return consumed(stock, qty)[0]


def consumed(stock: Stock, qty: Decimal) -> tuple[Stock, date | None, bool]:
    """`consume`, with the latest due date of the lots the take reached and whether it reached
    the undated open quantity."""
    left = [max(stock.available, ZERO), max(stock.pending_qc, ZERO), max(stock.on_order, ZERO)]
    for n, have in enumerate(left):
        used = min(have, qty)
        left[n] -= used
        qty -= used
    assert qty == 0, "taken beyond what exists"
    from_po = max(stock.on_order, ZERO) - left[2]
    lots, latest = [], None
    for due, lot in stock.on_order_lots:
        used = min(lot, from_po)
        from_po -= used
        if used > 0:
            latest = due
        if lot > used:
            lots.append((due, lot - used))
    return Stock(left[0], left[1], left[2], tuple(lots)), latest, from_po > 0


def stock_seen(plan_input: PlanInput, result: Plan, rank: int) -> dict[str, Stock]:
    """Every SKU's stock as the line at `rank` found it: what earlier lines left."""
    seen = dict(plan_input.stock)
    for take in result.takes:
        if take.rank < rank:
            seen[take.sku] = consume(seen.get(take.sku, Stock()), take.qty)
    return seen


def explode(
    boms: Mapping[str, Sequence[Component]],
    pools: Mapping[str, Decimal],
    components: Sequence[Component],
    qty: Decimal,
) -> dict[str, Decimal] | None:
    """What making `qty` takes of each SKU's pool, netting gross requirements level by level
    (every parent before its parts, parts first from their pool, the rest made); None if some
    bought part runs out. Independent of the engine's recursive draws."""
    children = {sku: {c.sku for c in parts} for sku, parts in boms.items()}
    parents_first = list(reversed(list(TopologicalSorter(children).static_order())))
    gross: dict[str, Decimal] = {}
    for component in components:
        gross[component.sku] = gross.get(component.sku, ZERO) + qty * component.qty_per
    taken: dict[str, Decimal] = {}
    for sku in parents_first + [s for s in gross if s not in children]:
        wanted = gross.pop(sku, ZERO)
        if wanted <= 0:
            continue
        used = min(wanted, pools.get(sku, ZERO))
        if used > 0:
            taken[sku] = taken.get(sku, ZERO) + used
        rest = wanted - used
        if rest > 0:
            if sku not in boms:
                return None
            for part in boms[sku]:
                gross[part.sku] = gross.get(part.sku, ZERO) + rest * part.qty_per
    return taken


def takes_by_sku(result: Plan, rank: int) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for take in result.takes:
        if take.rank == rank:
            totals[take.sku] = totals.get(take.sku, ZERO) + take.qty
    return totals


def left_of(stocks: Mapping[str, Stock]) -> dict[str, Decimal]:
    """Each SKU's stock in all, a negative count read as none (as the engine reads it)."""
    return {
        sku: sum((max(q, ZERO) for q in (s.available, s.pending_qc, s.on_order)), ZERO)
        for sku, s in stocks.items()
    }


def without_history(result: LineResult) -> LineResult:
    """A line's result without what depends on its place in the run (rank, what earlier lines
    took, the line's queue of shifts, and what to buy, which is netted against what every line
    left once all have allocated)."""
    components = [replace(c, taken_before=ZERO) for c in result.components]
    return replace(
        result,
        rank=0,
        to_buy={},
        components=components,
        line_code=None,
        shifts_required=None,
        earliest_date=None,
    )


# --- the properties ---------------------------------------------------------------------------


@QUICK
@given(plants())
def test_nothing_is_allocated_beyond_what_exists(plan_input: PlanInput) -> None:
    result = plan(plan_input)

    taken: dict[str, Decimal] = {}
    for take in result.takes:
        assert take.qty > 0
        taken[take.sku] = taken.get(take.sku, ZERO) + take.qty
    for sku, qty in taken.items():
        stock = plan_input.stock.get(sku, Stock())
        exists = max(stock.available, ZERO) + max(stock.pending_qc, ZERO)
        assert qty <= exists + max(stock.on_order, ZERO), sku
    for line in result.lines:
        order = line.order
        assert line.qty_from_stock + line.qty_pending_qc <= (
            max(plan_input.stock.get(order.sku, Stock()).available, ZERO)
            + max(plan_input.stock.get(order.sku, Stock()).pending_qc, ZERO)
        )
        parts = (line.qty_reserved, line.qty_from_stock, line.qty_pending_qc)
        parts += (line.qty_in_production, line.qty_needed)
        assert all(part >= 0 for part in parts)
        assert sum(parts) == order.qty_open
        assert ZERO <= line.qty_can_make <= line.qty_needed
        for need in line.components:
            assert ZERO <= need.allocated <= need.required, need
            # (Orders here are whole: a fraction of a counted item is made whole, and its short
            # can then pass this bound.)
            assert ZERO <= need.short <= need.required - need.allocated, need


@QUICK
@given(plants(), st.integers(0, 6))
def test_a_lines_plan_never_depends_on_the_lines_after_it(plan_input: PlanInput, cut: int) -> None:
    whole = plan(plan_input)
    first = plan(replace(plan_input, orders=plan_input.orders[:cut]))

    # What to buy is netted once every line has allocated (later lines may take the parts an
    # earlier, blocked line will need): everything else of a line is settled at its turn.
    assert [replace(line, to_buy={}) for line in first.lines] == [
        replace(line, to_buy={}) for line in whole.lines[:cut]
    ]
    assert first.takes == [t for t in whole.takes if t.rank < cut]


@QUICK
@given(plants())
def test_what_the_lines_buy_is_exactly_what_the_plant_lacks(plan_input: PlanInput) -> None:
    """Net purchases: after the run, walking every line's remainder over the leftovers again
    with the suggested purchases added to stock finds nothing more to buy."""
    result = plan(plan_input)
    bought: dict[str, Decimal] = {}
    for line in result.lines:
        for sku, qty in line.to_buy.items():
            assert qty > 0
            bought[sku] = bought.get(sku, ZERO) + qty
    stock = dict(plan_input.stock)
    for sku, qty in bought.items():
        held = stock.get(sku, Stock())
        stock[sku] = replace(held, on_order=held.on_order + qty)
    again = plan(replace(plan_input, stock=stock))
    assert all(not line.to_buy for line in again.lines), bought


@QUICK
@given(plants())
def test_what_a_line_can_make_is_makeable_from_what_it_saw_and_one_more_is_not(
    plan_input: PlanInput,
) -> None:
    result = plan(plan_input)

    for line in result.lines:
        if line.qty_needed <= 0:
            continue
        order = line.order
        seen = stock_seen(plan_input, result, line.rank)
        # The line's own finished goods came off the shelf first.
        from_shelf = line.qty_from_stock + line.qty_pending_qc
        after_shelf = {**seen, order.sku: consume(seen.get(order.sku, Stock()), from_shelf)}
        pools = left_of(after_shelf)
        components = plan_input.boms.get(order.sku) or [Component(order.sku, D(1))]

        taken = explode(plan_input.boms, pools, components, line.qty_can_make)

        assert taken is not None, f"{order.so_number} cannot make {line.qty_can_make}"
        expected = dict(taken)
        if from_shelf > 0:
            expected[order.sku] = expected.get(order.sku, ZERO) + from_shelf
        assert takes_by_sku(result, line.rank) == expected
        if line.qty_can_make < line.qty_needed:
            step = D(1) if plan_input.items[order.sku].counted else D("0.0001")
            more = min(line.qty_can_make + step, line.qty_needed)
            assert explode(plan_input.boms, pools, components, more) is None, order.so_number
            assert line.bottleneck, f"{order.so_number} is short of something unnamed"


@QUICK
@given(plants())
def test_a_line_planned_alone_on_the_stock_it_saw_comes_out_the_same(
    plan_input: PlanInput,
) -> None:
    result = plan(plan_input)

    for line in result.lines:
        seen = stock_seen(plan_input, result, line.rank)
        alone = plan(replace(plan_input, orders=[line.order], stock=seen)).lines[0]
        assert without_history(alone) == without_history(line)


@QUICK
@given(plants())
def test_each_component_row_shows_exactly_what_earlier_lines_took(
    plan_input: PlanInput,
) -> None:
    result = plan(plan_input)

    for line in result.lines:
        for need in line.components:
            before = sum(
                (t.qty for t in result.takes if t.sku == need.sku and t.rank < line.rank),
                ZERO,
            )
            assert need.taken_before == before, (line.order.so_number, need)


@QUICK
@given(plants())
def test_the_same_input_gives_the_same_plan(plan_input: PlanInput) -> None:
    assert plan(plan_input) == plan(plan_input)


@QUICK
@given(plants())
def test_the_production_line_is_booked_in_priority_order(plan_input: PlanInput) -> None:
    result = plan(plan_input)

    booked = [line for line in result.lines if line.line_code is not None]
    rate = plan_input.capacities[0].units_per_shift
    for line in booked:
        assert line.order.sku in plan_input.boms and line.qty_needed > 0
        shifts = (line.qty_needed / rate).quantize(D("0.01"), rounding=ROUND_CEILING)
        assert line.shifts_required == shifts
    # With no line waiting for material the line has no idle stretch to fill, and bookings
    # follow priority. (A line that waits leaves idle days that later lines may use; that they
    # never move an earlier line's booking is the property above, of the lines after it.)
    waits = any(
        line.material_date is not None and line.material_date > plan_input.plan_date
        for line in booked
    )
    dates = [line.earliest_date or date.max for line in booked]
    if not waits:
        assert dates == sorted(dates)
    if plan_input.lines:
        made = [line for line in result.lines if line.order.sku in plan_input.boms]
        assert [line for line in made if line.qty_needed > 0] == booked


@QUICK
@given(plants())
def test_a_line_waits_for_the_latest_lot_its_takes_reach_and_is_never_made_before_it(
    plan_input: PlanInput,
) -> None:
    result = plan(plan_input)

    for line in result.lines:
        seen = stock_seen(plan_input, result, line.rank)
        latest: date | None = None
        undated = False
        for sku, qty in takes_by_sku(result, line.rank).items():
            _left, due, reached_undated = consumed(seen.get(sku, Stock()), qty)
            if due is not None and (latest is None or due > latest):
                latest = due
            undated = undated or reached_undated
        assert (line.material_date, line.material_undated) == (latest, undated), line.order
        if line.earliest_date is not None and line.material_date is not None:
            assert line.earliest_date >= line.material_date, line.order
