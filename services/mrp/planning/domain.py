"""The MRP engine: plain objects in, a plan out; no database, HTTP or broker.

Open sales-order lines are taken one by one in priority order (`ordering.py`). At its turn a
line takes, in this order:
1. what inventory already holds for it (its own reservation);
2. live finished-goods stock (approved, not reserved for anyone): Ready to Ship if that covers
   it in full;
3. finished goods still in QC (Pending QC), then what open jobs for the line will still make;
4. for the rest, production. Pass one finds how much can be made: per component, the live pool
   of approved stock plus pending-QC stock plus open purchase-order quantity, less what earlier
   lines took (stock issued to jobs, WIP, is never counted); a component that is itself made
   adds what its own BOM can make, to any depth. Pass two allocates exactly that much of every
   component, so material the bottleneck leaves unused stays free for later lines. A third
   walk over the remainder, on trial copies of the pools that are then forgotten, names the
   short parts (a part shared by two branches is counted once).

Open purchase-order quantity is held in each pool as dated lots, taken earliest due first (and
what has no due date last). The latest due date among the dated lots a line's production took,
at any depth, is its `material_date`: its shifts are booked from the first shift worked on or
after that day (CapacityBook.book), so its earliest date is never before its material is due.
Quantity with no due date promises no day: it holds nothing back, and the line says it took
some (`material_undated`).

A BOM that contains itself, reached from any open line, stops the run (BomTooDeep) whatever the
stock: with enough stock the recursion would never go deep enough to notice.

Pools are shared by SKU: a finished good of one order may be a component of another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from enum import StrEnum

ZERO = Decimal(0)
ONE = Decimal(1)
FOUR_PLACES = Decimal("0.0001")
TWO_PLACES = Decimal("0.01")
# Units of measure counted in whole pieces: what can be made of them is rounded down to a unit.
COUNTED_UOMS = frozenset({"EA", "EACH", "PC", "PCS", "PIECE", "UNIT", "UNITS", "SET", "BOX"})
# Shifts a line works per weekday (Monday first) before its facility's shifts are heard.
DEFAULT_SHIFTS = (1, 1, 1, 1, 1, 0, 0)
# Earliest dates are looked for this far ahead; beyond it a line is "not within a year".
HORIZON_DAYS = 366


class Status(StrEnum):
    READY_TO_SHIP = "ready_to_ship"
    PARTIAL_SHIP = "partial_ship"
    PENDING_QC = "pending_qc"
    IN_PRODUCTION = "in_production"
    FULL_PRODUCTION = "full_production"
    PARTIAL_PRODUCTION = "partial_production"
    AWAITING_CUSTOMER = "awaiting_customer"
    AWAITING_PURCHASE = "awaiting_purchase"
    CRITICAL_SHORTAGE = "critical_shortage"


# --- what the engine reads --------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine:
    so_number: str
    line_no: int
    sku: str
    customer_code: str
    customer_name: str
    customer_priority: int  # 1 (most important) .. 5
    business_unit: str | None
    due_date: date | None
    qty_open: Decimal  # ordered less shipped
    unit_price: Decimal
    contractual_penalty: bool = False
    qty_reserved: Decimal = ZERO  # finished goods inventory already holds for this line
    qty_in_production: Decimal = ZERO  # open jobs for this line, still to pass QC

    @property
    def key(self) -> tuple[str, int]:
        return (self.so_number, self.line_no)

    @property
    def value(self) -> Decimal:
        return self.qty_open * self.unit_price


@dataclass(frozen=True)
class Item:
    sku: str
    uom: str = "EA"
    make_or_buy: str = "buy"
    customer_supplied: bool = False
    family: str | None = None

    @property
    def counted(self) -> bool:
        return self.uom.upper() in COUNTED_UOMS


@dataclass(frozen=True)
class Stock:
    available: Decimal = ZERO  # approved and not reserved
    pending_qc: Decimal = ZERO
    on_order: Decimal = ZERO  # open purchase-order quantity, in all
    # The part of `on_order` with a due date: (due, qty) per date, earliest first. The rest of
    # `on_order` has no promised date.
    on_order_lots: tuple[tuple[date, Decimal], ...] = ()


@dataclass(frozen=True)
class Component:
    """A BOM line: `qty_per` (scrap included) for `per` units of the parent. The BOM's output
    quantity is kept apart rather than divided in: 5 kg for 3 pieces is 1.6666...7 kg a piece
    in decimals, and 3 pieces of that came to a hair over the 5 kg in stock."""

    sku: str
    qty_per: Decimal
    per: Decimal = ONE

    def of(self, parent_qty: Decimal) -> Decimal:
        """What `parent_qty` units of the parent take of this component."""
        return parent_qty * self.qty_per / self.per

    def parents(self, qty: Decimal) -> Decimal:
        """How many units of the parent `qty` of this component is enough for."""
        return qty * self.per / self.qty_per


def per_unit(qty_per: Decimal, output_qty: Decimal, scrap_pct: Decimal) -> Decimal:
    """A BOM line's quantity per unit of the parent: per `output_qty`, plus its scrap."""
    return qty_per / output_qty * (ONE + scrap_pct / 100)


