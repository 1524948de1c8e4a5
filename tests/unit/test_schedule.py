"""The planners' scheduling grid (mrp): open sales-order lines with their net quantity to make,
values, totals that follow the filters, the FG value cards split by the 19th-day cutoff, and the
two projection cells a planner types in, each saved on its own with who, when and its history,
and refused when it would overwrite another planner's save.

The rules run on plain values first (domain); then the mrp service alone on SQLite, over its API,
with a small plant set up in its tables (`set_up_plant`): "today" is 10 March 2026, so the
current cutoff is 19 March and the next 19 April.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from services import registry
from services.mrp.planning.models import StockLevel
from services.mrp.sales.models import Customer, KnownItem, SalesOrder, SalesOrderLine
from services.mrp.schedule import api as schedule_api
from services.mrp.schedule import domain
from services.mrp.schedule.domain import OpenLine, Period, Stock
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.uow import UnitOfWork
from tests.support.service_api import ServiceApi

SECRET = "schedule-test-secret-" + "x" * 40
TODAY = date(2026, 3, 10)
GRID = "/api/v1/schedule"
D = Decimal


def cell(so_line_id: int, field: str = "low_risk_qty") -> str:
    return f"/api/v1/schedule/lines/{so_line_id}/{field}"


# --- the rules on plain values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "current", "following"),
    [
        (date(2026, 3, 10), date(2026, 3, 19), date(2026, 4, 19)),
        (date(2026, 3, 19), date(2026, 3, 19), date(2026, 4, 19)),  # the 19th is still this month
        (date(2026, 3, 20), date(2026, 4, 19), date(2026, 5, 19)),
        (date(2026, 11, 25), date(2026, 12, 19), date(2027, 1, 19)),
        (date(2026, 12, 19), date(2026, 12, 19), date(2027, 1, 19)),
        (date(2026, 12, 20), date(2027, 1, 19), date(2027, 2, 19)),  # December into January
        (date(2027, 1, 1), date(2027, 1, 19), date(2027, 2, 19)),
    ],
)
def test_the_shipping_month_closes_on_the_19th(today: date, current: date, following: date) -> None:
    assert domain.cutoffs(today) == (current, following)


def test_a_line_falls_in_the_period_its_due_date_is_in_across_the_new_year() -> None:
    current, following = domain.cutoffs(date(2026, 12, 20))
    assert domain.period_of(date(2026, 11, 2), current, following) is Period.CURRENT  # overdue
    assert domain.period_of(date(2027, 1, 19), current, following) is Period.CURRENT
    assert domain.period_of(date(2027, 1, 20), current, following) is Period.NEXT
    assert domain.period_of(date(2027, 2, 19), current, following) is Period.NEXT
    assert domain.period_of(date(2027, 2, 20), current, following) is Period.LATER
    assert domain.period_of(None, current, following) is Period.LATER


def line(
    so_line_id: int,
    due: date | None,
    ordered: str,
    *,
    shipped: str = "0",
    price: str = "4",
    allocated: str = "0",
    sku: str = "WIDGET",
) -> OpenLine:
    return OpenLine(
        so_line_id=so_line_id,
        so_number=f"SO-{so_line_id}",
        line_no=1,
        sku=sku,
        due_date=due,
        qty_ordered=D(ordered),
        qty_shipped=D(shipped),
        unit_price=D(price),
        qty_allocated=D(allocated),
    )


def test_fg_on_hand_covers_the_earliest_lines_first_and_each_unit_only_once() -> None:
    # 10 widgets on the shelf, three open lines of 4, 8 and 5: the earliest takes 4, the next
    # the 6 left, the undated one nothing; none of them is reduced by all 10.
    lines = [
        line(3, None, "5"),
        line(2, date(2026, 3, 15), "8"),
        line(1, date(2026, 3, 1), "6", shipped="2"),
    ]
    covered = domain.cover_by_line(lines, {"WIDGET": D(10)})
    assert covered == {1: D(4), 2: D(6), 3: D(0)}
    assert [domain.net_qty(each.qty_open, covered[each.so_line_id]) for each in lines] == [
        D(5),
        D(2),
        D(0),
    ]


def test_stock_held_for_a_line_covers_that_line_before_earlier_ones() -> None:
    # 10 on hand, 2 of them reserved for the later line: the earlier line gets the other 8.
    lines = [line(1, date(2026, 3, 5), "12"), line(2, date(2026, 3, 25), "5", allocated="2")]
    assert domain.cover_by_line(lines, {"WIDGET": D(10)}) == {1: D(8), 2: D(2)}


def test_net_qty_is_never_negative_when_the_shelf_holds_more_than_the_line_needs() -> None:
    covered = domain.cover_by_line([line(1, date(2026, 3, 5), "3")], {"WIDGET": D(50)})
    assert covered == {1: D(3)}
    assert domain.net_qty(D(3), covered[1]) == 0


def test_the_cards_split_fg_on_hand_by_the_cutoffs_at_cost_and_at_price() -> None:
    # Today 20 December: current cutoff 19 January, next 19 February. 20 widgets (cost 2.50):
    # 6 for a line due 19 Jan (price 4), 6 for one due 20 Jan (price 5), 4 for one due in
    # March (price 6), 4 no line needs (valued at the last line's price, 6).
    lines = [
        line(1, date(2027, 1, 19), "6", price="4"),
        line(2, date(2027, 1, 20), "6", price="5"),
        line(3, date(2027, 3, 1), "4", price="6"),
    ]
    stock = {"WIDGET": Stock(D(20), D("2.5")), "SPARE": Stock(D(3), D(1))}
    covered = domain.cover_by_line(lines, {sku: s.on_hand for sku, s in stock.items()})
    cards = domain.fg_cards(date(2026, 12, 20), lines, stock, covered)
    assert (cards.current_cutoff, cards.next_cutoff) == (date(2027, 1, 19), date(2027, 2, 19))
    assert (cards.current.at_cost, cards.current.at_price) == (D("15.00"), D("24.00"))
    assert (cards.next.at_cost, cards.next.at_price) == (D("15.00"), D("30.00"))
    # Later line 4 x 2.50 / 4 x 6, free widgets 4 x 2.50 / 4 x 6, spares 3 x 1 and no price.
    assert (cards.not_needed.at_cost, cards.not_needed.at_price) == (D("23.00"), D("48.00"))
    assert (cards.total.at_cost, cards.total.at_price) == (D("53.00"), D("102.00"))
    assert cards.unpriced_skus == ["SPARE"]
    # A day earlier, 19 December is still this month's cutoff: the January lines are "next"
    # and later.
    cards = domain.fg_cards(date(2026, 12, 19), lines, stock, covered)
    assert cards.current.at_cost == 0
    assert (cards.next.at_cost, cards.next.at_price) == (D("15.00"), D("24.00"))


# --- the mrp service with a small plant ---------------------------------------------------------

_template: Path | None = None


def _runtime(folder: Path, db_url: str | None = None) -> ServiceRuntime:
    return ServiceRuntime(
        registry.definition("mrp"),
        Settings(var_dir=folder, plant_timezone="America/Chicago"),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )


def _template_database() -> Path:
    """A migrated mrp database, built once per test process and copied for each test."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="schedule-api-"))
        runtime = _runtime(folder)
        runtime.migrate()
        runtime.db.engine.dispose()
        _template = folder
    return _template


