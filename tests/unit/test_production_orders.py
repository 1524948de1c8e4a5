"""Production orders on the floor, through production's API (SQLite, a fake inventory that
answers reservations): the partial-QC story of issue 6 with its reprint chain, starts refused
and allowed on short material, double starts, orders whose item needs no QC, cancelling, the
queue's filters and export, and bad input that changes nothing.

Material: a widget takes 0.25 kg of PLA and one box (tests/support/production_floor.py).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from tests.support.production_floor import BOX, KEYRING, PLA, WIDGET, Floor, production_floor

ORDERS = "/api/v1/production-orders"


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    async with production_floor(tmp_path) as floor:
        yield floor


@pytest.fixture
async def api(floor: Floor) -> AsyncIterator[httpx.AsyncClient]:
    async with floor.client("supervisor", user="sam") as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(await api.post(ORDERS, json={"sku": WIDGET, **fields}), 201)
    return body


async def start(api: httpx.AsyncClient, code: str, **body: Any) -> httpx.Response:
    return await api.post(f"{ORDERS}/{code}/start", json=body)


async def run(api: httpx.AsyncClient, code: str, good: str, bad: str = "0", **more: Any) -> Any:
    return ok(
        await api.post(f"{ORDERS}/{code}/runs", json={"qty_good": good, "qty_bad": bad, **more}),
        201,
    )


async def qc(api: httpx.AsyncClient, code: str, passed: str, failed: str = "0", **more: Any) -> Any:
    return ok(
        await api.post(
            f"{ORDERS}/{code}/qc", json={"qty_passed": passed, "qty_failed": failed, **more}
        ),
        201,
    )


def amounts(body: dict[str, Any], *names: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(body[name]) for name in names)


# --- the partial-QC story -------------------------------------------------------------------


async def test_partial_qc_reprints_the_shortfall_and_every_reprint_links_to_the_root(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    # A sales order line of 10; the order prints 12 (an overprint allowance of 2).
    root = await create(
        api, qty_ordered="10", qty_to_make="12", so_number="SO-2026-00007", so_line_no=1
    )
    code = root["code"]
    assert code.startswith("PRD-") and len(code) == len("PRD-2026-00001")
    assert (root["order_type"], root["status"], root["requires_qc"]) == ("mto", "draft", True)
    assert root["bom_version"] == 1 and root["root_order_code"] is None

    started = ok(await start(api, code))
    assert started["status"] == "in_progress" and started["shortages"] == []
    # Inventory was asked for the BOM exploded for 12: 3 kg of PLA and 12 boxes.
    [reservation] = floor.inventory.reservation_calls()
    assert reservation["reference_type"] == "production_order"
    assert reservation["reference"] == code
    assert {line["sku"]: Decimal(line["qty"]) for line in reservation["lines"]} == {
        PLA: Decimal(3),
        BOX: Decimal(12),
    }
    [started_event] = floor.events("ProductionStarted", code)
    assert {c["sku"]: Decimal(c["qty"]) for c in started_event.payload["components"]} == {
        PLA: Decimal(3),
        BOX: Decimal(12),
    }
    assert started_event.payload["so_line_no"] == 1

    # The run: 10 good, 2 bad (adhesion), the final run: the order is printed.
    printed = await run(api, code, "10", "2", scrap_reason_code="ADHESION")
    assert printed["run_id"] == f"{code}-R1"
    assert printed["order"]["status"] == "printed"
    assert amounts(printed["order"], "qty_good", "qty_bad", "qty_awaiting_qc") == (10, 2, 10)
    [print_event] = floor.events("PrintCompleted", code)
    assert print_event.payload["scrap_reason_code"] == "ADHESION"
    assert print_event.payload["final_run"] is True and print_event.payload["requires_qc"] is True

    # QC passes 8 and fails 2 (surface defects): completed, and a reprint of 10 - 8 = 2.
    inspected = await qc(api, code, "8", "2", reason_code="SURFACE")
    assert inspected["qc_record_id"] == f"{code}-QC1"
    assert inspected["order"]["status"] == "completed"
    assert amounts(inspected["order"], "qty_passed", "qty_failed", "qty_scrapped") == (8, 2, 4)
    first = inspected["reprint"]
    assert first["code"] == inspected["reprint_order_code"]
    assert (first["reprint_of"], first["root_order_code"], first["reprint_seq"]) == (code, code, 1)
    assert amounts(first, "qty_ordered", "qty_to_make") == (2, 2)
    assert (first["priority"], first["status"], first["reprint_reason"]) == (
        "high",
        "draft",
        "SURFACE",
    )
    assert (first["so_number"], first["so_line_no"], first["order_type"]) == (
        "SO-2026-00007",
        1,
        "mto",
    )
    [qc_event] = floor.events("QCPassed", code)
    assert qc_event.payload["reprint_order_code"] == first["code"]
    [reprint_event] = floor.events("ReprintCreated", first["code"])
    assert reprint_event.payload["original_order_code"] == code
    assert reprint_event.payload["root_order_code"] == code
    assert Decimal(reprint_event.payload["qty"]) == 2
    # The reprint is published like any order: the planner's queue and mrp learn of it.
    assert floor.events("ProductionOrderChanged", first["code"])

    # QC again on the completed root is refused: never a second reprint of the same shortfall.
    again = await api.post(f"{ORDERS}/{code}/qc", json={"qty_passed": "1"})
    assert again.status_code == 409 and again.json()["code"] == "not_printed"

    # The reprint of 2 prints 2 good; QC passes 1, fails 1: a reprint of the reprint, of 1,
    # still linked to the ROOT, second in the chain.
    ok(await start(api, first["code"]))
    await run(api, first["code"], "2")
    second = (await qc(api, first["code"], "1", "1", reason_code="SURFACE"))["reprint"]
    assert (second["reprint_of"], second["root_order_code"], second["reprint_seq"]) == (
        first["code"],
        code,
        2,
    )
    assert Decimal(second["qty_ordered"]) == 1

    # The last one prints 1 good and passes it: nothing more to reprint.
    ok(await start(api, second["code"]))
    await run(api, second["code"], "1")
    last = await qc(api, second["code"], "1")
    assert last["reprint"] is None and last["reprint_order_code"] is None

    # The chain, asked from any of its orders. By hand: printed 12 + 2 + 1 = 15; passed
    # 8 + 1 + 1 = 10; scrapped (2 bad + 2 failed) + 1 failed = 5; yield 10 / 15 = 0.6667.
    for member in (code, first["code"], second["code"]):
        history = ok(await api.get(f"{ORDERS}/{member}/reprint-history"))
        assert history["root_order_code"] == code
        assert [o["code"] for o in history["orders"]] == [code, first["code"], second["code"]]
        assert [o["reprint_seq"] for o in history["orders"]] == [0, 1, 2]
        assert [o["status"] for o in history["orders"]] == ["completed"] * 3
        totals = history["totals"]
        assert totals["orders_in_chain"] == 3
        assert amounts(totals, "qty_ordered", "qty_printed", "qty_completed", "qty_scrapped") == (
            10,
            15,
            10,
            5,
        )
        assert totals["effective_yield"] == "0.6667"

    # The queue lists the reprints of the root.
    reprints = ok(await api.get(ORDERS, params={"root_order_code": code, "sort": "code"}))
    assert [o["code"] for o in reprints["items"]] == [first["code"], second["code"]]


async def test_partial_qc_in_two_decisions_reprints_once_when_all_is_inspected(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    code = (await create(api, qty_ordered="10"))["code"]
    ok(await start(api, code))
    await run(api, code, "6", final_run=False)
    middle = await run(api, code, "4", "1", scrap_reason_code="WARPING")
    assert [r["run_id"] for r in middle["order"]["runs"]] == [f"{code}-R1", f"{code}-R2"]

    partial = await qc(api, code, "5", "1", reason_code="COLOUR")
    assert partial["order"]["status"] == "printed" and partial["reprint"] is None
    assert Decimal(partial["order"]["qty_awaiting_qc"]) == 4
    rest = await qc(api, code, "4")
    # Passed 9 of 10 ordered: one reprint of 1, for the last failure (colour).
    assert rest["order"]["status"] == "completed"
    assert Decimal(rest["reprint"]["qty_ordered"]) == 1
    assert rest["reprint"]["reprint_reason"] == "COLOUR"
    assert len(floor.events("ReprintCreated")) == 1


async def test_qc_without_reprint_completes_the_order_and_reprints_nothing(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    code = (await create(api, qty_ordered="3"))["code"]
    ok(await start(api, code))
    await run(api, code, "3")
    done = await qc(api, code, "2", "1", reason_code="DIM-OOT", reprint=False)
    assert done["order"]["status"] == "completed" and done["reprint"] is None
    assert floor.events("ReprintCreated") == []


# --- start ----------------------------------------------------------------------------------


async def test_start_short_of_material_is_refused_with_the_shortages_and_changes_nothing(
    tmp_path: Path,
) -> None:
    # 2 kg of PLA; 12 widgets need 3.
    async with (
        production_floor(tmp_path, {PLA: Decimal(2), BOX: Decimal(100)}) as floor,
        floor.client("operator", user="olga") as operator,
    ):
        async with floor.client("planner", user="pat") as planner:
            code = (await create(planner, qty_ordered="12"))["code"]
        before = floor.row_counts()
        refused = await start(operator, code)
        assert refused.status_code == 409
        problem = refused.json()
        assert problem["code"] == "insufficient_stock"
        assert problem["shortages"] == [
            {"sku": PLA, "qty_required": "3.0000", "qty_available": "2", "qty_short": "1.0000"}
        ]
        assert floor.row_counts() == before
        assert ok(await operator.get(f"{ORDERS}/{code}"))["status"] == "draft"

        # Started anyway: the shortage is kept on the order; ProductionStarted lists the whole
        # requirement and inventory issues what the reservation holds of it.
        started = ok(await start(operator, code, allow_insufficient=True))
        assert started["status"] == "in_progress"
        assert started["shortages"] == [
            {
                "sku": PLA,
                "qty_required": "3.0000",
                "qty_available": "2.0000",
                "qty_short": "1.0000",
            }
        ]
        [event] = floor.events("ProductionStarted", code)
        assert {c["sku"]: Decimal(c["qty"]) for c in event.payload["components"]} == {
            PLA: Decimal(3),
            BOX: Decimal(12),
        }
        [changed] = floor.events("ProductionOrderChanged", code)[-1:]
        assert changed.payload["shortages"][0]["sku"] == PLA
        assert floor.inventory.reservation_calls()[-1]["allow_insufficient"] is True


async def test_starting_twice_starts_once(floor: Floor, api: httpx.AsyncClient) -> None:
    code = (await create(api, qty_ordered="4"))["code"]
    first = ok(await start(api, code))
    second = ok(await start(api, code))
    assert second["status"] == "in_progress" and second["started_at"] == first["started_at"]
    assert len(floor.events("ProductionStarted", code)) == 1
    # The second start did not even ask inventory again.
    assert len(floor.inventory.reservation_calls()) == 1


async def test_start_with_nothing_in_stock_at_all_starts_with_allow_insufficient(
    tmp_path: Path,
) -> None:
    async with production_floor(tmp_path, {}) as floor, floor.client("supervisor") as api:
        code = (await create(api, qty_ordered="1"))["code"]
        refused = await start(api, code)
        assert refused.status_code == 409, refused.text
        assert ok(await api.get(f"{ORDERS}/{code}"))["status"] == "draft"
        started = ok(await start(api, code, allow_insufficient=True))
        assert started["status"] == "in_progress"
        assert {s["sku"] for s in started["shortages"]} == {PLA, BOX}
        [event] = floor.events("ProductionStarted", code)
        assert {c["sku"] for c in event.payload["components"]} == {PLA, BOX}


async def test_a_start_refused_after_reserving_gives_the_reservation_back(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    # The tablet reuses the Idempotency-Key of another order's start: refused, and what was
    # reserved for the second order on the way is released, not left holding stock.
    first = (await create(api, qty_ordered="1"))["code"]
    second = (await create(api, qty_ordered="1"))["code"]
    key = {"Idempotency-Key": "start-button-1"}
    ok(await api.post(f"{ORDERS}/{first}/start", json={}, headers=key))
    refused = await api.post(f"{ORDERS}/{second}/start", json={}, headers=key)
    assert refused.status_code == 422 and refused.json()["field"] == "Idempotency-Key"
    assert ok(await api.get(f"{ORDERS}/{second}"))["status"] == "draft"
    assert floor.inventory.calls[-1][:2] == (
        "DELETE",
        f"/api/v1/reservations/production_order/{second}",
    )
    assert second not in floor.inventory.reservations


async def test_start_when_inventory_is_down_is_a_503_and_changes_nothing(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    code = (await create(api, qty_ordered="1"))["code"]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    floor.runtime.app.state.upstreams["inventory"] = httpx.AsyncClient(
        transport=httpx.MockTransport(down), base_url="http://inventory"
    )
    before = floor.row_counts()
    response = await start(api, code)
    assert response.status_code == 503 and response.json()["code"] == "peer_unavailable"
    assert floor.row_counts() == before


async def test_a_command_repeated_with_its_idempotency_key_counts_once(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    code = (await create(api, qty_ordered="5"))["code"]
    ok(await start(api, code))
    headers = {"Idempotency-Key": "run-1-tablet-7"}
    body = {"qty_good": "2", "final_run": False}
    first = await api.post(f"{ORDERS}/{code}/runs", json=body, headers=headers)
    again = await api.post(f"{ORDERS}/{code}/runs", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert len(floor.events("PrintCompleted", code)) == 1
    assert Decimal(ok(await api.get(f"{ORDERS}/{code}"))["qty_good"]) == 2


# --- no QC, cancel, schedule ----------------------------------------------------------------


async def test_an_item_without_qc_completes_at_its_final_run_and_refuses_qc(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    code = (await create(api, sku=KEYRING, qty_ordered="50"))["code"]
    ok(await start(api, code))
    done = await run(api, code, "48", "2", scrap_reason_code="WARPING")
    order = done["order"]
    assert order["requires_qc"] is False and order["status"] == "completed"
    # Its good output went straight to FG: accepted as passed, nothing awaits QC; the 2 short
    # of the 50 ordered are reprinted at once, for the reason they were scrapped.
    assert amounts(order, "qty_passed", "qty_awaiting_qc", "qty_scrapped") == (48, 0, 2)
    reprint = done["reprint"]
    assert (reprint["reprint_of"], reprint["root_order_code"], reprint["reprint_seq"]) == (
        code,
        code,
        1,
    )
    assert (Decimal(reprint["qty_ordered"]), reprint["reprint_reason"]) == (2, "WARPING")
    [event] = floor.events("PrintCompleted", code)
    assert event.payload["requires_qc"] is False
    [created] = floor.events("ReprintCreated", reprint["code"])
    assert created.payload["qc_record_id"] is None
    before = floor.row_counts()
    refused = await api.post(f"{ORDERS}/{code}/qc", json={"qty_passed": "1"})
    assert refused.status_code == 409 and refused.json()["code"] == "qc_not_required"
    assert "needs no QC" in refused.json()["detail"]
    assert floor.row_counts() == before


async def test_a_final_run_with_no_good_unit_completes_the_order_and_reprints_it_all(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    code = (await create(api, qty_ordered="4"))["code"]
    ok(await start(api, code))
    done = await run(api, code, "0", "4", scrap_reason_code="NOZZLE-CLOG")
    # Nothing printed good, so nothing waits for QC: the order does not sit in "printed".
    assert done["order"]["status"] == "completed"
    assert (Decimal(done["reprint"]["qty_ordered"]), done["reprint"]["reprint_reason"]) == (
        4,
        "NOZZLE-CLOG",
    )
    # Unless the operator says the shortfall is not to be reprinted.
    other = (await create(api, qty_ordered="4"))["code"]
    ok(await start(api, other))
    kept = await run(api, other, "0", "4", scrap_reason_code="NOZZLE-CLOG", reprint=False)
    assert kept["order"]["status"] == "completed" and kept["reprint"] is None
    assert len(floor.events("ReprintCreated")) == 1


async def test_schedule_then_cancel_publishes_each_change_and_a_printed_order_stays(
    floor: Floor, api: httpx.AsyncClient
) -> None:
    code = (await create(api, qty_ordered="2"))["code"]
    scheduled = ok(
        await api.post(
            f"{ORDERS}/{code}/schedule",
            json={"line_code": "P-07", "planned_start": "2026-12-01T06:00:00Z"},
        )
    )
    assert (scheduled["status"], scheduled["line_code"]) == ("scheduled", "P-07")
    ok(await start(api, code))
    cancelled = ok(await api.post(f"{ORDERS}/{code}/cancel", json={"reason": "Customer cancelled"}))
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "Customer cancelled")
    statuses = [e.payload["status"] for e in floor.events("ProductionOrderChanged", code)]
    assert statuses == ["draft", "scheduled", "in_progress", "cancelled"]
    assert all(e.version == 2 for e in floor.events("ProductionOrderChanged", code))

    printed = (await create(api, qty_ordered="1"))["code"]
    ok(await start(api, printed))
    await run(api, printed, "1")
    refused = await api.post(f"{ORDERS}/{printed}/cancel", json={"reason": "too late"})
    assert refused.status_code == 409 and refused.json()["code"] == "order_transition"


async def test_the_queue_filters_sorts_and_exports(floor: Floor, api: httpx.AsyncClient) -> None:
    low = (await create(api, qty_ordered="1", priority="low", line_code="P-01"))["code"]
    urgent = (await create(api, qty_ordered="2", priority="urgent", line_code="P-02"))["code"]
    made = (await create(api, qty_ordered="3", so_number="SO-2026-00003", so_line_no=2))["code"]
    ok(await start(api, made))

    by_urgency = ok(await api.get(ORDERS, params={"sort": "-priority"}))
    assert [o["code"] for o in by_urgency["items"]][:1] == [urgent]
    assert by_urgency["total"] == 3 and by_urgency["items"][0]["item_name"] == "Widget, white"
    open_queue = ok(await api.get(ORDERS, params=[("status", "draft"), ("status", "scheduled")]))
    assert {o["code"] for o in open_queue["items"]} == {low, urgent}
    assert [
        o["code"] for o in ok(await api.get(ORDERS, params={"line_code": "P-01"}))["items"]
    ] == [low]
    assert [
        o["code"] for o in ok(await api.get(ORDERS, params={"so_number": "SO-2026-00003"}))["items"]
    ] == [made]
    assert ok(await api.get(ORDERS, params={"sku": "NOPE"}))["total"] == 0
    refused = await api.get(ORDERS, params={"sort": "colour"})
    assert refused.status_code == 422 and refused.json()["field"] == "query.sort"

    export = await api.get(f"{ORDERS}.xlsx", params={"sort": "code"})
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Order", "SKU", "Item")
    assert [row[0] for row in rows[1:]] == sorted([low, urgent, made])


async def test_roles_decide_who_creates_starts_and_inspects(floor: Floor) -> None:
    async with floor.client("viewer", user="vic") as viewer:
        refused = await viewer.post(ORDERS, json={"sku": WIDGET, "qty_ordered": "1"})
        assert refused.status_code == 403
    async with floor.client("planner", user="pat") as planner:
        code = (await create(planner, qty_ordered="1"))["code"]
        assert (await start(planner, code)).status_code == 403
    async with floor.client("operator", user="olga") as operator:
        ok(await start(operator, code))
        await run(operator, code, "1")
        assert (
            await operator.post(f"{ORDERS}/{code}/qc", json={"qty_passed": "1"})
        ).status_code == 403
    async with floor.client("quality", user="quinn") as quality:
        inspected = await qc(quality, code, "1")
        assert inspected["inspected_by"] == "quinn"


# --- bad input: a 4xx problem naming the field, and nothing changed --------------------------


async def _order_in(api: httpx.AsyncClient, status: str) -> str:
    code: str = (await create(api, qty_ordered="10"))["code"]
    if status in ("in_progress", "printed"):
        ok(await start(api, code))
    if status == "printed":
        await run(api, code, "8", "2", scrap_reason_code="ADHESION")
    return code


BAD_INPUT = [
    # (what, order status needed or None, path under the order or None, body, status, field)
    ("unknown product", None, None, {"sku": "NO-SUCH", "qty_ordered": "1"}, 422, "sku"),
    ("inactive product", None, None, {"sku": "OLD-WIDGET", "qty_ordered": "1"}, 422, "sku"),
    ("no released BOM", None, None, {"sku": "GADGET", "qty_ordered": "1"}, 409, "sku"),
    (
        "less to make than ordered",
        None,
        None,
        {"sku": WIDGET, "qty_ordered": "10", "qty_to_make": "9"},
        422,
        "qty_to_make",
    ),
    (
        "make-to-order without its line",
        None,
        None,
        {"sku": WIDGET, "qty_ordered": "1", "so_number": "SO-2026-00001"},
        422,
        "so_line_no",
    ),
    ("zero ordered", None, None, {"sku": WIDGET, "qty_ordered": "0"}, 422, "qty_ordered"),
    (
        "passed + failed above the good printed",
        "printed",
        "qc",
        {"qty_passed": "7", "qty_failed": "2", "reason_code": "SURFACE"},
        422,
        "qty_passed",
    ),
    ("QC on an order that has not run", "in_progress", "qc", {"qty_passed": "1"}, 409, "status"),
    ("QC on a draft", "draft", "qc", {"qty_passed": "1"}, 409, "status"),
    ("run on a draft order", "draft", "runs", {"qty_good": "1"}, 409, "status"),
    ("run on a printed order", "printed", "runs", {"qty_good": "1"}, 409, "status"),
    (
        "bad units without a scrap code",
        "in_progress",
        "runs",
        {"qty_good": "1", "qty_bad": "1"},
        422,
        "scrap_reason_code",
    ),
    (
        "unknown scrap code",
        "in_progress",
        "runs",
        {"qty_good": "1", "qty_bad": "1", "scrap_reason_code": "GREMLINS"},
        422,
        "scrap_reason_code",
    ),
    (
        "deactivated scrap code",
        "in_progress",
        "runs",
        {"qty_good": "1", "qty_bad": "1", "scrap_reason_code": "SETUP"},
        422,
        "scrap_reason_code",
    ),
    ("a run of nothing", "in_progress", "runs", {"qty_good": "0"}, 422, "qty_good"),
    (
        "failed without a reason",
        "printed",
        "qc",
        {"qty_passed": "1", "qty_failed": "1"},
        422,
        "reason_code",
    ),
    ("cancel without a reason", "draft", "cancel", {}, 422, "reason"),
    ("start a cancelled order", "cancelled", "start", {}, 409, "status"),
]


@pytest.mark.parametrize(
    ("status", "path", "body", "expected", "field"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    floor: Floor,
    api: httpx.AsyncClient,
    status: str | None,
    path: str | None,
    body: dict[str, Any],
    expected: int,
    field: str,
) -> None:
    async with floor.client("admin", user="ada") as admin:
        ok(await admin.post("/api/v1/scrap-codes/SETUP/deactivate"))
    url = ORDERS
    if status is not None:
        code = await _order_in(api, status)
        if status == "cancelled":
            ok(await api.post(f"{ORDERS}/{code}/cancel", json={"reason": "not needed"}))
        url = f"{ORDERS}/{code}/{path}"
    before = floor.row_counts()
    response = await api.post(url, json=body)
    assert response.status_code == expected, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    named = problem.get("field") or ""
    assert named == field or named.endswith(f".{field}"), problem
    assert problem["detail"]
    assert floor.row_counts() == before


async def test_no_released_bom_says_so(api: httpx.AsyncClient) -> None:
    refused = await api.post(ORDERS, json={"sku": "GADGET", "qty_ordered": "1"})
    assert refused.json()["code"] == "no_released_bom"


async def test_an_unknown_order_is_a_404(api: httpx.AsyncClient) -> None:
    for response in (
        await api.get(f"{ORDERS}/PRD-2026-99999"),
        await api.get(f"{ORDERS}/PRD-2026-99999/reprint-history"),
        await api.post(f"{ORDERS}/PRD-2026-99999/start", json={}),
        await api.post(f"{ORDERS}/PRD-2026-99999/runs", json={"qty_good": "1"}),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["field"] == "code"


async def test_problems_speak_spanish_to_a_spanish_user(floor: Floor) -> None:
    async with floor.client("supervisor", language="es") as api:
        code = (await create(api, qty_ordered="1"))["code"]
        refused = await api.post(f"{ORDERS}/{code}/runs", json={"qty_good": "1"})
        assert "en curso" in refused.json()["detail"]