def bom_component(sku: str, qty_per: Decimal, output_qty: Decimal, scrap_pct: Decimal) -> Component:
    """A released BOM line as the engine reads it: `qty_per` plus its scrap, per `output_qty`
    units of the parent (exact: no division until a quantity is asked for)."""
    return Component(sku, qty_per * (ONE + scrap_pct / 100), output_qty)


@dataclass(frozen=True)
class Line:
    code: str
    speed_modifier: Decimal = ONE
    shifts_by_weekday: tuple[int, ...] = DEFAULT_SHIFTS
    booked_shifts: Decimal = ZERO  # open jobs already on it


@dataclass(frozen=True)
class Capacity:
    line_code: str
    units_per_shift: Decimal
    effective_from: date
    sku: str | None = None
    family: str | None = None


@dataclass(frozen=True)
class OpenJob:
    """A production order already on a line: its remaining quantity books shifts first."""

    line_code: str
    sku: str
    qty_remaining: Decimal


@dataclass(frozen=True)
class PlanInput:
    plan_date: date
    orders: Sequence[OrderLine]  # already in priority order (ordering.py)
    items: Mapping[str, Item]
    stock: Mapping[str, Stock]
    boms: Mapping[str, Sequence[Component]]
    lines: Sequence[Line] = ()
    capacities: Sequence[Capacity] = ()
    open_jobs: Sequence[OpenJob] = ()


# --- what it finds ----------------------------------------------------------------------------


@dataclass
class ComponentNeed:
    """One component of one order line: what the whole need requires, what was allocated for
    what can be made now, what is short, and what earlier lines had taken of it."""

    sku: str
    parent_sku: str
    level: int
    required: Decimal = ZERO
    allocated: Decimal = ZERO
    short: Decimal = ZERO
    taken_before: Decimal = ZERO
    customer_supplied: bool = False
    made: bool = False


@dataclass(frozen=True)
class Take:
    sku: str
    rank: int
    so_number: str
    line_no: int
    qty: Decimal


@dataclass
class LineResult:
    order: OrderLine
    rank: int
    qty_reserved: Decimal = ZERO
    qty_from_stock: Decimal = ZERO
    qty_pending_qc: Decimal = ZERO
    qty_in_production: Decimal = ZERO
    qty_needed: Decimal = ZERO
    qty_can_make: Decimal = ZERO
    status: Status = Status.READY_TO_SHIP
    bottleneck: tuple[str, ...] = ()
    components: list[ComponentNeed] = field(default_factory=list)
    shifts_required: Decimal | None = None
    line_code: str | None = None
    earliest_date: date | None = None
    # The latest due date of the dated purchase-order quantity the line's production took (at
    # any depth); None when it took none. Its shifts are not booked before it.
    material_date: date | None = None
    # It took open purchase-order quantity with no due date ("no promised date").
    material_undated: bool = False
    # Parts to buy for what cannot be made yet, per SKU, from what no line took (Engine.run).
    to_buy: dict[str, Decimal] = field(default_factory=dict)

    @property
    def qty_shippable(self) -> Decimal:
        return self.qty_reserved + self.qty_from_stock

    @property
    def status_text(self) -> str:
        return status_text(self)


@dataclass
class Plan:
    lines: list[LineResult]
    takes: list[Take]


def quantity_text(qty: Decimal) -> str:
    """10995 → "10,995"; 12.5 → "12.5"."""
    text = f"{qty.normalize():,f}"
    return text