class Plant(ServiceApi):
    """The mrp service and the ids of the lines `set_up_plant` made, by 'SO/line'."""

    def __init__(self, runtime: ServiceRuntime, lines: dict[str, int]) -> None:
        super().__init__(runtime, SECRET)
        self.lines = lines

    def uow(self) -> UnitOfWork:
        uow: UnitOfWork = self.runtime.uow()
        return uow


# so number, customer, status, business unit, lines: (sku, qty, shipped, price, due, allocated)
ORDERS: list[tuple[str, str, str, str | None, list[tuple[str, str, str, str, Any, str]]]] = [
    (
        "SO-2026-00001",
        "ACME",
        "open",
        "RETAIL",
        [
            ("WIDGET", "12", "0", "4", date(2026, 3, 5), "0"),
            ("GADGET", "5", "0", "20", date(2026, 4, 10), "0"),
        ],
    ),
    (
        "SO-2026-00002",
        "BOLT",
        "partial",
        "INDUSTRIAL",
        [
            ("WIDGET", "6", "1", "4.5", date(2026, 3, 25), "2"),
            ("WIDGET", "3", "3", "4.5", date(2026, 3, 25), "0"),  # shipped in full
        ],
    ),
    ("SO-2026-00003", "ACME", "shipped", None, [("WIDGET", "2", "2", "4", date(2026, 3, 1), "0")]),
    ("SO-2026-00004", "BOLT", "cancelled", None, [("WIDGET", "7", "0", "4", TODAY, "0")]),
    ("SO-2026-00005", "ACME", "open", None, [("WIDGET", "4", "0", "4", None, "0")]),
]
# sku, item type, available, allocated, average cost
STOCK = [
    ("WIDGET", "finished", "8", "2", "2.5"),
    ("GADGET", "finished", "3", "0", "10"),
    ("SPARE", "finished", "5", "0", "1"),
    ("RESIN", "raw", "100", "0", "3"),  # raw material: not FG, in no card
]


