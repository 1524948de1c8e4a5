"""Lot genealogy, the recall questions, over a small plant told through the real handlers.

Two vendors deliver a lot each (resin R-7 from Acme, pigment P-3 from Colourco); production
order PRD-2026-00001 is started on them, prints 10 widgets (1 bad), QC passes 8 and fails 1;
five widgets are sold from stock to Bigco and shipped.
Then a bracket is made from another resin lot and goes into a second widget order, so the
questions also have to go through a sub-assembly. Inventory gets it all as events through its
real consumer (MaterialReceived, ProductionStarted, PrintCompleted, QCPassed, SalesOrderChanged),
as it would from purchasing, production and mrp; the shipment is the shipping use case; and the
questions are asked over its API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import httpx
import pytest

from services.inventory.reservations.service import Line, reserve
from services.inventory.schemas import ItemType, MakeOrBuy
from services.inventory.shipping.schemas import ShipmentCreate, ShipmentLineIn
from services.inventory.shipping.service import ship
from shared.auth.tokens import issue_service_token
from shared.events.catalogue import (
    ComponentRequirement,
    MaterialReceived,
    PrintCompleted,
    ProductionStarted,
    QCPassed,
    SalesOrderChanged,
    SalesOrderLine,
)
from shared.runtime import ServiceRuntime
from tests.support.stock import SECRET, add_item, deliver, envelope, inventory_runtime

D = Decimal
AT = datetime(2026, 3, 2, 7, tzinfo=UTC)
WIDGET_ORDER = "PRD-2026-00001"
BRACKET_ORDER = "PRD-2026-00002"
ASSEMBLY_ORDER = "PRD-2026-00003"
SALES_ORDER = "SO-2026-00001"
_receipts = count(1)
_events = count(1)


def delivered(runtime: ServiceRuntime, *payloads: Any) -> None:
    for payload in payloads:
        failures = deliver(runtime, envelope(payload, f"k-{next(_events)}"))
        assert not failures, failures[0].error


def received(
    runtime: ServiceRuntime, sku: str, qty: str, value: str, lot: str, vendor: str, po: str
) -> None:
    number = next(_receipts)
    delivered(
        runtime,
        MaterialReceived(
            po_number=po,
            line_no=1,
            receipt_id=f"RCV-{number}",
            sku=sku,
            qty=D(qty),
            unit_cost=(D(value) / D(qty)).quantize(D("0.0001")),
            value=D(value),
            lot=lot,
            to_status="approved",
            vendor_code=vendor,
            received_at=AT,
        ),
    )


def made(
    runtime: ServiceRuntime,
    order: str,
    sku: str,
    components: dict[str, tuple[str, str | None]],
    *,
    good: str,
    bad: str = "0",
    passed: str | None = None,
    failed: str = "0",
) -> None:
    """An order's life as production tells it: reserved, started, printed (one final run) and,
    for a product that needs QC, inspected."""
    with runtime.uow() as uow:
        reserve(
            uow, "production_order", order, [Line(c, D(q)) for c, (q, _l) in components.items()]
        )
        uow.commit()
    delivered(
        runtime,
        ProductionStarted(
            order_code=order,
            sku=sku,
            qty=D(good) + D(bad),
            components=tuple(
                ComponentRequirement(sku=c, qty=D(q), lot=lot) for c, (q, lot) in components.items()
            ),
            started_at=AT,
        ),
        PrintCompleted(
            order_code=order,
            run_id=f"{order}-R1",
            sku=sku,
            qty_good=D(good),
            qty_bad=D(bad),
            scrap_reason_code="ADHESION" if D(bad) else None,
            requires_qc=passed is not None,
            final_run=True,
            completed_at=AT,
        ),
    )
    if passed is not None:
        delivered(
            runtime,
            QCPassed(
                qc_record_id=f"QC-{order}",
                order_code=order,
                sku=sku,
                qty_passed=D(passed),
                qty_failed=D(failed),
                reason_code="SURFACE" if D(failed) else None,
                inspected_at=AT,
            ),
        )


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceRuntime]:
    runtime = inventory_runtime(tmp_path_factory.mktemp("genealogy"))
    add_item(runtime, "RESIN")
    add_item(runtime, "PIGMENT")
    add_item(runtime, "WIDGET", item_type=ItemType.FINISHED, make_or_buy=MakeOrBuy.MAKE)
    add_item(
        runtime,
        "BRACKET",
        item_type=ItemType.COMPONENT,
        make_or_buy=MakeOrBuy.MAKE,
        requires_qc=False,
    )
    add_item(runtime, "ASSEMBLY", item_type=ItemType.FINISHED, make_or_buy=MakeOrBuy.MAKE)
    received(runtime, "RESIN", "20", "50.00", "R-7", "ACME", "PO-2026-00011")
    received(runtime, "PIGMENT", "5", "20.00", "P-3", "COLOURCO", "PO-2026-00012")
    made(
        runtime,
        WIDGET_ORDER,
        "WIDGET",
        {"RESIN": ("5", "R-7"), "PIGMENT": ("1", "P-3")},
        good="9",
        bad="1",
        passed="8",
        failed="1",
    )
    # A bracket (no QC) from another resin lot, then an assembly of a bracket and pigment.
    received(runtime, "RESIN", "10", "30.00", "R-8", "RESINWORKS", "PO-2026-00013")
    made(runtime, BRACKET_ORDER, "BRACKET", {"RESIN": ("4", "R-8")}, good="4")
    made(
        runtime,
        ASSEMBLY_ORDER,
        "ASSEMBLY",
        {"BRACKET": ("3", None), "PIGMENT": ("0.5", "P-3")},
        good="3",
        passed="3",
    )
    # Five of the widgets are sold from stock to Bigco and shipped.
    delivered(
        runtime,
        SalesOrderChanged(
            so_number=SALES_ORDER,
            customer_code="BIGCO",
            status="open",
            order_date=AT.date(),
            lines=(
                SalesOrderLine(line_no=1, sku="WIDGET", qty_ordered=D(5), unit_price=D("9.90")),
            ),
        ),
    )
    with runtime.uow() as uow:
        ship(
            uow,
            ShipmentCreate(so_number=SALES_ORDER, lines=[ShipmentLineIn(line_no=1, qty=D(5))]),
            "sam",
            runtime.settings,
        )
        uow.commit()
    yield runtime
    runtime.db.dispose()


@pytest.fixture
async def api(plant: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    token = issue_service_token(SECRET, user="quinn", roles=["quality"], ttl_seconds=600)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=plant.app),
        base_url="http://inventory",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def ask(api: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await api.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def lots(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(row["sku"], row["lot"]) for row in rows]


async def test_what_went_into_a_widget_lot_names_both_vendor_lots_and_their_receipts(
    api: httpx.AsyncClient,
) -> None:
    answer = await ask(api, f"/api/v1/genealogy/lots/WIDGET/{WIDGET_ORDER}/sources")

    assert answer["lot"]["order_code"] == WIDGET_ORDER
    [order] = answer["orders"]
    assert order["order_code"] == WIDGET_ORDER and order["depth"] == 1
    assert [(c["sku"], c["lot"], c["qty_used"]) for c in order["consumed"]] == [
        ("PIGMENT", "P-3", "1.0000"),
        ("RESIN", "R-7", "5.0000"),
    ]
    assert [(p["sku"], p["lot"], p["qty_good"], p["qty_bad"]) for p in order["produced"]] == [
        ("WIDGET", WIDGET_ORDER, "9.0000", "1.0000")
    ]
    by_lot = {(c["sku"], c["lot"]): c for c in answer["component_lots"]}
    assert set(by_lot) == {("PIGMENT", "P-3"), ("RESIN", "R-7")}
    resin = by_lot[("RESIN", "R-7")]
    assert (resin["vendor_code"], resin["po_number"], resin["depth"]) == (
        "ACME",
        "PO-2026-00011",
        1,
    )
    assert resin["receipt_id"].startswith("RCV-")
    assert resin["used_by_orders"] == [WIDGET_ORDER]
    assert [(r["reference"], r["qty"]) for r in resin["receipts"]] == [
        ("PO-2026-00011/1", "20.0000")
    ]
    assert by_lot[("PIGMENT", "P-3")]["vendor_code"] == "COLOURCO"
    assert answer["vendors"] == ["ACME", "COLOURCO"]


async def test_where_a_resin_lot_went_names_the_order_and_the_widget_lot_it_made(
    api: httpx.AsyncClient,
) -> None:
    answer = await ask(api, "/api/v1/genealogy/lots/RESIN/R-7/uses")

    assert (answer["lot"]["vendor_code"], answer["lot"]["po_number"]) == ("ACME", "PO-2026-00011")
    [order] = answer["orders"]
    assert order["order_code"] == WIDGET_ORDER
    assert [(c["sku"], c["lot"], c["qty_issued"]) for c in order["consumed"]] == [
        ("RESIN", "R-7", "5.0000")
    ]
    [widgets] = answer["finished_lots"]
    assert (widgets["sku"], widgets["lot"], widgets["made_by_order"], widgets["depth"]) == (
        "WIDGET",
        WIDGET_ORDER,
        WIDGET_ORDER,
        1,
    )
    # Eight passed QC, five of them were shipped; the bad print and the QC failure are in scrap.
    assert {(b["location"], b["qty"]) for b in widgets["on_hand"]} == {
        ("FG", "3.0000"),
        ("SCRAP", "2.0000"),
    }
    [shipment] = answer["shipments"]
    assert (shipment["sku"], shipment["lot"], shipment["qty"]) == ("WIDGET", WIDGET_ORDER, "5.0000")
    assert (shipment["so_number"], shipment["customer_code"]) == (SALES_ORDER, "BIGCO")
    assert shipment["shipment_id"].startswith("SHP-")
    assert answer["customers"] == ["BIGCO"]


async def test_the_sources_of_an_assembly_go_down_through_the_bracket_to_its_resin(
    api: httpx.AsyncClient,
) -> None:
    answer = await ask(api, f"/api/v1/genealogy/lots/ASSEMBLY/{ASSEMBLY_ORDER}/sources")

    assert [(o["order_code"], o["depth"]) for o in answer["orders"]] == [
        (ASSEMBLY_ORDER, 1),
        (BRACKET_ORDER, 2),
    ]
    assert [(c["sku"], c["lot"], c["depth"]) for c in answer["component_lots"]] == [
        ("BRACKET", BRACKET_ORDER, 1),
        ("PIGMENT", "P-3", 1),
        ("RESIN", "R-8", 2),
    ]
    bracket = answer["component_lots"][0]
    assert (bracket["order_code"], bracket["vendor_code"]) == (BRACKET_ORDER, None)
    assert answer["vendors"] == ["COLOURCO", "RESINWORKS"]


async def test_the_uses_of_a_resin_lot_go_up_through_the_bracket_to_the_assembly(
    api: httpx.AsyncClient,
) -> None:
    answer = await ask(api, "/api/v1/genealogy/lots/RESIN/R-8/uses")

    assert [(o["order_code"], o["depth"]) for o in answer["orders"]] == [
        (BRACKET_ORDER, 1),
        (ASSEMBLY_ORDER, 2),
    ]
    assert [
        (f["sku"], f["lot"], f["depth"], f["made_by_order"]) for f in answer["finished_lots"]
    ] == [
        ("BRACKET", BRACKET_ORDER, 1, BRACKET_ORDER),
        ("ASSEMBLY", ASSEMBLY_ORDER, 2, ASSEMBLY_ORDER),
    ]
    bracket, assembly = answer["finished_lots"]
    assert [(b["location"], b["qty"]) for b in bracket["on_hand"]] == [("FG", "1.0000")]
    assert [(b["location"], b["qty"]) for b in assembly["on_hand"]] == [("FG", "3.0000")]


async def test_a_pigment_lot_in_two_orders_is_traced_to_both(api: httpx.AsyncClient) -> None:
    answer = await ask(api, "/api/v1/genealogy/lots/PIGMENT/P-3/uses")
    assert [o["order_code"] for o in answer["orders"]] == [WIDGET_ORDER, ASSEMBLY_ORDER]
    assert lots(answer["finished_lots"]) == [
        ("ASSEMBLY", ASSEMBLY_ORDER),
        ("WIDGET", WIDGET_ORDER),
    ]


async def test_a_lot_or_sku_that_does_not_exist_is_a_404_naming_it(
    api: httpx.AsyncClient,
) -> None:
    for path, field in [
        ("/api/v1/genealogy/lots/GHOST/R-7/sources", "sku"),
        ("/api/v1/genealogy/lots/RESIN/R-99/uses", "lot"),
    ]:
        response = await api.get(path)
        assert response.status_code == 404, response.text
        assert response.json()["field"] == field