def status_text(result: LineResult) -> str:
    """The texts the planners know."""
    match result.status:
        case Status.READY_TO_SHIP:
            return "Ready to Ship"
        case Status.PARTIAL_SHIP:
            return (
                f"Partial Ship: {quantity_text(result.qty_shippable)} / "
                f"Prod. Needed: {quantity_text(result.qty_needed)}"
            )
        case Status.PENDING_QC:
            return "Pending QC"
        case Status.IN_PRODUCTION:
            return "In Production"
        case Status.FULL_PRODUCTION:
            return "Full Production Ready - Create job now"
        case Status.PARTIAL_PRODUCTION:
            return f"Partial Production Ready - [{', '.join(result.bottleneck)}]"
        case Status.AWAITING_CUSTOMER:
            return "Awaiting Customer Material"
        case Status.AWAITING_PURCHASE:
            return "Awaiting Purchase Order"
        case Status.CRITICAL_SHORTAGE:
            return "Critical Shortage"


# --- the live pools ---------------------------------------------------------------------------

# Dated purchase-order lots of a pool: (due date, quantity still to take), earliest first.
Lots = tuple[tuple[date, Decimal], ...]


@dataclass
class Drawn:
    """What one allocation drew: the quantity per SKU, and when the purchase-order quantity
    among it is due (the latest dated lot taken; whether some had no due date)."""

    qty: dict[str, Decimal] = field(default_factory=dict)
    material_date: date | None = None
    material_undated: bool = False

    def arrives(self, due: date) -> None:
        if self.material_date is None or due > self.material_date:
            self.material_date = due


@dataclass
class Pool:
    """One SKU's live stock while the run goes: what is left of each source. `lots` is the
    dated part of `on_order`, earliest first; what `on_order` holds beyond them has no due
    date and is taken last. The tuple is replaced, never changed, on a take, so a trial copy
    (Pools) shares it until the trial takes from it."""

    available: Decimal
    pending_qc: Decimal
    on_order: Decimal
    initial: Decimal
    lots: Lots = ()

    @classmethod
    def of(cls, stock: Stock | None) -> Pool:
        stock = stock or Stock()
        available = max(stock.available, ZERO)
        pending = max(stock.pending_qc, ZERO)
        on_order = max(stock.on_order, ZERO)
        lots = _lots_within(stock.on_order_lots, on_order) if stock.on_order_lots else ()
        return cls(available, pending, on_order, available + pending + on_order, lots)

    @property
    def left(self) -> Decimal:
        return self.available + self.pending_qc + self.on_order

    def take(self, qty: Decimal, drawn: Drawn | None = None) -> Decimal:
        """Take up to `qty`, approved stock first, then pending QC, then open POs (the lot due
        first first; `drawn` learns the dates). (Written out source by source: it is the
        engine's innermost step.)"""
        if qty <= 0:
            return ZERO
        wanted = qty
        have = self.available
        if have > 0:
            used = have if have < wanted else wanted
            self.available = have - used
            wanted -= used
            if wanted <= 0:
                return qty
        have = self.pending_qc
        if have > 0:
            used = have if have < wanted else wanted
            self.pending_qc = have - used
            wanted -= used
            if wanted <= 0:
                return qty
        have = self.on_order
        if have > 0:
            used = have if have < wanted else wanted
            self.on_order = have - used
            wanted -= used
            if self.lots:
                used = self._take_lots(used, drawn)
            if used > 0 and drawn is not None:
                drawn.material_undated = True
        return qty - wanted

    def _take_lots(self, qty: Decimal, drawn: Drawn | None) -> Decimal:
        """Take `qty` of the open-PO quantity from the dated lots, earliest due first; returns
        what is left to take from the undated rest."""
        lots = self.lots
        n = 0
        due = None
        while n < len(lots) and qty > 0:
            due, lot = lots[n]
            if lot > qty:
                self.lots = ((due, lot - qty), *lots[n + 1 :])
                qty = ZERO
                break
            qty -= lot
            n += 1
        else:
            self.lots = lots[n:]
        if drawn is not None and due is not None:
            drawn.arrives(due)  # the last lot touched is the latest taken
        return qty


def _lots_within(lots: Iterable[tuple[date, Decimal]], on_order: Decimal) -> Lots:
    """Dated lots earliest first, one per date, none beyond the open quantity in all (what
    `on_order` holds beyond their sum has no due date)."""
    by_date: dict[date, Decimal] = {}
    for due, qty in lots:
        if qty > 0:
            by_date[due] = by_date.get(due, ZERO) + qty
    kept: list[tuple[date, Decimal]] = []
    room = on_order
    for due in sorted(by_date):
        qty = min(by_date[due], room)
        if qty <= 0:
            break
        kept.append((due, qty))
        room -= qty
    return tuple(kept)