def set_up_plant(uow: UnitOfWork) -> dict[str, int]:
    now = utc_now()
    customers = {}
    for code, name in (("ACME", "Acme Retail"), ("BOLT", "Bolt Hardware")):
        customer = Customer(
            code=code, name=name, priority=3, active=True, created_at=now, updated_at=now
        )
        uow.session.add(customer)
        customers[code] = customer
    for sku, item_type, available, allocated, cost in STOCK:
        uow.session.add(
            KnownItem(
                sku=sku,
                name=sku.title(),
                uom="ea",
                item_type=item_type,
                active=True,
                sequence=1,
                average_cost=D(cost),
            )
        )
        uow.session.add(
            StockLevel(
                sku=sku,
                on_hand=D(available) + D(allocated),
                available=D(available),
                allocated=D(allocated),
                pending_qc=D(0),
                wip=D(0),
                average_cost=D(cost),
                sequence=1,
            )
        )
    uow.session.flush()
    ids: dict[str, int] = {}
    for number, customer_code, status, business_unit, lines in ORDERS:
        order = SalesOrder(
            number=number,
            customer_id=customers[customer_code].id,
            status=status,
            order_date=date(2026, 2, 1),
            business_unit=business_unit,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(order)
        uow.session.flush()
        for line_no, (sku, qty, shipped, price, due, allocated) in enumerate(lines, start=1):
            row = SalesOrderLine(
                so_id=order.id,
                line_no=line_no,
                sku=sku,
                qty_ordered=D(qty),
                qty_shipped=D(shipped),
                qty_allocated=D(allocated),
                unit_price=D(price),
                due_date=due,
                business_unit=None,
            )
            uow.session.add(row)
            uow.session.flush()
            ids[f"{number[-1]}/{line_no}"] = row.id
    return ids


@asynccontextmanager
async def schedule_plant(tmp_path: Path, *, db_url: str | None = None) -> AsyncIterator[Plant]:
    """The mrp service with the plant above, on SQLite (a copy of a migrated template) or on
    the empty PostgreSQL database `db_url`."""
    if db_url is None:
        for path in _template_database().glob("mrp.db*"):
            shutil.copy(path, tmp_path / path.name)
    runtime = _runtime(tmp_path, db_url)
    if db_url is not None:
        runtime.migrate()
    with runtime.uow() as uow:
        ids = set_up_plant(uow)
        uow.commit()
    try:
        yield Plant(runtime, ids)
    finally:
        runtime.db.engine.dispose()


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[date]]:
    """The plant's day as the API sees it: 10 March 2026 unless a test changes it."""
    day = [TODAY]
    monkeypatch.setattr(schedule_api, "plant_today", lambda settings: day[0])
    yield day


@pytest.fixture
async def plant(tmp_path: Path, today: list[date]) -> AsyncIterator[Plant]:
    async with schedule_plant(tmp_path) as running:
        yield running


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str, code: str | None = None) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == field, problem
    if code is not None:
        assert problem["code"] == code, problem
    return problem


def by_line(grid: dict[str, Any], plant: Plant) -> dict[str, dict[str, Any]]:
    names = {so_line_id: name for name, so_line_id in plant.lines.items()}
    return {names[row["so_line_id"]]: row for row in grid["items"]}


# --- the grid -----------------------------------------------------------------------------------


