"""The MRP engine's rules, one small plant story each, with the expected statuses and
allocations worked out in comments a planner can follow (docs/mrp.md, "The engine").

Unless a test says otherwise: the plan date is Monday 2026-11-23, items are counted in pieces
(EA), and a BOM quantity is per one unit of the parent."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.mrp.planning import snapshot
from services.mrp.planning.domain import (
    BomTooDeep,
    Capacity,
    Component,
    Item,
    Line,
    LineResult,
    OpenJob,
    OrderLine,
    Plan,
    PlanInput,
    Status,
    Stock,
    Take,
    per_unit,
    plan,
    quantity_text,
)
from services.mrp.planning.ordering import Weights, by_due_date, by_score
from tests.support.mrp_plan import mrp_plan

D = Decimal
PLAN_DATE = date(2026, 11, 23)  # a Monday


def order(
    so: str,
    sku: str,
    qty: str,
    *,
    due: date | None = None,
    priority: int = 3,
    penalty: bool = False,
    reserved: str = "0",
    in_production: str = "0",
    line_no: int = 1,
) -> OrderLine:
    return OrderLine(
        so_number=so,
        line_no=line_no,
        sku=sku,
        customer_code="C-" + so,
        customer_name="Customer of " + so,
        customer_priority=priority,
        business_unit=None,
        due_date=due,
        qty_open=D(qty),
        unit_price=D("2.50"),
        contractual_penalty=penalty,
        qty_reserved=D(reserved),
        qty_in_production=D(in_production),
    )


def stock(available: str = "0", pending_qc: str = "0", on_order: str = "0") -> Stock:
    return Stock(D(available), D(pending_qc), D(on_order))


def bom(*parts: tuple[str, str]) -> list[Component]:
    return [Component(sku, D(qty)) for sku, qty in parts]


def run(
    orders: Sequence[OrderLine],
    *,
    stocks: Mapping[str, Stock] | None = None,
    boms: Mapping[str, Sequence[Component]] | None = None,
    items: Sequence[Item] = (),
    lines: Sequence[Line] = (),
    capacities: Sequence[Capacity] = (),
    open_jobs: Sequence[OpenJob] = (),
) -> Plan:
    return plan(
        PlanInput(
            plan_date=PLAN_DATE,
            orders=list(orders),
            items={item.sku: item for item in items},
            stock=dict(stocks or {}),
            boms=dict(boms or {}),
            lines=list(lines),
            capacities=list(capacities),
            open_jobs=list(open_jobs),
        )
    )


def need_of(result: LineResult, sku: str, level: int = 1) -> tuple[Decimal, ...]:
    """(required, allocated, short, taken before) of one component row of a line."""
    (row,) = [c for c in result.components if c.sku == sku and c.level == level]
    return (row.required, row.allocated, row.short, row.taken_before)


def takes_of(plan_: Plan, so: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for take in plan_.takes:
        if take.so_number == so:
            totals[take.sku] = totals.get(take.sku, D(0)) + take.qty
    return totals


# A bracket kit: 2 brackets and 1 box per kit; brackets and boxes are bought.
KIT = {"KIT": bom(("BRKT", "2"), ("BOX", "1"))}


# --------------------------------------------------------------------------------------------
# Priority order
# --------------------------------------------------------------------------------------------


def test_the_line_due_first_takes_the_last_finished_goods() -> None:
    # 100 kits on the shelf. SO-2 is due on the 25th, SO-1 on the 30th: in due-date order SO-2
    # takes 100 and ships; SO-1 finds the shelf empty.
    orders = [
        order("SO-1", "KIT", "100", due=date(2026, 11, 30)),
        order("SO-2", "KIT", "100", due=date(2026, 11, 25)),
    ]
    ranked = [s.order for s in by_due_date(orders)]

    result = run(ranked, stocks={"KIT": stock("100")}, boms=KIT)

    first, second = result.lines
    assert (first.order.so_number, first.status_text) == ("SO-2", "Ready to Ship")
    assert (second.order.so_number, second.qty_from_stock) == ("SO-1", D(0))
    assert second.rank == 1


def test_with_the_score_on_the_penalty_order_takes_the_last_finished_goods() -> None:
    # The same two lines; SO-1 carries a contractual penalty. Scores (equal weights, horizon 60):
    # SO-1 0.6 + 0.5 + (1 - 7/60 = 0.8833) + 1 = 2.9833; SO-2 0.6 + 0.5 + (1 - 2/60 = 0.9667)
    # = 2.0667. SO-1 goes first and takes the 100 kits.
    orders = [
        order("SO-1", "KIT", "100", due=date(2026, 11, 30), penalty=True),
        order("SO-2", "KIT", "100", due=date(2026, 11, 25)),
    ]
    ranked = [s.order for s in by_score(orders, Weights(), PLAN_DATE)]

    result = run(ranked, stocks={"KIT": stock("100")}, boms=KIT)

    assert [(r.order.so_number, r.qty_from_stock) for r in result.lines] == [
        ("SO-1", D(100)),
        ("SO-2", D(0)),
    ]


# --------------------------------------------------------------------------------------------
# Finished goods: live stock, in priority order
# --------------------------------------------------------------------------------------------


def test_the_issues_example_ships_what_is_on_the_shelf_and_makes_the_rest() -> None:
    # 11,968 ordered, 10,995 in stock: 10,995 ship, 973 must be made.
    result = run([order("SO-1", "KIT", "11968")], stocks={"KIT": stock("10995")}, boms=KIT)

    (line,) = result.lines
    assert line.status is Status.PARTIAL_SHIP
    assert line.status_text == "Partial Ship: 10,995 / Prod. Needed: 973"
    assert (line.qty_from_stock, line.qty_needed) == (D(10995), D(973))


def test_ready_to_ship_needs_the_live_stock_left_at_the_lines_turn() -> None:
    # 1,000 kits on the shelf. SO-1 takes 600 (Ready to Ship). SO-2 wants 500 but only 400 are
    # left at its turn: Partial Ship 400 / 100. SO-3 wants 10 and finds nothing left.
    orders = [
        order("SO-1", "KIT", "600"),
        order("SO-2", "KIT", "500"),
        order("SO-3", "KIT", "10"),
    ]

    result = run(orders, stocks={"KIT": stock("1000")}, boms=KIT)

    assert [r.status_text for r in result.lines[:2]] == [
        "Ready to Ship",
        "Partial Ship: 400 / Prod. Needed: 100",
    ]
    assert result.lines[2].qty_from_stock == D(0)
    assert [(t.so_number, t.qty) for t in result.takes if t.sku == "KIT"] == [
        ("SO-1", D(600)),
        ("SO-2", D(400)),
    ]


def test_a_reservation_counts_before_the_shared_shelf() -> None:
    # SO-1 has 30 reserved for it and 70 still open beyond that; the shelf has 70 free: Ready.
    # SO-2 (50) then finds the shelf empty.
    orders = [order("SO-1", "KIT", "100", reserved="30"), order("SO-2", "KIT", "50")]

    result = run(orders, stocks={"KIT": stock("70")}, boms=KIT)

    first, second = result.lines
    assert (first.qty_reserved, first.qty_from_stock, first.status) == (
        D(30),
        D(70),
        Status.READY_TO_SHIP,
    )
    assert second.qty_shippable == D(0)


def test_finished_goods_in_qc_make_the_line_pending_qc() -> None:
    # 40 approved and 60 in QC hold: the line of 100 waits on QC, it needs no production.
    result = run([order("SO-1", "KIT", "100")], stocks={"KIT": stock("40", "60")}, boms=KIT)

    (line,) = result.lines
    assert (line.qty_from_stock, line.qty_pending_qc, line.qty_needed) == (D(40), D(60), D(0))
    assert line.status_text == "Pending QC"


def test_open_jobs_for_the_line_make_it_in_production() -> None:
    # 25 on the shelf, 75 still to come from the job already open for this line.
    result = run(
        [order("SO-1", "KIT", "100", in_production="75")],
        stocks={"KIT": stock("25")},
        boms=KIT,
    )

    (line,) = result.lines
    assert (line.qty_in_production, line.qty_needed, line.status_text) == (
        D(75),
        D(0),
        "In Production",
    )


# --------------------------------------------------------------------------------------------
# Can produce: on hand + pending QC + open PO, less what earlier lines took; never WIP
# --------------------------------------------------------------------------------------------


def test_components_count_on_hand_pending_qc_and_open_purchase_orders() -> None:
    # Brackets: 10 approved + 6 in QC + 4 on an open PO = 20, enough for 10 kits (2 each).
    # Boxes: 100 approved. SO-1 needs 10 kits: Full Production.
    result = run(
        [order("SO-1", "KIT", "10")],
        stocks={"BRKT": stock("10", "6", "4"), "BOX": stock("100")},
        boms=KIT,
    )

    (line,) = result.lines
    assert line.status_text == "Full Production Ready - Create job now"
    assert need_of(line, "BRKT") == (D(20), D(20), D(0), D(0))


def test_what_an_earlier_line_took_is_not_counted_again() -> None:
    # 20 brackets, 100 boxes. SO-1 (6 kits) takes 12 brackets; SO-2 (6 kits) finds 8 brackets
    # = 4 kits: Partial Production Ready - [BRKT], 4 of 6.
    result = run(
        [order("SO-1", "KIT", "6"), order("SO-2", "KIT", "6")],
        stocks={"BRKT": stock("20"), "BOX": stock("100")},
        boms=KIT,
    )

    second = result.lines[1]
    assert second.qty_can_make == D(4)
    assert second.status_text == "Partial Production Ready - [BRKT]"
    # required 12, allocated 8 (for 4 kits), short 4, taken by SO-1 before: 12.
    assert need_of(second, "BRKT") == (D(12), D(8), D(4), D(12))


def test_stock_issued_to_a_job_is_no_input_of_the_plan() -> None:
    # StockChanged carries wip (material issued to a job), but the engine's Stock has no such
    # field: the loader maps available, pending QC and open PO (with its due dates) only. 5,000
    # brackets at a press are not brackets on the shelf: with none available, nothing is made.
    assert {f.name for f in fields(Stock)} == {
        "available",
        "pending_qc",
        "on_order",
        "on_order_lots",
    }

    result = run([order("SO-1", "KIT", "10")], stocks={"BOX": stock("100")}, boms=KIT)

    assert result.lines[0].status_text == "Critical Shortage"


async def test_the_loader_reads_stock_issued_to_jobs_as_nothing(tmp_path: Path) -> None:
    # StockChanged for resin: none approved, 3 kg in QC, 5,000 kg issued to jobs (WIP); an
    # open PO of 100 kg with 40 received. The planner's stock is 0 + 3 + 60: the WIP is not in it.
    async with mrp_plan(tmp_path) as plant:
        plant.stock("RESIN", available="0", pending_qc="3", wip="5000")
        plant.purchase_order("PO-1", ("RESIN", "100", "40"))
        with plant.uow() as uow:
            stocks = snapshot.stock_by_sku(uow.session)

    assert stocks == {"RESIN": stock("0", "3", "60")}


def test_negative_stock_is_read_as_none() -> None:
    # A count that went below zero (-50 approved) does not eat the 6 in QC: 6 brackets = 3 kits.
    result = run(
        [order("SO-1", "KIT", "5")],
        stocks={"BRKT": stock("-50", "6", "-3"), "BOX": stock("100"), "KIT": stock("-7")},
        boms=KIT,
    )

    (line,) = result.lines
    assert (line.qty_from_stock, line.qty_needed, line.qty_can_make) == (D(0), D(5), D(3))
    assert takes_of(result, "SO-1") == {"BRKT": D(6), "BOX": D(3)}


# --------------------------------------------------------------------------------------------
# Two passes: the bottleneck sets how much; only that much of every component is taken
# --------------------------------------------------------------------------------------------


def test_material_the_bottleneck_leaves_unused_stays_free_for_later_lines() -> None:
    # 10 brackets, 60 boxes. SO-1 wants 20 kits: brackets allow 10 / 2 = 5 kits (bottleneck),
    # so pass two takes 10 brackets and only 5 boxes, not 20. SO-2 wants 55 crates of 1 box
    # each: 55 boxes are left, so it is Full Production (had SO-1 taken 20 boxes, 40).
    boms = {**KIT, "CRATE": bom(("BOX", "1"))}
    orders = [order("SO-1", "KIT", "20"), order("SO-2", "CRATE", "55")]

    result = run(orders, stocks={"BRKT": stock("10"), "BOX": stock("60")}, boms=boms)

    first, second = result.lines
    assert first.qty_can_make == D(5)
    assert first.status_text == "Partial Production Ready - [BRKT]"
    assert need_of(first, "BRKT") == (D(40), D(10), D(30), D(0))
    assert need_of(first, "BOX") == (D(20), D(5), D(0), D(0))
    assert takes_of(result, "SO-1") == {"BRKT": D(10), "BOX": D(5)}
    assert second.status_text == "Full Production Ready - Create job now"
    assert need_of(second, "BOX") == (D(55), D(55), D(0), D(5))


def test_what_can_be_made_of_a_counted_item_is_whole_units() -> None:
    # 7 brackets make 3.5 kits: 3 can be made, taking 6 brackets; 1 bracket stays free.
    result = run(
        [order("SO-1", "KIT", "4")],
        stocks={"BRKT": stock("7"), "BOX": stock("10")},
        boms=KIT,
    )

    assert result.lines[0].qty_can_make == D(3)
    assert takes_of(result, "SO-1") == {"BRKT": D(6), "BOX": D(3)}


def test_a_fraction_of_a_counted_item_is_made_as_a_whole_one() -> None:
    # 2.5 kits open (a fraction left by a short shipment). Kits are made whole: 5 brackets make
    # 2, the 3rd needs 2 brackets and 1 is left: BRKT is short, not "nothing".
    result = run(
        [order("SO-1", "KIT", "2.5")],
        stocks={"BRKT": stock("5"), "BOX": stock("10")},
        boms=KIT,
    )

    (line,) = result.lines
    assert line.qty_can_make == D(2)
    assert line.status_text == "Partial Production Ready - [BRKT]"
    assert need_of(line, "BRKT")[2] == D(1)


def test_a_bom_line_per_output_quantity_with_scrap_is_per_unit_of_the_parent() -> None:
    # 5 kg of resin makes 100 caps with 4 % scrap: 5 / 100 x 1.04 = 0.052 kg per cap.
    # 26 kg of resin: 26 / 0.052 = 500 caps.
    per_cap = per_unit(D(5), D(100), D(4))
    assert per_cap == D("0.052")

    result = run(
        [order("SO-1", "CAP", "800")],
        stocks={"RESIN": stock("26")},
        boms={"CAP": [Component("RESIN", per_cap)]},
        items=[Item("RESIN", uom="KG")],
    )

    assert result.lines[0].qty_can_make == D(500)
    assert need_of(result.lines[0], "RESIN")[:3] == (D("41.6"), D("26"), D("15.6"))


# --------------------------------------------------------------------------------------------
# Multi-level BOMs
# --------------------------------------------------------------------------------------------

# A desk lamp, four levels deep:
#   LAMP  = 1 SHADE + 1 BASE
#   BASE  = 1 STEM + 1 FOOT           (made)
#   STEM  = 2 TUBE + 1 WIRE           (made)
#   TUBE  = 0.5 kg STEEL              (made)
LAMP = {
    "LAMP": bom(("SHADE", "1"), ("BASE", "1")),
    "BASE": bom(("STEM", "1"), ("FOOT", "1")),
    "STEM": bom(("TUBE", "2"), ("WIRE", "1")),
    "TUBE": bom(("STEEL", "0.5")),
}
LAMP_ITEMS = [
    Item("BASE", make_or_buy="make"),
    Item("STEM", make_or_buy="make"),
    Item("TUBE", make_or_buy="make"),
    Item("STEEL", uom="KG"),
]


def test_made_components_are_planned_from_their_own_bom_four_levels_down() -> None:
    # 20 lamps wanted. On hand: 100 shades, 2 bases, 3 stems, 100 feet, 4 tubes, 100 wires and
    # 5 kg of steel.
    #   steel 5 kg / 0.5 = 10 tubes made, + 4 on hand = 14 tubes
    #   14 tubes / 2 = 7 stems made, + 3 on hand = 10 stems (wire 7 of 100)
    #   10 stems → 10 bases made (feet 10 of 100), + 2 on hand = 12 bases
    #   12 bases → 12 lamps (shades 12 of 100).
    # The 8 lamps left need 8 bases → 8 stems → 16 tubes → 8 kg of steel, none left:
    # Partial Production Ready - [STEEL].
    stocks = {
        "SHADE": stock("100"),
        "BASE": stock("2"),
        "STEM": stock("3"),
        "FOOT": stock("100"),
        "TUBE": stock("4"),
        "WIRE": stock("100"),
        "STEEL": stock("5"),
    }

    result = run([order("SO-1", "LAMP", "20")], stocks=stocks, boms=LAMP, items=LAMP_ITEMS)

    (line,) = result.lines
    assert line.qty_can_make == D(12)
    assert line.status_text == "Partial Production Ready - [STEEL]"
    assert takes_of(result, "SO-1") == {
        "SHADE": D(12),
        "BASE": D(2),
        "STEM": D(3),
        "FOOT": D(10),
        "TUBE": D(4),
        "WIRE": D(7),
        "STEEL": D(5),
    }
    assert need_of(line, "SHADE") == (D(20), D(12), D(0), D(0))
    assert need_of(line, "BASE") == (D(20), D(12), D(8), D(0))
    # The short part four levels down: the 8 lamps left need 8 kg, all short.
    assert need_of(line, "STEEL", level=4) == (D(8), D(0), D(8), D(0))


def test_a_made_component_in_stock_is_used_before_making_more() -> None:
    # 3 bases on hand and no steel at all: 3 lamps can be made from the bases alone.
    stocks = {"SHADE": stock("10"), "BASE": stock("3")}

    result = run([order("SO-1", "LAMP", "5")], stocks=stocks, boms=LAMP, items=LAMP_ITEMS)

    assert result.lines[0].qty_can_make == D(3)
    assert takes_of(result, "SO-1") == {"SHADE": D(3), "BASE": D(3)}


# A part shared by two branches: each DUO holds a LEFT (2 clips) and a RIGHT (3 clips).
DUO = {
    "DUO": bom(("LEFT", "1"), ("RIGHT", "1")),
    "LEFT": bom(("CLIP", "2")),
    "RIGHT": bom(("CLIP", "3")),
}


def test_a_part_shared_by_two_branches_is_not_promised_twice() -> None:
    # 50 clips; 20 DUOs wanted. Alone, LEFT could be made 25 times and RIGHT 16 times, but
    # each DUO needs 2 + 3 = 5 clips: 50 / 5 = 10 DUOs, using exactly the 50 clips.
    # A later line of 1 RIGHT finds no clip left.
    orders = [order("SO-1", "DUO", "20"), order("SO-2", "RIGHT", "1")]

    result = run(orders, stocks={"CLIP": stock("50")}, boms=DUO)

    first, second = result.lines
    assert first.qty_can_make == D(10)
    assert takes_of(result, "SO-1") == {"CLIP": D(50)}
    assert first.status_text == "Partial Production Ready - [CLIP]"
    assert second.status_text == "Critical Shortage"
    assert second.bottleneck == ("CLIP",)


def test_the_short_part_shared_by_two_branches_is_named_though_each_alone_would_fit() -> None:
    # 54 clips; 11 DUOs wanted. 10 DUOs use 50 clips and leave 4. The 11th needs 2 for its LEFT
    # and 3 for its RIGHT: each alone fits in 4, both do not. CLIP is the short part
    # (1 clip short), not "nothing".
    result = run([order("SO-1", "DUO", "11")], stocks={"CLIP": stock("54")}, boms=DUO)

    (line,) = result.lines
    assert line.qty_can_make == D(10)
    assert line.status_text == "Partial Production Ready - [CLIP]"
    assert sum(c.short for c in line.components if c.sku == "CLIP") == D(1)


def test_with_no_whole_duo_possible_the_shared_clip_is_the_critical_shortage() -> None:
    # 4 clips: a LEFT (2) or a RIGHT (3) alone, never both. Nothing can be made, and CLIP is
    # named as the part we lack.
    result = run([order("SO-1", "DUO", "1")], stocks={"CLIP": stock("4")}, boms=DUO)

    (line,) = result.lines
    assert (line.qty_can_make, line.status_text, line.bottleneck) == (
        D(0),
        "Critical Shortage",
        ("CLIP",),
    )
    assert takes_of(result, "SO-1") == {}


def test_a_sub_assembly_is_made_in_whole_units_when_the_short_part_is_named() -> None:
    # A printed sheet is cut into two tags (0.5 SHEET a tag); a sheet takes 2 papers. 3 papers,
    # 3 tags wanted: only whole sheets print, so 2 papers make 1 sheet = 2 tags. The 3rd tag
    # needs another whole sheet, 2 papers, and 1 is left: PAPER is short, not "nothing".
    boms = {"TAG": bom(("SHEET", "0.5")), "SHEET": bom(("PAPER", "2"))}

    result = run(
        [order("SO-1", "TAG", "3")],
        stocks={"PAPER": stock("3")},
        boms=boms,
        items=[Item("SHEET", make_or_buy="make")],
    )

    (line,) = result.lines
    assert line.qty_can_make == D(2)
    assert takes_of(result, "SO-1") == {"PAPER": D(2)}
    assert line.status_text == "Partial Production Ready - [PAPER]"
    assert need_of(line, "PAPER", level=2)[2] == D(1)


def test_an_odd_number_of_tags_prints_a_whole_extra_sheet() -> None:
    # 3 tags = 1.5 sheets: 2 sheets are printed, taking 4 of the 100 papers. All 3 can be made
    # (1.5 sheets rounded down to 1 would have allowed only 2).
    boms = {"TAG": bom(("SHEET", "0.5")), "SHEET": bom(("PAPER", "2"))}

    result = run(
        [order("SO-1", "TAG", "3")],
        stocks={"PAPER": stock("100")},
        boms=boms,
        items=[Item("SHEET", make_or_buy="make")],
    )

    (line,) = result.lines
    assert (line.qty_can_make, line.status_text) == (
        D(3),
        "Full Production Ready - Create job now",
    )
    assert takes_of(result, "SO-1") == {"PAPER": D(4)}


# --------------------------------------------------------------------------------------------
# Customer-supplied material
# --------------------------------------------------------------------------------------------

# A printed label: 1 BLANK (the customer sends it) and 2 g of INK (ours) each.
LABEL = {"LABEL": bom(("BLANK", "1"), ("INK", "2"))}
LABEL_ITEMS = [Item("BLANK", customer_supplied=True), Item("INK", uom="G")]


def test_a_shortage_of_the_customers_material_awaits_the_customer() -> None:
    # 100 labels; 40 blanks, plenty of ink: 40 can be made, and the customer owes the rest.
    result = run(
        [order("SO-1", "LABEL", "100")],
        stocks={"BLANK": stock("40"), "INK": stock("1000")},
        boms=LABEL,
        items=LABEL_ITEMS,
    )

    (line,) = result.lines
    assert line.status_text == "Awaiting Customer Material"
    assert line.bottleneck == ("BLANK",)
    blank = next(c for c in line.components if c.sku == "BLANK")
    assert blank.customer_supplied and blank.short == D(60)


def test_a_shortage_of_ours_too_is_a_critical_shortage() -> None:
    # No blanks and no ink: nothing can be made, and some of what is missing is ours.
    result = run([order("SO-1", "LABEL", "100")], boms=LABEL, items=LABEL_ITEMS)

    (line,) = result.lines
    assert line.status_text == "Critical Shortage"
    assert line.bottleneck == ("BLANK", "INK")


def test_with_the_customers_blanks_in_only_our_ink_limits() -> None:
    # 100 blanks, 120 g of ink = 60 labels: Partial Production Ready - [INK].
    result = run(
        [order("SO-1", "LABEL", "100")],
        stocks={"BLANK": stock("100"), "INK": stock("120")},
        boms=LABEL,
        items=LABEL_ITEMS,
    )

    assert result.lines[0].status_text == "Partial Production Ready - [INK]"
    assert result.lines[0].qty_can_make == D(60)


# --------------------------------------------------------------------------------------------
# Bought finished goods
# --------------------------------------------------------------------------------------------


def test_a_bought_finished_good_waits_for_its_purchase_order() -> None:
    # A resold item without a BOM: 4 on the shelf, 10 on an open PO. SO-1 (10): 4 ship, 6 wait
    # on the PO: Partial Ship. SO-2 (4): 4 left on the PO cover it: Awaiting Purchase Order.
    # SO-3 (1): nothing left: Critical Shortage.
    orders = [order("SO-1", "PUMP", "10"), order("SO-2", "PUMP", "4"), order("SO-3", "PUMP", "1")]

    result = run(orders, stocks={"PUMP": stock("4", on_order="10")})

    assert [r.status_text for r in result.lines] == [
        "Partial Ship: 4 / Prod. Needed: 6",
        "Awaiting Purchase Order",
        "Critical Shortage",
    ]
    # What SO-2's pool had lost before its turn: SO-1's 4 from the shelf and 6 from the PO.
    assert need_of(result.lines[1], "PUMP") == (D(4), D(4), D(0), D(10))
    # SO-1's own shelf take is not "taken before" it.
    assert need_of(result.lines[0], "PUMP")[3] == D(0)


# --------------------------------------------------------------------------------------------
# What earlier lines took, per component and per sales order
# --------------------------------------------------------------------------------------------


def test_each_component_shows_what_earlier_lines_took_and_which_orders() -> None:
    # 40 brackets. SO-1 makes 5 kits (10 brackets), SO-2 makes 3 (6), SO-3 wants 20 kits
    # (40 brackets): 24 left → 12 kits. Its bracket row: taken before 16, by SO-1 10 and SO-2 6.
    orders = [order("SO-1", "KIT", "5"), order("SO-2", "KIT", "3"), order("SO-3", "KIT", "20")]

    result = run(orders, stocks={"BRKT": stock("40"), "BOX": stock("100")}, boms=KIT)

    third = result.lines[2]
    assert need_of(third, "BRKT") == (D(40), D(24), D(16), D(16))
    earlier = [t for t in result.takes if t.sku == "BRKT" and t.rank < third.rank]
    assert earlier == [
        Take("BRKT", 0, "SO-1", 1, D(10)),
        Take("BRKT", 1, "SO-2", 1, D(6)),
    ]


def test_a_deep_short_parts_taken_before_counts_only_earlier_lines() -> None:
    # Steel 7 kg, 0.5 kg a tube, 2 tubes a stem. SO-1 makes 2 tubes (1 kg), SO-2 6 tubes (3 kg):
    # 3 kg left. SO-3 wants 4 stems = 8 tubes = 4 kg: 3 kg make 6 tubes = 3 stems, and it takes
    # them. The 4th stem needs 2 tubes = 1 kg, all short. Its steel row (level 2) says earlier
    # lines took 4 kg: SO-1's and SO-2's, not SO-3's own 3 kg.
    boms = {"TUBE": bom(("STEEL", "0.5")), "STEM": bom(("TUBE", "2"))}
    orders = [order("SO-1", "TUBE", "2"), order("SO-2", "TUBE", "6"), order("SO-3", "STEM", "4")]

    result = run(orders, stocks={"STEEL": stock("7")}, boms=boms, items=LAMP_ITEMS)

    third = result.lines[2]
    assert third.qty_can_make == D(3)
    assert need_of(third, "TUBE") == (D(8), D(6), D(2), D(0))
    assert need_of(third, "STEEL", level=2) == (D(1), D(0), D(1), D(4))


# --------------------------------------------------------------------------------------------
# Capacity: shifts required and the earliest date
# --------------------------------------------------------------------------------------------


def kits_needing(*quantities: str) -> list[OrderLine]:
    return [order(f"SO-{n}", "KIT", qty) for n, qty in enumerate(quantities, start=1)]


PLENTY = {"BRKT": stock("1000000"), "BOX": stock("1000000")}
TWO_SHIFTS = (2, 2, 2, 2, 2, 0, 0)


def test_shifts_required_use_the_items_own_row_and_the_lines_speed() -> None:
    # PRESS-1 makes kits at 100 per shift (its own row for KIT beats its 500 for any product),
    # running at 1.25 speed: 125 per shift. 1,000 kits = 8 shifts. Two shifts a weekday from
    # Monday 23: shifts 1-2 Mon, 3-4 Tue, 5-6 Wed, 7-8 Thursday 26.
    # SO-2 (500 = 4 shifts) comes after: shifts 9-10 Friday 27, 11-12 Monday 30.
    result = run(
        kits_needing("1000", "500"),
        stocks=PLENTY,
        boms=KIT,
        lines=[Line("PRESS-1", D("1.25"), TWO_SHIFTS)],
        capacities=[
            Capacity("PRESS-1", D(500), date(2026, 1, 1)),
            Capacity("PRESS-1", D(100), date(2026, 1, 1), sku="KIT"),
        ],
    )

    first, second = result.lines
    assert (first.line_code, first.shifts_required, first.earliest_date) == (
        "PRESS-1",
        D(8),
        date(2026, 11, 26),
    )
    assert (second.shifts_required, second.earliest_date) == (D(4), date(2026, 11, 30))


def test_without_an_item_row_the_family_row_then_any_product_is_used() -> None:
    # KIT is of family "kits". PRESS-1 has a kits row (200/shift), PRESS-2 only "any" (50/shift):
    # 400 kits are 2 shifts on PRESS-1 (Mon 23, one shift a day: Tue 24) or 8 on PRESS-2
    # (Wednesday Dec 2). PRESS-1 finishes first and is booked.
    result = run(
        kits_needing("400"),
        stocks=PLENTY,
        boms=KIT,
        items=[Item("KIT", make_or_buy="make", family="kits")],
        lines=[Line("PRESS-1"), Line("PRESS-2")],
        capacities=[
            Capacity("PRESS-1", D(200), date(2026, 1, 1), family="kits"),
            Capacity("PRESS-1", D(10), date(2026, 1, 1), family="caps"),
            Capacity("PRESS-2", D(50), date(2026, 1, 1)),
        ],
    )

    (line,) = result.lines
    assert (line.line_code, line.shifts_required, line.earliest_date) == (
        "PRESS-1",
        D(2),
        date(2026, 11, 24),
    )


def test_lines_are_booked_in_priority_order_across_the_able_lines() -> None:
    # Two presses at 100/shift, one shift a weekday. SO-1 needs 500 (5 shifts): both free, the
    # first by code is booked, Mon-Fri → Friday 27. SO-2 needs 300: PRESS-2 is free, Wednesday 25.
    # SO-3 needs 100: PRESS-2 is busy until Wednesday, PRESS-1 until Friday: PRESS-2, Thursday.
    result = run(
        kits_needing("500", "300", "100"),
        stocks=PLENTY,
        boms=KIT,
        lines=[Line("PRESS-1"), Line("PRESS-2")],
        capacities=[
            Capacity("PRESS-1", D(100), date(2026, 1, 1)),
            Capacity("PRESS-2", D(100), date(2026, 1, 1)),
        ],
    )

    assert [(r.line_code, r.earliest_date) for r in result.lines] == [
        ("PRESS-1", date(2026, 11, 27)),
        ("PRESS-2", date(2026, 11, 25)),
        ("PRESS-2", date(2026, 11, 26)),
    ]


def test_jobs_already_on_a_line_are_worked_first() -> None:
    # An open job of 300 kits on PRESS-1 (100/shift): 3 shifts, Mon-Wed. Then SO-1's 200 kits:
    # shifts 4-5, Thursday 26 and Friday 27.
    result = run(
        kits_needing("200"),
        stocks=PLENTY,
        boms=KIT,
        lines=[Line("PRESS-1")],
        capacities=[Capacity("PRESS-1", D(100), date(2026, 1, 1), sku="KIT")],
        open_jobs=[OpenJob("PRESS-1", "KIT", D(300))],
    )

    assert result.lines[0].earliest_date == date(2026, 11, 27)


def test_a_capacity_row_not_yet_in_effect_is_not_used_and_no_able_line_gives_no_date() -> None:
    # The only row starts in December: on Nov 23 no line can make kits. Shifts and date unknown,
    # the production status is still Full Production Ready.
    result = run(
        kits_needing("10"),
        stocks=PLENTY,
        boms=KIT,
        lines=[Line("PRESS-1")],
        capacities=[Capacity("PRESS-1", D(100), date(2026, 12, 1))],
    )

    (line,) = result.lines
    assert (line.line_code, line.shifts_required, line.earliest_date) == (None, None, None)
    assert line.status is Status.FULL_PRODUCTION


def test_shifts_round_up_to_a_hundredth() -> None:
    # 1,001 kits at 300 per shift: 3.3367 → 3.34 shifts; one shift a weekday: Thursday 26.
    result = run(
        kits_needing("1001"),
        stocks=PLENTY,
        boms=KIT,
        lines=[Line("PRESS-1")],
        capacities=[Capacity("PRESS-1", D(300), date(2026, 1, 1))],
    )

    assert (result.lines[0].shifts_required, result.lines[0].earliest_date) == (
        D("3.34"),
        date(2026, 11, 26),
    )


def test_weeks_of_booked_work_are_counted_in_working_days() -> None:
    # 2,500 kits at 100 per shift, two shifts a weekday (10 a week): 25 shifts. Weeks of
    # Nov 23 and Nov 30 work 20; shifts 21-22 Mon Dec 7, 23-24 Tue Dec 8, 25 Wed Dec 9.
    result = run(
        kits_needing("2500"),
        stocks=PLENTY,
        boms=KIT,
        lines=[Line("PRESS-1", shifts_by_weekday=TWO_SHIFTS)],
        capacities=[Capacity("PRESS-1", D(100), date(2026, 1, 1))],
    )

    assert result.lines[0].earliest_date == date(2026, 12, 9)


# --------------------------------------------------------------------------------------------
# Status texts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orders", "stocks", "expected"),
    [
        ([order("SO-1", "KIT", "5")], {"KIT": stock("5")}, "Ready to Ship"),
        ([order("SO-1", "KIT", "5")], {"KIT": stock("2")}, "Partial Ship: 2 / Prod. Needed: 3"),
        ([order("SO-1", "KIT", "5")], {"KIT": stock("0", "5")}, "Pending QC"),
        ([order("SO-1", "KIT", "5", in_production="5")], {}, "In Production"),
        (
            [order("SO-1", "KIT", "5")],
            {"BRKT": stock("10"), "BOX": stock("5")},
            "Full Production Ready - Create job now",
        ),
        (
            [order("SO-1", "KIT", "5")],
            {"BRKT": stock("2"), "BOX": stock("1")},
            "Partial Production Ready - [BRKT, BOX]",
        ),
        ([order("SO-1", "KIT", "5")], {"BOX": stock("5")}, "Critical Shortage"),
        ([order("SO-1", "PUMP", "5")], {"PUMP": stock(on_order="5")}, "Awaiting Purchase Order"),
    ],
)
def test_every_status_has_the_planners_words(
    orders: list[OrderLine], stocks: dict[str, Stock], expected: str
) -> None:
    assert run(orders, stocks=stocks, boms=KIT).lines[0].status_text == expected


def test_quantities_in_texts_group_thousands_and_drop_trailing_zeros() -> None:
    assert quantity_text(D("10995.0000")) == "10,995"
    assert quantity_text(D("12.5000")) == "12.5"
    assert quantity_text(D("1000000")) == "1,000,000"


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_a_bom_that_contains_itself_is_refused() -> None:
    # KIT → BRKT → KIT: however much stock there is, the plan stops with BomTooDeep (the service
    # turns it into a problem that names the item).
    cycle = {"KIT": bom(("BRKT", "1")), "BRKT": bom(("KIT", "1"))}

    with pytest.raises(BomTooDeep, match=re.escape("KIT contains itself: KIT > BRKT > KIT")):
        run([order("SO-1", "KIT", "5")], boms=cycle)
    with pytest.raises(BomTooDeep):
        run([order("SO-1", "KIT", "5")], stocks={"BRKT": stock("100")}, boms=cycle)


def test_a_cycle_deeper_down_is_refused_too() -> None:
    # LAMP → BASE → STEM → TUBE → STEM.
    cycle = {**LAMP, "TUBE": bom(("STEM", "1"))}

    with pytest.raises(BomTooDeep, match=re.escape("STEM contains itself: STEM > TUBE > STEM")):
        run([order("SO-1", "LAMP", "1")], stocks={"SHADE": stock("9")}, boms=cycle)


def test_a_bom_deeper_than_any_plants_is_refused() -> None:
    # P0 → P1 → ... → P30, no cycle, nothing in stock.
    chain = {f"P{n}": bom((f"P{n + 1}", "1")) for n in range(30)}

    with pytest.raises(BomTooDeep):
        run([order("SO-1", "P0", "1")], boms=chain)


def test_a_cycle_no_open_line_reaches_does_not_stop_the_plan() -> None:
    cycle = {**KIT, "A": bom(("B", "1")), "B": bom(("A", "1"))}

    result = run([order("SO-1", "KIT", "1")], stocks={"KIT": stock("1")}, boms=cycle)

    assert result.lines[0].status_text == "Ready to Ship"


def test_purchases_are_netted_across_lines_so_two_short_lines_never_count_the_same_leftover() -> (
    None
):
    """A kit takes a lid (bottleneck: 2 in stock) and 2 bolts (10 in stock). SO-1 wants 4 kits:
    2 can be made (2 lids, 4 bolts); SO-2 wants 3 kits: nothing can be made (no lid), and its
    bolts are free to take... The 6 bolts left are not SO-2's to plan with and SO-1's to buy
    against both: once both lines have allocated, SO-1's remaining 2 kits take 4 of the 6 bolts
    and buy 2 lids; SO-2's 3 kits take the last 2 bolts, buy 4 bolts and 3 lids. In all: 5 lids
    and 4 bolts, exactly what the 7 kits need beyond the stock (7 lids - 2, 14 bolts - 10)."""
    result = run(
        [
            order("SO-1", "KIT", "4", due=date(2026, 12, 1)),
            order("SO-2", "KIT", "3", due=date(2026, 12, 2)),
        ],
        stocks={"LID": stock("2"), "BOLT": stock("10")},
        boms={"KIT": bom(("LID", "1"), ("BOLT", "2"))},
    )
    first, second = result.lines
    assert (first.qty_can_make, second.qty_can_make) == (D(2), D(0))
    assert first.to_buy == {"LID": D(2)}
    assert second.to_buy == {"LID": D(3), "BOLT": D(4)}


def test_customer_supplied_parts_are_never_bought() -> None:
    result = run(
        [order("SO-1", "KIT", "4")],
        stocks={"LABEL": stock("1"), "BOLT": stock("0", on_order="3")},
        boms={"KIT": bom(("LABEL", "1"), ("BOLT", "1"))},
        items=[Item("LABEL", customer_supplied=True)],
    )
    (line,) = result.lines
    assert line.to_buy == {"BOLT": D(1)}  # 4 bolts, 3 on order; 3 labels are the customer's