class Pools:
    """Every SKU's pool, created on first use, with a trial mode: `trial()` takes from copies,
    `commit()` keeps them, `rollback()` forgets them."""

    def __init__(self, stock: Mapping[str, Stock]) -> None:
        self._stock = stock
        self._pools: dict[str, Pool] = {}
        self._trial: dict[str, Pool] | None = None

    def __getitem__(self, sku: str) -> Pool:
        if self._trial is None:
            pool = self._pools.get(sku)
            return pool if pool is not None else self._base(sku)
        if self._trial is not None:
            pool = self._trial.get(sku)
            if pool is None:
                base = self._base(sku)
                pool = Pool(base.available, base.pending_qc, base.on_order, base.initial, base.lots)
                self._trial[sku] = pool
            return pool
        return self._base(sku)

    def _base(self, sku: str) -> Pool:
        pool = self._pools.get(sku)
        if pool is None:
            pool = self._pools[sku] = Pool.of(self._stock.get(sku))
        return pool

    def taken(self, sku: str) -> Decimal:
        """What takes kept so far (not trial ones) removed from the SKU's pool."""
        pool = self._base(sku)
        return pool.initial - pool.left

    def trial(self) -> None:
        self._trial = {}

    def commit(self) -> None:
        assert self._trial is not None
        self._pools.update(self._trial)
        self._trial = None

    def rollback(self) -> None:
        self._trial = None


# --- the run ----------------------------------------------------------------------------------