async def test_the_grid_shows_open_lines_with_net_qty_to_make_and_their_values(
    plant: Plant,
) -> None:
    async with plant.client("viewer") as api:
        grid = ok(await api.get(GRID))
    rows = by_line(grid, plant)
    # Shipped orders, cancelled ones and a line shipped in full are not on the grid; the
    # earliest due first, the undated line last.
    assert list(rows) == ["1/1", "2/1", "1/2", "5/1"]
    widget = rows["1/1"]
    assert (widget["so_number"], widget["customer_code"], widget["customer_name"]) == (
        "SO-2026-00001",
        "ACME",
        "Acme Retail",
    )
    assert widget["business_unit"] == "RETAIL"  # the order's, the line having none
    assert widget["period"] == "current"
    # 10 widgets on hand: 2 are held for SO 2 line 1, the other 8 cover this earlier line.
    assert widget["fg_on_hand"] == "10.0000"
    assert widget["fg_covering"] == "8.0000"
    assert widget["net_qty"] == "4.0000"  # 12 ordered - 0 shipped - 8 on hand
    assert (widget["ordered_value"], widget["net_value"]) == ("48.0000", "16.0000")
    partial = rows["2/1"]
    assert (partial["qty_open"], partial["fg_covering"], partial["net_qty"]) == (
        "5.0000",
        "2.0000",
        "3.0000",
    )
    assert (partial["ordered_value"], partial["net_value"]) == ("27.0000", "13.5000")
    gadget = rows["1/2"]
    assert (gadget["fg_on_hand"], gadget["net_qty"], gadget["net_value"]) == (
        "3.0000",
        "2.0000",
        "40.0000",
    )
    undated = rows["5/1"]
    assert (undated["due_date"], undated["period"], undated["net_qty"]) == (None, "later", "4.0000")
    assert (undated["low_risk_qty"], undated["version"], undated["updated_by"]) == (None, 0, None)
    assert grid["totals"] == {
        "lines": 4,
        "qty_ordered": "27.0000",
        "qty_shipped": "1.0000",
        "qty_open": "26.0000",
        "fg_covering": "13.0000",
        "net_qty": "13.0000",
        "ordered_value": "191.0000",
        "net_value": "85.5000",
        "low_risk_qty": "0.0000",
        "low_risk_value": "0.0000",
        "high_risk_qty": "0.0000",
        "high_risk_value": "0.0000",
    }


async def test_the_totals_follow_the_filters_and_cover_every_page(plant: Plant) -> None:
    async with plant.client("viewer") as api:
        bolt = ok(await api.get(GRID, params={"customer_code": "BOLT"}))
        first_page = ok(await api.get(GRID, params={"customer_code": "ACME", "limit": 1}))
        march = ok(await api.get(GRID, params={"due_month": "2026-03"}))
        industrial = ok(await api.get(GRID, params={"business_unit": "INDUSTRIAL"}))
        gadgets = ok(await api.get(GRID, params={"sku": "GADGET"}))
        searched = ok(await api.get(GRID, params={"q": "bolt hard"}))
        ranged = ok(await api.get(GRID, params={"due_from": "2026-03-20", "due_to": "2026-04-30"}))
    assert [row["so_number"] for row in bolt["items"]] == ["SO-2026-00002"]
    assert (bolt["totals"]["lines"], bolt["totals"]["ordered_value"]) == (1, "27.0000")
    assert bolt["totals"]["net_value"] == "13.5000"
    # One row on the page, the totals of all three of Acme's lines.
    assert (len(first_page["items"]), first_page["total"]) == (1, 3)
    assert first_page["totals"]["ordered_value"] == "164.0000"
    assert first_page["totals"]["net_qty"] == "10.0000"
    assert [row["so_line_id"] for row in march["items"]] == [
        plant.lines["1/1"],
        plant.lines["2/1"],
    ]
    assert industrial["totals"]["lines"] == 1
    assert gadgets["totals"]["ordered_value"] == "100.0000"
    assert searched["total"] == 1
    assert [row["so_line_id"] for row in ranged["items"]] == [
        plant.lines["2/1"],
        plant.lines["1/2"],
    ]
    # The cover does not follow the filters: SO 1's widgets are still covered by 8 on hand.
    assert first_page["items"][0]["fg_covering"] == "8.0000"


