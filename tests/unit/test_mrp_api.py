"""The MRP dashboard's API on the mrp service alone: a planner reads the latest run's lines under
filters, a component's tooltip (what earlier orders took, a line per sales order), the
workbook of the view with its component detail, the shipment forecast worked by hand, and the
priority settings; bad input is refused naming the field, and nothing changes.

The plant (Monday 23 November 2026, price 10 a unit on every line):
- brackets (BRKT, made on PRN-01 at 20 a shift, 2 shifts a day) of a printed arm (ARM, made of
  0.5 kg PLA), two screws (SCREW, bought: 40 in stock, 60 on an open PO) and a customer's
  label (LABEL). 30 brackets in stock and 10 in QC; 5 arms; 20 kg PLA.
- cups (CUP, made on PRN-02 at 10 a shift, 1 shift a day) of 2 kg resin (RESIN, 200 in stock);
  4 cups in stock.
Lines in due order (the run's order):
  1 SO-6/1 BOLT  10 CUP  due 24 Nov: 4 from stock, 6 to make (0.6 shift): Partial Ship
  2 SO-1/1 ACME  25 BRKT due 25 Nov: Ready to Ship
  3 SO-2/1 BOLT  15 BRKT due 26 Nov: 5 from stock, 10 in QC: Pending QC
  4 SO-8/1 BOLT  50 CUP  due 27 Nov: 5 shifts after 0.6: Monday 30 Nov, late
  5 SO-3/1 ACME  60 BRKT due 10 Dec: 45 can be made (PLA), SCREW 20 and PLA 7.5 short
  6 SO-7/1 ACME  30 CUP  due 20 Dec: 3 more shifts: Thursday 3 Dec, in time
  7 SO-4/1 BOLT  10 BRKT due 15 Jan 2027: nothing can be made (PLA 5, SCREW 10 short; 20 to
    buy, as SO-3's remainder counts the 10 screws left first)
  8 SO-5/1 ACME   5 BRKT no due date: nothing can be made (PLA 2.5 short)
SO-3, SO-4 and SO-7 are business unit PRINT; the others BU1.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import update

from services.mrp.runs import forecast
from services.mrp.runs.models import MrpLineResult
from services.mrp.sales.models import SalesOrder
from shared.events.catalogue import LineCapacity
from tests.support.mrp_plan import MrpPlan, mrp_plan

D = Decimal
LINES = "/api/v1/mrp/lines"


@pytest.fixture
async def plan(tmp_path: Path) -> AsyncIterator[MrpPlan]:
    async with mrp_plan(tmp_path) as plan:
        yield plan


@pytest.fixture
async def planner(plan: MrpPlan) -> AsyncIterator[httpx.AsyncClient]:
    async with plan.client("planner", user="pia") as client:
        yield client


def the_plant(plan: MrpPlan) -> None:
    for sku in ("PLA", "SCREW", "RESIN"):
        plan.item(sku)
    plan.item("LABEL", customer_supplied=True)
    plan.item("ARM", make=True)
    plan.item("BRKT", make=True, family="BRACKETS")
    plan.item("CUP", make=True, family="CUPS")
    plan.bom("ARM", ("PLA", "0.5"))
    plan.bom("BRKT", ("ARM", "1"), ("SCREW", "2"), ("LABEL", "1"))
    plan.bom("CUP", ("RESIN", "2"))
    plan.stock("BRKT", available="30", pending_qc="10")
    plan.stock("ARM", available="5")
    plan.stock("PLA", available="20")
    plan.stock("SCREW", available="40")
    plan.stock("LABEL", available="1000")
    plan.stock("CUP", available="4")
    plan.stock("RESIN", available="200")
    plan.purchase_order("PO-1", ("SCREW", "100", "40"))
    since = date(2026, 1, 1)
    plan.line(
        "PRN-01", LineCapacity(family="BRACKETS", units_per_shift=D(20), effective_from=since)
    )
    plan.line(
        "PRN-02",
        LineCapacity(family="CUPS", units_per_shift=D(10), effective_from=since),
        shifts=(1, 1, 1, 1, 1, 0, 0),
    )
    plan.customer("ACME", priority=1)
    plan.customer("BOLT", priority=4)
    orders = [
        ("SO-1", "ACME", "BRKT", "25", date(2026, 11, 25)),
        ("SO-2", "BOLT", "BRKT", "15", date(2026, 11, 26)),
        ("SO-3", "ACME", "BRKT", "60", date(2026, 12, 10)),
        ("SO-4", "BOLT", "BRKT", "10", date(2027, 1, 15)),
        ("SO-5", "ACME", "BRKT", "5", None),
        ("SO-6", "BOLT", "CUP", "10", date(2026, 11, 24)),
        ("SO-7", "ACME", "CUP", "30", date(2026, 12, 20)),
        ("SO-8", "BOLT", "CUP", "50", date(2026, 11, 27)),
    ]
    for number, customer, sku, qty, due in orders:
        plan.sales_order(number, customer, (sku, qty, due))
    with plan.uow() as uow:
        uow.session.execute(
            update(SalesOrder)
            .where(SalesOrder.number.in_(["SO-3", "SO-4", "SO-7"]))
            .values(business_unit="PRINT")
        )
        uow.commit()
    plan.run()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    if field is not None:
        assert body["field"] == field, body
    return body


def numbers(page: dict[str, Any]) -> list[str]:
    return [line["so_number"] for line in page["items"]]


async def test_the_dashboard_lists_the_run_in_its_order_with_statuses_and_components(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    the_plant(plan)
    page = ok(await planner.get(LINES))
    assert numbers(page) == ["SO-6", "SO-1", "SO-2", "SO-8", "SO-3", "SO-7", "SO-4", "SO-5"]
    assert page["total"] == 8
    assert page["run"]["requested_by"] == "planner-test"
    assert page["run"]["ordering"] == "due_date"
    lines = {line["so_number"]: line for line in page["items"]}
    assert [lines[n]["rank"] for n in ("SO-6", "SO-5")] == [1, 8]
    assert (lines["SO-6"]["status"], lines["SO-6"]["status_text"]) == (
        "partial_ship",
        "Partial Ship: 4 / Prod. Needed: 6",
    )
    assert lines["SO-6"]["qty_shippable"] == "4.0000"
    assert lines["SO-6"]["job_qty"] == "6.0000"  # the production part can all be made
    assert lines["SO-1"]["status_name"] == "Ready to Ship"
    assert lines["SO-1"]["job_qty"] is None
    assert lines["SO-8"]["status_text"] == "Full Production Ready - Create job now"
    assert (lines["SO-8"]["line_code"], lines["SO-8"]["earliest_date"]) == (
        "PRN-02",
        "2026-11-30",
    )
    assert lines["SO-7"]["earliest_date"] == "2026-12-03"
    third = lines["SO-3"]
    assert third["status_text"] == "Partial Production Ready - [PLA, SCREW]"
    assert third["bottleneck"] == ["PLA", "SCREW"]
    assert (third["qty_needed"], third["qty_can_make"], third["job_qty"]) == (
        "60.0000",
        "45.0000",
        "45.0000",
    )
    assert third["value"] == "600.0000"
    screws = next(c for c in third["components"] if c["sku"] == "SCREW")
    assert (screws["required"], screws["allocated"], screws["short"]) == (
        "120.0000",
        "90.0000",
        "20.0000",
    )
    # What we buy: the screws and the kilos of PLA the missing arms need; never the label
    # (the customer's) nor the arm (made here).
    assert third["qty_to_buy"] == {"SCREW": "20.0000", "PLA": "7.5000"}
    assert lines["SO-4"]["status_text"] == "Critical Shortage"
    # Netted across lines: the 10 screws SO-3 left are counted for SO-3's own remainder
    # (it buys 20 more), so SO-4 buys all 20 of its own.
    assert lines["SO-4"]["qty_to_buy"] == {"PLA": "5.0000", "SCREW": "20.0000"}
    assert page["counts"] == {
        "ready_to_ship": 1,
        "partial_ship": 1,
        "pending_qc": 1,
        "in_production": 0,
        "full_production": 2,
        "partial_production": 1,
        "awaiting_customer": 0,
        "awaiting_purchase": 0,
        "critical_shortage": 2,
    }
    assert page["choices"] == {
        "business_units": ["BU1", "PRINT"],
        "customers": [
            {"code": "ACME", "name": "Customer ACME"},
            {"code": "BOLT", "name": "Customer BOLT"},
        ],
        "due_years": [2026, 2027],
    }


async def test_the_filters_narrow_the_lines_and_the_counts_follow(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    the_plant(plan)

    async def listed(**params: Any) -> dict[str, Any]:
        page: dict[str, Any] = ok(await planner.get(LINES, params=params))
        return page

    assert numbers(await listed(business_unit="PRINT")) == ["SO-3", "SO-7", "SO-4"]
    acme = await listed(customer="ACME")
    assert numbers(acme) == ["SO-1", "SO-3", "SO-7", "SO-5"]
    assert {k: v for k, v in acme["counts"].items() if v} == {
        "ready_to_ship": 1,
        "full_production": 1,
        "partial_production": 1,
        "critical_shortage": 1,
    }
    assert numbers(await listed(due_year=2026, due_month=12)) == ["SO-3", "SO-7"]
    assert numbers(await listed(due_year=2026, due_month=11)) == ["SO-6", "SO-1", "SO-2", "SO-8"]
    assert numbers(await listed(due_year=2027)) == ["SO-4"]
    assert numbers(await listed(no_due_date="true")) == ["SO-5"]
    # Statuses combine; the counts ignore the status filter (each chip says what it would list).
    critical = await listed(status=["critical_shortage", "ready_to_ship"], customer="ACME")
    assert numbers(critical) == ["SO-1", "SO-5"]
    assert critical["counts"]["partial_production"] == 1
    assert numbers(await listed(q="bolt")) == ["SO-6", "SO-2", "SO-8", "SO-4"]
    assert numbers(await listed(sku="CUP", sort="-due_date")) == ["SO-7", "SO-8", "SO-6"]
    paged = await listed(limit=2, offset=2)
    assert (numbers(paged), paged["total"]) == (["SO-2", "SO-8"], 8)


async def test_bad_filters_are_refused_naming_the_parameter(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    the_plant(plan)
    refused(await planner.get(LINES, params={"due_month": 12}), 422, "query.due_year")
    refused(await planner.get(LINES, params={"due_year": 2026, "due_month": 13}), 422)
    refused(
        await planner.get(LINES, params={"due_year": 2026, "no_due_date": "true"}),
        422,
        "query.no_due_date",
    )
    refused(await planner.get(LINES, params={"status": "lost"}), 422, "query.status.0")
    refused(await planner.get(LINES, params={"sort": "price"}), 422, "query.sort")
    refused(await planner.get(f"{LINES}/SO-1/0"), 422, "path.line_no")


async def test_a_tooltip_lists_what_earlier_orders_took_a_line_per_sales_order(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    the_plant(plan)
    # SO-4 comes after SO-3, which took 90 screws (40 in stock, 50 of the 60 on order).
    screws = ok(await planner.get(f"{LINES}/SO-4/1/components/SCREW/taken"))
    assert screws["total"] == "90.0000"
    assert screws["lines"] == [
        {
            "rank": 5,
            "so_number": "SO-3",
            "line_no": 1,
            "customer_name": "Customer ACME",
            "qty": "90.0000",
        }
    ]
    # The component row says the same total.
    line = ok(await planner.get(f"{LINES}/SO-4/1"))
    assert next(c for c in line["components"] if c["sku"] == "SCREW")["taken_before"] == "90.0000"
    # The finished good itself: SO-1 took 25 brackets, SO-2 the last 5 and the 10 in QC.
    brackets = ok(await planner.get(f"{LINES}/SO-4/1/components/BRKT/taken"))
    assert [(t["so_number"], t["qty"]) for t in brackets["lines"]] == [
        ("SO-1", "25.0000"),
        ("SO-2", "15.0000"),
    ]
    assert brackets["total"] == "40.0000"
    # The first line served: nobody took anything before it.
    first = ok(await planner.get(f"{LINES}/SO-6/1/components/RESIN/taken"))
    assert (first["total"], first["lines"]) == ("0.0000", [])
    # A later line took resin, but after SO-8: not listed for SO-8.
    resin = ok(await planner.get(f"{LINES}/SO-8/1/components/RESIN/taken"))
    assert [(t["so_number"], t["qty"]) for t in resin["lines"]] == [("SO-6", "12.0000")]


async def test_unknown_lines_and_components_are_404_naming_them(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    refused(await planner.get(f"{LINES}/SO-1/1"), 404)  # no run yet
    assert ok(await planner.get(LINES))["run"] is None
    the_plant(plan)
    body = refused(await planner.get(f"{LINES}/SO-404/1/components/SCREW/taken"), 404, "so_number")
    assert "SO-404" in body["detail"]
    refused(await planner.get(f"{LINES}/SO-1/2"), 404, "so_number")
    body = refused(await planner.get(f"{LINES}/SO-4/1/components/RESIN/taken"), 404, "sku")
    assert "RESIN" in body["detail"]


async def test_the_workbook_holds_the_filtered_lines_and_their_components(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    the_plant(plan)
    answer = await planner.get(f"{LINES}.xlsx", params={"business_unit": "PRINT"})
    assert answer.status_code == 200, answer.text
    book = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    assert book.sheetnames == ["MRP lines", "Components"]
    lines = list(book["MRP lines"].iter_rows(values_only=True))
    assert lines[0][:3] == ("Rank", "Sales order", "Line")
    assert [row[1] for row in lines[1:]] == ["SO-3", "SO-7", "SO-4"]
    assert lines[1][18] == "Partial Production Ready - [PLA, SCREW]"
    assert lines[1][13] == 60  # needed
    components = list(book["Components"].iter_rows(values_only=True))
    assert components[0][:4] == ("Sales order", "Line", "SKU", "Component")
    rows = {(row[0], row[3], row[5]): row for row in components[1:]}
    assert {number for number, _sku, _level in rows} == {"SO-3", "SO-7", "SO-4"}
    assert rows[("SO-3", "SCREW", 1)][6:9] == (120, 90, 20)
    assert rows[("SO-3", "PLA", 2)][8] == 7.5
    assert rows[("SO-3", "LABEL", 1)][10] == "Yes"
    # In Spanish, the sheet and column names too.
    spanish = await planner.get(f"{LINES}.xlsx", headers={"Accept-Language": "es"})
    book = openpyxl.load_workbook(io.BytesIO(spanish.content), read_only=True)
    assert book.sheetnames == ["Líneas del MRP", "Componentes"]


async def test_the_forecast_splits_each_month_into_likely_and_at_risk(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    """Worked by hand (10 a unit):
    Nov: SO-6 4 covered + 6 Partial Ship's production part at risk; SO-1 25 and SO-2 15 likely;
         SO-8 50 Full Production Ready but finished 30 Nov, after its due date: at risk.
         Likely 44 (440), at risk 56 (560).
    Dec: SO-3 60 only partly makeable: at risk; SO-7 30 ready by 3 Dec, due 20 Dec: likely.
    Jan 2027: SO-4 10 at risk.  No due date: SO-5 5 at risk."""
    the_plant(plan)
    result = ok(await planner.get("/api/v1/mrp/forecast"))
    figures = [
        (m["month"], m["lines"], m["likely_qty"], m["likely_value"], m["at_risk_qty"])
        for m in result["months"]
    ]
    assert figures == [
        ("2026-11", 4, "44.0000", "440.0000", "56.0000"),
        ("2026-12", 2, "30.0000", "300.0000", "60.0000"),
        ("2027-01", 1, "0.0000", "0.0000", "10.0000"),
        (None, 1, "0.0000", "0.0000", "5.0000"),
    ]
    assert [m["at_risk_value"] for m in result["months"]] == [
        "560.0000",
        "600.0000",
        "100.0000",
        "50.0000",
    ]
    total = result["total"]
    assert (total["lines"], total["likely_value"], total["at_risk_value"]) == (
        8,
        "740.0000",
        "1310.0000",
    )
    acme = ok(await planner.get("/api/v1/mrp/forecast", params={"customer": "ACME"}))
    assert [(m["month"], m["likely_qty"]) for m in acme["months"]] == [
        ("2026-11", "25.0000"),
        ("2026-12", "30.0000"),
        (None, "0.0000"),
    ]
    answer = await planner.get("/api/v1/mrp/forecast.xlsx")
    rows = list(
        openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True).active.iter_rows(
            values_only=True
        )
    )
    assert rows[1] == ("2026-11", 4, 44, 440, 56, 560)
    assert rows[-1] == ("Total", 8, 74, 740, 131, 1310)


async def test_a_planner_runs_the_mrp_and_reads_the_summary(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    refused(await planner.get("/api/v1/mrp/runs/latest"), 404)
    the_plant(plan)
    run = ok(await planner.post("/api/v1/mrp/runs"), 201)
    assert run["requested_by"] == "pia"
    assert run["order_lines"] == 8
    assert sum(run["counts"].values()) == 8
    assert run["settings"]["use_score"] is False
    assert run["total_ms"] >= run["engine_ms"] >= 0
    assert ok(await planner.get("/api/v1/mrp/runs/latest"))["id"] == run["id"]
    assert plan.events("AuditRecorded")[-1].payload["action"] == "mrp.runs.run"
    async with plan.client("viewer") as viewer:
        refused(await viewer.post("/api/v1/mrp/runs"), 403)
        assert ok(await viewer.get(LINES))["total"] == 8


async def test_priority_settings_are_saved_once_per_version_and_order_the_next_run(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    the_plant(plan)
    settings = ok(await planner.get("/api/v1/mrp/priority"))
    assert settings == {
        "use_score": False,
        "weight_customer": "1.0000",
        "weight_value": "1.0000",
        "weight_due": "1.0000",
        "weight_penalty": "1.0000",
        "horizon_days": 60,
        "version": 0,
        "updated_by": None,
        "updated_at": None,
    }
    change = {
        "use_score": True,
        "weight_customer": "100",
        "weight_value": "0",
        "weight_due": "0",
        "weight_penalty": "0",
        "horizon_days": 30,
        "version": 0,
    }
    saved = ok(await planner.put("/api/v1/mrp/priority", json=change))
    assert (saved["version"], saved["updated_by"], saved["weight_customer"]) == (
        1,
        "pia",
        "100.0000",
    )
    # Another planner who read version 0 is refused, and nothing changes.
    before = plan.row_counts()
    stale = refused(
        await planner.put("/api/v1/mrp/priority", json={**change, "weight_due": "5"}),
        409,
        "version",
    )
    assert stale["code"] == "concurrent_change"
    assert plan.row_counts() == before
    assert ok(await planner.get("/api/v1/mrp/priority"))["weight_due"] == "0.0000"
    # The next run puts ACME (priority 1) first: score 100 against BOLT's 40.
    ok(await planner.post("/api/v1/mrp/runs"), 201)
    page = ok(await planner.get(LINES))
    assert page["run"]["ordering"] == "score"
    assert numbers(page)[:4] == ["SO-1", "SO-3", "SO-7", "SO-5"]
    assert page["items"][0]["score"] == "100.0000"
    assert page["items"][0]["score_parts"]["customer"] == "1.0000"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weight_value": "100.0001"}, "weight_value"),
        ({"weight_due": "-1"}, "weight_due"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": 366}, "horizon_days"),
        ({"weight_penalty": "abc"}, "weight_penalty"),
        ({"version": -1}, "version"),
        (
            {
                "use_score": True,
                "weight_customer": "0",
                "weight_value": "0",
                "weight_due": "0",
                "weight_penalty": "0",
            },
            "weight_customer",
        ),
    ],
)
async def test_priority_weights_out_of_range_are_refused_naming_the_field(
    plan: MrpPlan, planner: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    good = {
        "use_score": False,
        "weight_customer": "1",
        "weight_value": "1",
        "weight_due": "1",
        "weight_penalty": "1",
        "horizon_days": 60,
        "version": 0,
    }
    before = plan.row_counts()
    refused(await planner.put("/api/v1/mrp/priority", json={**good, **change}), 422, field)
    assert plan.row_counts() == before
    async with plan.client("operator") as operator:
        refused(await operator.put("/api/v1/mrp/priority", json=good), 403)
    assert plan.row_counts() == before


async def test_a_job_is_refused_for_a_line_production_cannot_start_and_nothing_is_kept(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    the_plant(plan)
    before = plan.row_counts()
    body = refused(await planner.post(f"{LINES}/SO-1/1/job"), 409, "status")
    assert body["code"] == "not_production"
    assert "SO-1" in body["detail"] and "Ready to Ship" in body["detail"]
    refused(await planner.post(f"{LINES}/SO-4/1/job"), 409, "status")  # nothing can be made
    refused(await planner.post(f"{LINES}/SO-404/1/job"), 404, "so_number")
    refused(await planner.post(f"{LINES}/SO-3/1/job", json={"qty": "61"}), 422, "qty")
    refused(await planner.post(f"{LINES}/SO-3/1/job", json={"qty": "0"}), 422, "qty")
    # Production cannot be reached from this lone service: the claim is let go, not kept.
    unreachable = refused(await planner.post(f"{LINES}/SO-3/1/job"), 503)
    assert unreachable["code"] == "no_peer"
    assert plan.row_counts() == before
    async with plan.client("viewer") as viewer:
        refused(await viewer.post(f"{LINES}/SO-3/1/job"), 403)


async def test_purchases_are_refused_for_a_line_short_of_nothing_we_buy(
    plan: MrpPlan, planner: httpx.AsyncClient
) -> None:
    the_plant(plan)
    before = plan.row_counts()
    body = refused(await planner.post(f"{LINES}/SO-7/1/purchases"), 409, "line_no")
    assert body["code"] == "nothing_short"
    # Lines short of nothing: nothing is asked, nothing is kept.
    shown = {"customer": "BOLT", "due_year": 2026}  # SO-6, SO-2, SO-8: short of nothing
    nothing = ok(await planner.post("/api/v1/mrp/purchases", json=shown), 201)
    assert (nothing["asked"], nothing["orders"], nothing["skipped"]) == ([], [], [])
    assert plan.row_counts()["mrp_actions"] == before["mrp_actions"]
    refused(await planner.post("/api/v1/mrp/purchases", json={"due_month": 3}), 422, "due_year")


def test_a_full_production_line_finished_on_its_due_day_is_likely_one_day_later_at_risk() -> None:
    """The forecast's rule at its edge: on or before the due date is in time."""
    due = date(2026, 12, 4)

    def line(status: str, earliest: date | None, **qty: str) -> MrpLineResult:
        figures = {"qty_open": "20", "qty_needed": "20", **qty}
        return MrpLineResult(
            status=status,
            due_date=due,
            earliest_date=earliest,
            **{name: D(value) for name, value in figures.items()},
        )

    def split(row: MrpLineResult) -> tuple[Decimal, Decimal]:
        share = forecast.split(row)
        return share.likely_qty, share.at_risk_qty

    assert split(line("full_production", due)) == (D(20), D(0))
    assert split(line("full_production", date(2026, 12, 5))) == (D(0), D(20))
    assert split(line("full_production", None)) == (D(0), D(20))  # no able line
    # Partly made: only what stock, QC and jobs cover is likely, however early the line.
    assert split(line("partial_production", due, qty_needed="15")) == (D(5), D(15))
    assert split(line("partial_ship", due, qty_needed="6")) == (D(14), D(6))
    assert split(line("ready_to_ship", None, qty_needed="0")) == (D(20), D(0))