class Engine:
    def __init__(self, plan_input: PlanInput) -> None:
        self.input = plan_input
        self.pools = Pools(plan_input.stock)
        self.takes: list[Take] = []
        self.capacity = CapacityBook(plan_input)

    def run(self) -> Plan:
        refuse_cycles(self.input.boms, [order.sku for order in self.input.orders])
        results = [self._plan_line(rank, order) for rank, order in enumerate(self.input.orders)]
        for result in results:
            self._net_purchases(result)
        return Plan(results, self.takes)

    def _net_purchases(self, result: LineResult) -> None:
        """What to buy so the line can be made in full, once every line has allocated: its
        remainder walked down the BOM in priority order, taking what no line took (so two
        lines short of the same part never both count the same leftover), buying the rest of
        each bought part. Customer-supplied parts are the customer's to send."""
        order = result.order
        remainder = _round_up(result.qty_needed, self._item(order.sku)) - result.qty_can_make
        if result.qty_needed <= 0 or remainder <= 0:
            return
        components = self.input.boms.get(order.sku) or (Component(order.sku, ONE),)
        for component in components:
            self._walk_buy(component.sku, component.of(remainder), 1, result.to_buy)

    def _walk_buy(self, sku: str, qty: Decimal, depth: int, to_buy: dict[str, Decimal]) -> None:
        _check_depth(sku, depth)
        rest = qty - self.pools[sku].take(qty)
        if rest <= 0:
            return
        components = self.input.boms.get(sku)
        if not components:
            if not self._item(sku).customer_supplied:
                to_buy[sku] = to_buy.get(sku, ZERO) + rest
            return
        to_make = _round_up(rest, self._item(sku))
        for component in components:
            self._walk_buy(component.sku, component.of(to_make), depth + 1, to_buy)

    # one line --------------------------------------------------------------------------------

    def _plan_line(self, rank: int, order: OrderLine) -> LineResult:
        result = LineResult(order=order, rank=rank)
        rest = max(order.qty_open, ZERO)
        result.qty_reserved = min(max(order.qty_reserved, ZERO), rest)
        rest -= result.qty_reserved
        fg = self.pools[order.sku]
        result.qty_from_stock = _take_from(fg, "available", rest)
        rest -= result.qty_from_stock
        result.qty_pending_qc = _take_from(fg, "pending_qc", rest)
        rest -= result.qty_pending_qc
        result.qty_in_production = min(max(order.qty_in_production, ZERO), rest)
        rest -= result.qty_in_production
        result.qty_needed = rest
        # This line's own takes, so its rows can tell what earlier lines took.
        mine: dict[str, Decimal] = {}
        self._take(result, order.sku, result.qty_from_stock + result.qty_pending_qc, mine)
        if rest > 0:
            self._plan_production(result, mine)
        result.status = _status(result, self._short_parts(result))
        return result

    def _take(self, result: LineResult, sku: str, qty: Decimal, mine: dict[str, Decimal]) -> None:
        if qty > 0:
            order = result.order
            self.takes.append(Take(sku, result.rank, order.so_number, order.line_no, qty))
            mine[sku] = mine.get(sku, ZERO) + qty

    def _plan_production(self, result: LineResult, mine: dict[str, Decimal]) -> None:
        order = result.order
        need = result.qty_needed
        item = self._item(order.sku)
        components = self.input.boms.get(order.sku)
        if not components:
            # A finished good without a BOM is bought: open purchase orders are its supply.
            components = (Component(order.sku, ONE),)
        can_make, drawn = self._most_makeable(order.sku, components, need, item)
        drawn = self._allocate(result, components, can_make, mine, drawn)
        result.qty_can_make = can_make
        result.material_date, result.material_undated = drawn.material_date, drawn.material_undated
        self._record_needs(result, components, need, can_make, mine)
        if self.input.boms.get(order.sku):
            booking = self.capacity.book(
                order.sku, item.family, need, not_before=result.material_date
            )
            if booking is not None:
                result.line_code, result.shifts_required, result.earliest_date = booking

    # pass one: how much can be made -----------------------------------------------------------

    def _most_makeable(
        self, sku: str, components: Sequence[Component], need: Decimal, item: Item
    ) -> tuple[Decimal, Drawn | None]:
        """The most of `sku` (up to `need`) its components allow, whole units for counted
        items. Components are assumed independent first; when two share a part the estimate
        can be too high, so it is checked by a trial allocation and halved down until it fits.
        When the first estimate fits, its trial is kept as the allocation (pass two would take
        exactly the same) and what it drew (with its lots' dates) is returned; otherwise None."""
        estimate = need
        for component in components:
            wanted = component.of(need)
            obtainable = self._obtainable(component.sku, wanted, depth=1)
            if obtainable < wanted:
                estimate = min(estimate, component.parents(obtainable))
        estimate = _round_down(estimate, item)
        if estimate <= 0:
            return ZERO, None
        drawn = self._fits(components, estimate, keep=True)
        if drawn is not None:
            return estimate, drawn
        low, high = ZERO, estimate
        while high - low > _step(item):
            middle = _round_down((low + high) / 2, item)
            if middle <= low:
                break
            if self._fits(components, middle) is not None:
                low = middle
            else:
                high = middle
        return low, None

    def _obtainable(self, sku: str, wanted: Decimal, depth: int) -> Decimal:
        """How much of `sku` (up to `wanted`) its pool and, if it is made, its BOM can give."""
        _check_depth(sku, depth)
        left = self.pools[sku].left
        if left >= wanted:
            return wanted
        components = self.input.boms.get(sku)
        if not components:
            return left
        item = self._item(sku)
        rest = wanted - left
        to_make = _round_up(rest, item)  # 1.5 sheets wanted: 2 are made
        makeable = to_make
        for component in components:
            part_wanted = component.of(to_make)
            got = self._obtainable(component.sku, part_wanted, depth + 1)
            if got < part_wanted:
                makeable = min(makeable, component.parents(got))
        return left + min(rest, _round_down(makeable, item))

    def _fits(
        self, components: Sequence[Component], qty: Decimal, *, keep: bool = False
    ) -> Drawn | None:
        """What a trial allocation of `qty` drew, or None when it does not fit; the trial is
        kept only when it fits and `keep` is asked. (The lots it took, and so their dates, are
        the trial pools': a rollback forgets them with the rest.)"""
        self.pools.trial()
        drawn = Drawn()
        fits = all(self._draw(c.sku, c.of(qty), 1, drawn) >= c.of(qty) for c in components)
        if fits and keep:
            self.pools.commit()
        else:
            self.pools.rollback()
        return drawn if fits else None

    # pass two: allocate exactly that ----------------------------------------------------------

    def _allocate(
        self,
        result: LineResult,
        components: Sequence[Component],
        can_make: Decimal,
        mine: dict[str, Decimal],
        drawn: Drawn | None = None,
    ) -> Drawn:
        """Allocate `can_make` (already done when pass one kept its trial: `drawn`); what was
        drawn, with the dates of the purchase-order lots among it."""
        if can_make <= 0:
            return Drawn()
        if drawn is None:
            self.pools.trial()
            drawn = Drawn()
            for component in components:
                self._draw(component.sku, component.of(can_make), 1, drawn)
            self.pools.commit()
        for sku, qty in drawn.qty.items():
            self._take(result, sku, qty, mine)
        return drawn

    def _draw(self, sku: str, qty: Decimal, depth: int, drawn: Drawn) -> Decimal:
        """Take `qty` of `sku` from its pool and make the rest from its BOM, whole units of a
        counted item (their parts are taken in full; what is made beyond `qty` is not
        offered to anyone); returns how much was obtained (less than `qty` only when the parts
        run out). `drawn` collects what was taken at every depth, so a made part's
        purchase-order dates reach the line that makes it."""
        _check_depth(sku, depth)
        got = self.pools[sku].take(qty, drawn)
        if got > 0:
            taken = drawn.qty
            taken[sku] = taken.get(sku, ZERO) + got
        rest = qty - got
        components = self.input.boms.get(sku)
        if rest <= 0 or not components:
            return got
        item = self._item(sku)
        to_make = _round_up(rest, item)
        made = to_make
        for component in components:
            part = component.of(to_make)
            obtained = self._draw(component.sku, part, depth + 1, drawn)
            if obtained < part:
                made = min(made, component.parents(obtained))
        return got + min(rest, _round_down(made, item))

    # what is short ----------------------------------------------------------------------------

    def _record_needs(
        self,
        result: LineResult,
        components: Sequence[Component],
        need: Decimal,
        can_make: Decimal,
        mine: Mapping[str, Decimal],
    ) -> None:
        """The per-component detail: top-level components with what the whole need requires
        and what was allocated, then the short parts found by walking the remainder down
        through made components. The walk takes from trial pools, forgotten after: a part two
        branches share is counted once, and nothing is allocated."""
        # A counted item is made in whole units: for 2.5 kits ordered, 3 are made.
        remainder = _round_up(need, self._item(result.order.sku)) - can_make
        self.pools.trial()
        try:
            for component in components:
                row = self._need_row(component.sku, result.order.sku, 1, mine)
                row.required = component.of(need)
                row.allocated = component.of(can_make)
                result.components.append(row)
                if remainder > 0:
                    part = component.of(remainder)
                    row.short = self._walk_short(result, component.sku, part, 1, mine)
        finally:
            self.pools.rollback()

    def _need_row(
        self, sku: str, parent: str, level: int, mine: Mapping[str, Decimal]
    ) -> ComponentNeed:
        """A component row; what earlier lines took is every kept take but this line's own."""
        return ComponentNeed(
            sku=sku,
            parent_sku=parent,
            level=level,
            taken_before=self.pools.taken(sku) - mine.get(sku, ZERO),
            customer_supplied=self._item(sku).customer_supplied,
            made=bool(self.input.boms.get(sku)),
        )

    def _walk_short(
        self, result: LineResult, sku: str, qty: Decimal, depth: int, mine: Mapping[str, Decimal]
    ) -> Decimal:
        """How much of `qty` of `sku` cannot be had from what is left: its (trial) pool first,
        then made from its BOM, in whole units of a counted item as pass one counts them.
        Deeper short parts are added to the line's detail."""
        _check_depth(sku, depth)
        rest = qty - self.pools[sku].take(qty)
        components = self.input.boms.get(sku)
        if rest <= 0 or not components:
            return rest
        to_make = _round_up(rest, self._item(sku))
        unmade = ZERO
        for component in components:
            part = component.of(to_make)
            short = self._walk_short(result, component.sku, part, depth + 1, mine)
            if short > 0:
                row = self._need_row(component.sku, sku, depth + 1, mine)
                row.required, row.short = part, short
                result.components.append(row)
                unmade = max(unmade, component.parents(short))
        return min(rest, unmade)

    def _short_parts(self, result: LineResult) -> list[ComponentNeed]:
        """The parts that limit the line: short and not made (or made but with nothing short
        below it), deepest level wins."""
        short = [c for c in result.components if c.short > 0]
        parents = {c.parent_sku for c in short if c.level > 1}
        return [c for c in short if not (c.made and c.sku in parents)]

    def _item(self, sku: str) -> Item:
        return self.input.items.get(sku) or Item(sku)