async def test_the_fg_cards_split_on_hand_by_the_19th(plant: Plant, today: list[date]) -> None:
    async with plant.client("viewer") as api:
        cards = ok(await api.get(GRID))["cards"]
        filtered = ok(await api.get(GRID, params={"customer_code": "BOLT"}))["cards"]
        today[0] = date(2026, 3, 20)  # past the 19th: March's lines all count for April's cutoff
        later = ok(await api.get(GRID))["cards"]
    # Widgets (cost 2.50): 8 for SO 1 (due 5 Mar, price 4), 2 held for SO 2 (due 25 Mar, 4.50);
    # gadgets (cost 10): 3 for SO 1 line 2 (due 10 Apr, price 20); spares: 5 no line needs.
    # Raw resin is no finished good.
    assert (cards["as_of"], cards["current_cutoff"], cards["next_cutoff"]) == (
        "2026-03-10",
        "2026-03-19",
        "2026-04-19",
    )
    assert cards["current"] == {"at_cost": "20.0000", "at_price": "32.0000"}
    assert cards["next"] == {"at_cost": "35.0000", "at_price": "69.0000"}
    assert cards["not_needed"] == {"at_cost": "5.0000", "at_price": "0.0000"}
    assert cards["total"] == {"at_cost": "60.0000", "at_price": "101.0000"}
    assert cards["unpriced_skus"] == ["SPARE"]
    assert filtered == cards  # the plant's cards, whatever the grid shows
    assert (later["current_cutoff"], later["next_cutoff"]) == ("2026-04-19", "2026-05-19")
    assert later["current"] == {"at_cost": "55.0000", "at_price": "101.0000"}
    assert later["next"] == {"at_cost": "0.0000", "at_price": "0.0000"}


async def test_bad_filters_are_refused_naming_the_parameter(plant: Plant) -> None:
    async with plant.client("viewer") as api:
        refused(await api.get(GRID, params={"due_month": "2026-13"}), 422, "query.due_month")
        refused(
            await api.get(GRID, params={"due_from": "2026-04-01", "due_to": "2026-03-01"}),
            422,
            "query.due_to",
        )
        refused(await api.get(GRID, params={"sort": "price"}), 422, "query.sort", "unknown_sort")
        refused(await api.get(GRID, params={"limit": 0}), 422, "query.limit")


# --- saving a cell ------------------------------------------------------------------------------


async def test_a_planner_saves_a_cell_with_who_and_when_and_its_history(plant: Plant) -> None:
    widget = plant.lines["1/1"]
    async with plant.client("planner", user="paula") as paula:
        saved = ok(await paula.put(cell(widget), json={"value": "6.5", "version": 0}))
        assert (saved["value"], saved["low_risk_value"], saved["version"]) == (
            "6.5000",
            "26.0000",
            1,
        )
        assert saved["updated_by"] == "paula" and saved["updated_at"]
        high = {"value": "3", "version": 1}
        saved = ok(await paula.put(cell(widget, "high_risk_qty"), json=high))
        assert (saved["high_risk_qty"], saved["high_risk_value"], saved["version"]) == (
            "3.0000",
            "12.0000",
            2,
        )
        ok(await paula.put(cell(widget), json={"value": None, "version": 2}))  # emptied
        grid = ok(await paula.get(GRID))
        history = ok(await paula.get(f"/api/v1/schedule/lines/{widget}/history"))
    row = by_line(grid, plant)["1/1"]
    assert (row["low_risk_qty"], row["high_risk_qty"], row["version"]) == (None, "3.0000", 3)
    assert (row["high_risk_value"], row["updated_by"]) == ("12.0000", "paula")
    assert grid["totals"]["high_risk_value"] == "12.0000"
    assert history["so_number"] == "SO-2026-00001" and history["total"] == 3
    assert [
        (change["field"], change["old_value"], change["new_value"], change["changed_by"])
        for change in history["items"]
    ] == [
        ("low_risk_qty", "6.5000", None, "paula"),
        ("high_risk_qty", None, "3.0000", "paula"),
        ("low_risk_qty", None, "6.5000", "paula"),
    ]
    audited = [event.payload for event in plant.events("AuditRecorded")]
    assert [(each["action"], each["entity_id"], each["actor"]) for each in audited] == [
        ("mrp.schedule.save", "SO-2026-00001/1", "paula")
    ] * 3


async def test_the_same_value_again_changes_nothing(plant: Plant) -> None:
    widget = plant.lines["1/1"]
    async with plant.client("planner", user="paula") as paula:
        ok(await paula.put(cell(widget), json={"value": "2", "version": 0}))
        before = plant.row_counts()
        again = ok(await paula.put(cell(widget), json={"value": "2.000", "version": 1}))
    assert again["version"] == 1
    assert plant.row_counts() == before


async def test_emptying_a_cell_never_filled_changes_nothing(plant: Plant) -> None:
    """Tabbing through an empty cell sends it empty: no version, no history row."""
    widget = plant.lines["1/1"]
    before = plant.row_counts()
    async with plant.client("planner", user="paula") as paula:
        empty = ok(await paula.put(cell(widget), json={"value": None, "version": 0}))
    assert (empty["version"], empty["value"]) == (0, None)
    assert plant.row_counts() == before


async def test_a_stale_save_is_refused_with_the_row_as_it_is_now_and_nothing_changed(
    plant: Plant,
) -> None:
    widget = plant.lines["1/1"]
    async with (
        plant.client("planner", user="paula") as paula,
        plant.client("supervisor", user="marco") as marco,
    ):
        # Both load the grid at version 0; Paula saves first.
        ok(await paula.put(cell(widget), json={"value": "5", "version": 0}))
        before = plant.row_counts()
        problem = refused(
            await marco.put(cell(widget), json={"value": "7", "version": 0}),
            409,
            "version",
            "concurrent_change",
        )
        grid = ok(await marco.get(GRID))
    assert "paula" in problem["detail"] and "SO-2026-00001" in problem["detail"]
    assert "not saved" in problem["detail"]
    current = problem["current"]
    assert (current["value"], current["version"], current["updated_by"]) == ("5.0000", 1, "paula")
    assert current["updated_at"]
    assert plant.row_counts() == before
    row = by_line(grid, plant)["1/1"]
    assert (row["low_risk_qty"], row["version"], row["updated_by"]) == ("5.0000", 1, "paula")


async def test_each_saved_cell_is_published_for_the_open_grids_and_nothing_else_is(
    plant: Plant,
) -> None:
    """ScheduleProjectionChanged goes out with every save that changes the row (the gateway's
    live grids fetch the line on it); the same value again, a cell emptied that was never
    filled, and a stale save publish nothing."""
    widget, hook = plant.lines["1/1"], plant.lines["5/1"]
    async with (
        plant.client("planner", user="paula") as paula,
        plant.client("planner", user="marco") as marco,
    ):
        ok(await paula.put(cell(widget), json={"value": "6.5", "version": 0}))
        ok(await paula.put(cell(widget, "high_risk_qty"), json={"value": "3", "version": 1}))
        ok(await paula.put(cell(widget), json={"value": "6.50", "version": 2}))  # the same
        ok(await paula.put(cell(hook), json={"value": None, "version": 0}))  # never filled
        refused(
            await marco.put(cell(widget), json={"value": "1", "version": 1}),
            409,
            "version",
            "concurrent_change",
        )
    published = plant.events("ScheduleProjectionChanged")
    assert [event.key for event in published] == ["SO-2026-00001/1"] * 2
    assert [event.sequence for event in published] == [1, 2]
    first, second = (event.payload for event in published)
    assert first["so_number"] == "SO-2026-00001" and first["line_no"] == 1

    def projected(payload: dict[str, Any]) -> tuple[Any, ...]:
        low, high = payload["low_risk_qty"], payload["high_risk_qty"]
        return (payload["row_version"], low and D(low), high and D(high))

    assert projected(first) == (1, D("6.5"), None)
    assert projected(second) == (2, D("6.5"), D(3))
    assert second["updated_by"] == "paula" and second["updated_at"]