def _take_from(pool: Pool, source: str, qty: Decimal) -> Decimal:
    """Take up to `qty` from one stock source of the pool ("available" or "pending_qc"; open
    purchase-order quantity is taken through Pool.take, which keeps its lots)."""
    have = getattr(pool, source)
    used = min(have, max(qty, ZERO))
    setattr(pool, source, have - used)
    return used


def _status(result: LineResult, short_parts: Sequence[ComponentNeed]) -> Status:
    if result.qty_needed <= 0:
        if result.qty_pending_qc > 0:
            return Status.PENDING_QC
        if result.qty_in_production > 0:
            return Status.IN_PRODUCTION
        return Status.READY_TO_SHIP
    result.bottleneck = tuple(dict.fromkeys(c.sku for c in short_parts))
    if result.qty_shippable > 0:
        return Status.PARTIAL_SHIP
    bought = all(c.sku == result.order.sku for c in result.components)
    if result.qty_can_make >= result.qty_needed:
        return Status.AWAITING_PURCHASE if bought else Status.FULL_PRODUCTION
    if short_parts and all(c.customer_supplied for c in short_parts):
        return Status.AWAITING_CUSTOMER
    if result.qty_can_make > 0 and not bought:
        return Status.PARTIAL_PRODUCTION
    return Status.CRITICAL_SHORTAGE