async def test_an_open_grid_fetches_only_the_lines_saved_since_it_last_looked(
    plant: Plant,
) -> None:
    widget, gadget = plant.lines["1/1"], plant.lines["1/2"]
    async with plant.client("planner", user="paula") as paula:
        ok(await paula.put(cell(widget), json={"value": "2", "version": 0}))
        first = ok(await paula.get(GRID))
        saved_at = by_line(first, plant)["1/1"]["updated_at"]
        ok(await paula.put(cell(gadget), json={"value": "1", "version": 0}))
        since = ok(await paula.get(GRID, params={"updated_since": saved_at}))
        later = by_line(ok(await paula.get(GRID)), plant)["1/2"]["updated_at"]
        newest = ok(await paula.get(GRID, params={"updated_since": later, "customer_code": "BOLT"}))
        nothing = ok(await paula.get(GRID, params={"updated_since": "2099-01-01T00:00:00+00:00"}))
        # A time without its offset could be any plant's: refused, naming the parameter.
        refused(
            await paula.get(GRID, params={"updated_since": "2026-03-10T08:00:00"}),
            422,
            "query.updated_since",
        )
        refused(
            await paula.get(GRID, params={"updated_since": "yesterday"}), 422, "query.updated_since"
        )
    assert [row["so_line_id"] for row in since["items"]] == [widget, gadget]
    assert since["total"] == 2
    assert newest["items"] == []  # the other filters still apply
    assert nothing["items"] == []


async def test_a_version_from_the_future_is_refused_too(plant: Plant) -> None:
    async with plant.client("planner") as api:
        problem = refused(
            await api.put(cell(plant.lines["5/1"]), json={"value": "1", "version": 4}),
            409,
            "version",
            "concurrent_change",
        )
    assert problem["current"]["version"] == 0


async def test_a_projection_on_a_closed_order_or_a_shipped_line_is_refused_naming_the_line(
    plant: Plant,
) -> None:
    shipped_order, cancelled_order = plant.lines["3/1"], plant.lines["4/1"]
    shipped_line = plant.lines["2/2"]
    before = plant.row_counts()
    async with plant.client("planner") as api:
        problem = refused(
            await api.put(cell(shipped_order), json={"value": "1", "version": 0}),
            409,
            "so_line_id",
            "line_closed",
        )
        assert "SO-2026-00003 line 1" in problem["detail"] and "shipped" in problem["detail"]
        problem = refused(
            await api.put(cell(cancelled_order), json={"value": "1", "version": 0}),
            409,
            "so_line_id",
            "line_closed",
        )
        assert "cancelled" in problem["detail"]
        problem = refused(
            await api.put(cell(shipped_line, "high_risk_qty"), json={"value": "0", "version": 0}),
            409,
            "so_line_id",
            "line_closed",
        )
        assert "SO-2026-00002 line 2 has shipped in full" in problem["detail"]
    assert plant.row_counts() == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "Must be at least 0"),
        ("1.23456", "at most 4 decimal places"),
        ("lots", "Enter a number"),
        ("NaN", None),
        ("12.0001", "more than the 12 still open"),
        ("1e30", None),
    ],
)
async def test_a_bad_quantity_is_refused_naming_value_and_saves_nothing(
    plant: Plant, value: str, message: str | None
) -> None:
    before = plant.row_counts()
    async with plant.client("planner") as api:
        problem = refused(
            await api.put(cell(plant.lines["1/1"]), json={"value": value, "version": 0}),
            422,
            "value",
        )
    if message:
        assert message in problem["detail"], problem
    assert plant.row_counts() == before


async def test_other_bad_saves_are_refused_naming_what_is_wrong(plant: Plant) -> None:
    before = plant.row_counts()
    widget = plant.lines["1/1"]
    async with plant.client("planner") as api:
        refused(await api.put(cell(widget), json={"value": "1"}), 422, "version")
        refused(await api.put(cell(widget), json={"value": "1", "version": -1}), 422, "version")
        refused(
            await api.put(cell(widget), json={"value": "1", "version": 0, "who": "x"}), 422, "who"
        )
        refused(
            await api.put(cell(widget, "price"), json={"value": "1", "version": 0}),
            422,
            "path.field",
        )
        refused(
            await api.put(cell(999_999), json={"value": "1", "version": 0}),
            404,
            "so_line_id",
            "unknown_line",
        )
        refused(await api.get("/api/v1/schedule/lines/999999/history"), 404, "so_line_id")
        refused(
            await api.put(cell(2**40), json={"value": "1", "version": 0}), 422, "path.so_line_id"
        )
    assert plant.row_counts() == before