def _round_down(qty: Decimal, item: Item) -> Decimal:
    return qty.quantize(_step(item), rounding=ROUND_DOWN)


def _round_up(qty: Decimal, item: Item) -> Decimal:
    """Whole units of a counted item (half a sub-assembly cannot be made); others unchanged."""
    return qty.quantize(ONE, rounding=ROUND_CEILING) if item.counted else qty


def _step(item: Item) -> Decimal:
    return ONE if item.counted else FOUR_PLACES


class BomTooDeep(ValueError):
    """A BOM that contains itself, or is deeper than any plant's."""


MAX_DEPTH = 25


def _check_depth(sku: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BomTooDeep(f"the BOM of {sku} is deeper than {MAX_DEPTH} levels (a cycle?)")


def refuse_cycles(boms: Mapping[str, Sequence[Component]], roots: Iterable[str]) -> None:
    """BomTooDeep if a BOM reached from `roots` contains itself at any depth. Checked before
    the run because the recursion only goes down where stock runs out: with enough stock a
    cycle would plan quietly."""
    done: set[str] = set()
    for root in roots:
        if root in done:
            continue
        path = [root]
        below = [iter(boms.get(root, ()))]
        while below:
            component = next(below[-1], None)
            if component is None:
                done.add(path.pop())
                below.pop()
            elif component.sku in path:
                cycle = [*path[path.index(component.sku) :], component.sku]
                raise BomTooDeep(f"the BOM of {component.sku} contains itself: {' > '.join(cycle)}")
            elif component.sku not in done:
                path.append(component.sku)
                below.append(iter(boms.get(component.sku, ())))


# --- capacity ---------------------------------------------------------------------------------


class CapacityBook:
    """Each line's booked shifts as the run goes: a line needing production is put on the able
    line that finishes it first, and its earliest date is the day those shifts are worked."""

    def __init__(self, plan_input: PlanInput) -> None:
        self.plan_date = plan_input.plan_date
        self.lines = {line.code: line for line in plan_input.lines}
        self.booked = {line.code: line.booked_shifts for line in plan_input.lines}
        # Per line, the idle stretches [start, end) left before its cursor by bookings that
        # waited for their material, earliest first: later lines may be booked into them.
        self.gaps: dict[str, list[tuple[Decimal, Decimal]]] = {
            line.code: [] for line in plan_input.lines
        }
        self.rates: dict[tuple[str, str | None], list[tuple[str, Decimal]]] = {}
        self.capacities = plan_input.capacities
        for job in plan_input.open_jobs:
            self._book_open_job(job, plan_input.items.get(job.sku))

    def _book_open_job(self, job: OpenJob, item: Item | None) -> None:
        """An open job takes its line's shifts first (at that line's rate for the item)."""
        if job.line_code not in self.lines or job.qty_remaining <= 0:
            return
        rates = dict(self.rates_for(job.sku, item.family if item else None))
        rate = rates.get(job.line_code)
        if rate:
            self.booked[job.line_code] += (job.qty_remaining / rate).quantize(
                TWO_PLACES, rounding=ROUND_CEILING
            )

    def rates_for(self, sku: str, family: str | None) -> list[tuple[str, Decimal]]:
        """(line, units per shift) for each line able to make the item: its own capacity row,
        else its family's, else "any product", the newest effective row of each; scaled by
        the line's speed."""
        key = (sku, family)
        cached = self.rates.get(key)
        if cached is not None:
            return cached
        best: dict[str, tuple[int, date, Decimal]] = {}
        for row in self.capacities:
            if row.line_code not in self.lines or row.effective_from > self.plan_date:
                continue
            if row.sku is not None:
                rank = 0 if row.sku == sku else -1
            elif row.family is not None:
                rank = 1 if row.family == family else -1
            else:
                rank = 2
            if rank < 0:
                continue
            held = best.get(row.line_code)
            if held is None or (rank, -row.effective_from.toordinal()) < (
                held[0],
                -held[1].toordinal(),
            ):
                best[row.line_code] = (rank, row.effective_from, row.units_per_shift)
        rates = sorted(
            (code, units * self.lines[code].speed_modifier) for code, (_, _, units) in best.items()
        )
        self.rates[key] = rates
        return rates

    def book(
        self, sku: str, family: str | None, qty: Decimal, *, not_before: date | None = None
    ) -> tuple[str, Decimal, date | None] | None:
        """Book `qty` of the item on the able line that finishes it first: (line, shifts, the
        day the last shift is worked, None beyond the horizon), or None when no line can.

        Each line keeps a cursor, the shifts booked from the plan date on. The production starts
        at the cursor, or, when its material is due later (`not_before`), at the first shift
        worked on or after that day; the line stands idle in between, and that idle stretch is
        kept as a gap. A later line whose material is in is booked into the first gap it fits
        (at or after its own material), before the cursor: lines earlier in priority are booked
        already and never move, so filling a gap delays no one."""
        choices = []
        for code, rate in self.rates_for(sku, family):
            if rate <= 0:
                continue
            shifts = (qty / rate).quantize(TWO_PLACES, rounding=ROUND_CEILING)
            ready = ZERO if not_before is None else self._shifts_before(code, not_before)
            start = self._first_fit(code, shifts, ready)
            finish = self._day_worked(code, start + shifts)
            choices.append((finish or date.max, code, shifts, finish, start))
        if not choices:
            return None
        _, code, shifts, finish, start = min(choices)
        self._take(code, start, shifts)
        return code, shifts, finish

    def _first_fit(self, code: str, shifts: Decimal, ready: Decimal) -> Decimal:
        """Where on the line `shifts` start, not before shift `ready`: the first gap that holds
        them, else the cursor (or `ready`, when that is later)."""
        for gap_start, gap_end in self.gaps[code]:
            start = max(gap_start, ready)
            if start + shifts <= gap_end:
                return start
        return max(self.booked[code], ready)

    def _take(self, code: str, start: Decimal, shifts: Decimal) -> None:
        end = start + shifts
        cursor = self.booked[code]
        if start >= cursor:
            if start > cursor:
                self.gaps[code].append((cursor, start))
            self.booked[code] = end
            return
        gaps = self.gaps[code]
        for n, (gap_start, gap_end) in enumerate(gaps):
            if gap_start <= start and end <= gap_end:
                left = [(gap_start, start)] if start > gap_start else []
                right = [(end, gap_end)] if gap_end > end else []
                gaps[n : n + 1] = left + right
                return
        raise AssertionError(f"no gap holds shifts {start}..{end} on {code}")

    def _shifts_before(self, code: str, day: date) -> Decimal:
        """The shifts the line works from the plan date up to the day before `day`."""
        days = (day - self.plan_date).days
        if days <= 0:
            return ZERO
        per_day = self.lines[code].shifts_by_weekday
        weeks, rest = divmod(days, 7)
        first = self.plan_date.weekday()
        partial = sum(per_day[(first + n) % 7] for n in range(rest))
        return Decimal(weeks * sum(per_day) + partial)

    def _day_worked(self, code: str, shifts: Decimal) -> date | None:
        """The day on which the line's `shifts`-th shift from today is worked."""
        per_day = self.lines[code].shifts_by_weekday
        weekly = sum(per_day)
        if weekly <= 0:
            return None
        day = self.plan_date
        whole_weeks = int((shifts / weekly).to_integral_value(rounding=ROUND_DOWN))
        if whole_weeks > 0:
            whole_weeks -= 1  # keep the last week to walk day by day
        if whole_weeks * 7 > HORIZON_DAYS:
            return None  # beyond the horizon (and, for a huge need, beyond what a date holds)
        remaining = shifts - whole_weeks * weekly
        day += timedelta(weeks=whole_weeks)
        for _ in range(14):
            remaining -= per_day[day.weekday()]
            if remaining <= 0:
                break
            day += timedelta(days=1)
        if (day - self.plan_date).days > HORIZON_DAYS:
            return None
        return day


def plan(plan_input: PlanInput) -> Plan:
    """Run the MRP over the lines in the order given."""
    return Engine(plan_input).run()


def open_po_by_sku(lines: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for sku, qty in lines:
        totals[sku] = totals.get(sku, ZERO) + qty
    return totals