async def test_only_planners_and_supervisors_edit_projections(plant: Plant) -> None:
    before = plant.row_counts()
    for role in ("viewer", "buyer", "operator"):
        async with plant.client(role) as api:
            answer = await api.put(cell(plant.lines["1/1"]), json={"value": "1", "version": 0})
            assert answer.status_code == 403, (role, answer.text)
            ok(await api.get(GRID))
    assert plant.row_counts() == before


async def test_a_save_sent_twice_with_its_idempotency_key_is_applied_once(plant: Plant) -> None:
    headers = {"Idempotency-Key": "schedule-save-1"}
    async with plant.client("planner") as api:
        first = ok(
            await api.put(
                cell(plant.lines["1/1"]), json={"value": "2", "version": 0}, headers=headers
            )
        )
        again = await api.put(
            cell(plant.lines["1/1"]), json={"value": "2", "version": 0}, headers=headers
        )
        history = ok(await api.get(f"/api/v1/schedule/lines/{plant.lines['1/1']}/history"))
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first
    assert history["total"] == 1


async def test_the_messages_speak_spanish_to_a_spanish_planner(plant: Plant) -> None:
    async with plant.client("planner", language="es") as api:
        problem = refused(
            await api.put(cell(plant.lines["3/1"]), json={"value": "1", "version": 0}),
            409,
            "so_line_id",
        )
        assert "SO-2026-00003" in problem["detail"] and "enviado" in problem["detail"], problem
        problem = refused(
            await api.put(cell(plant.lines["1/1"]), json={"value": "13", "version": 0}),
            422,
            "value",
        )
        assert "pendientes" in problem["detail"], problem


async def test_the_grid_exports_to_excel_with_its_filters_and_total_row(plant: Plant) -> None:
    async with plant.client("planner", user="paula") as api:
        ok(await api.put(cell(plant.lines["1/1"]), json={"value": "4", "version": 0}))
        answer = await api.get("/api/v1/schedule.xlsx", params={"customer_code": "ACME"})
    assert answer.status_code == 200, answer.text
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Sales order", "Line", "Customer")
    assert [row[0] for row in rows[1:]] == [
        "SO-2026-00001",
        "SO-2026-00001",
        "SO-2026-00005",
        "Total (3 lines)",
    ]
    assert rows[1][11] == 4 and rows[1][15] == 4 and rows[1][19] == "paula"  # net, low, who
    total = rows[-1]
    assert (total[7], total[13], total[14], total[16]) == (21, 164, 72, 16)


async def test_the_excel_export_has_the_fg_value_cards_on_a_second_sheet(
    plant: Plant, today: list[date]
) -> None:
    """The cards as the page shows them above the grid (the plant's: the filters do not narrow
    them), each with the due days of the lines it covers, at cost and at sales price."""
    async with plant.client("viewer", language="es") as spanish, plant.client("viewer") as api:
        answer = await api.get("/api/v1/schedule.xlsx", params={"customer_code": "BOLT"})
        en_espanol = await spanish.get("/api/v1/schedule.xlsx")
    assert answer.status_code == 200, answer.text
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["Scheduling grid", "FG value cards"]
    rows = list(book["FG value cards"].iter_rows(values_only=True))
    assert rows[0] == ("Card", "Lines due from", "Lines due to", "At cost", "At sales price")

    def day(value: Any) -> date | None:
        return None if value is None else value.date()

    cards = [(row[0], day(row[1]), day(row[2]), row[3], row[4]) for row in rows[1:5]]
    assert cards == [
        ("FG on hand", None, None, 60, 101),
        ("For lines due by the current cutoff", None, date(2026, 3, 19), 20, 32),
        ("For lines due in the next period", date(2026, 3, 20), date(2026, 4, 19), 35, 69),
        ("Not needed by either", date(2026, 4, 20), None, 5, 0),
    ]
    assert all(cell is None for cell in rows[5])  # a row apart, then what they rest on
    assert (rows[6][0], day(rows[6][1])) == ("Worked out on", TODAY)
    assert rows[7][:2] == ("No open line prices (at cost only)", "SPARE")
    spanish_book = openpyxl.load_workbook(io.BytesIO(en_espanol.content))
    assert spanish_book.sheetnames[1] == "Tarjetas de valor del PT"
    assert next(spanish_book.worksheets[1].iter_rows(values_only=True))[0] == "Tarjeta"
