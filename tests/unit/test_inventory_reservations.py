"""Reservations and the material summary over inventory's HTTP API: a planner holds material
for an order, a repeat holds nothing more, a shortage is refused with its list (or held as far
as it goes), a release gives it back; the CoC reads what became of every lot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.inventory.models import Reservation
from services.inventory.schemas import ItemType, MakeOrBuy
from shared.auth.tokens import issue_service_token
from shared.events.catalogue import (
    ComponentRequirement,
    PrintCompleted,
    ProductionStarted,
    QCPassed,
    StockChanged,
)
from shared.runtime import ServiceRuntime
from tests.support.stock import SECRET, add_item, deliver, envelope, inventory_runtime, receive

D = Decimal
ORDER = "PRD-2026-00007"
AT = datetime(2026, 3, 2, 7, tzinfo=UTC)


def headers(user: str, role: str) -> dict[str, str]:
    token = issue_service_token(SECRET, user=user, roles=[role], ttl_seconds=6 * 3600)
    return {"Authorization": f"Bearer {token}"}


PLANNER = headers("paula", "planner")
VIEWER = headers("victor", "viewer")


class Plant:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=runtime.app), base_url="http://inventory"
        )

    def reservations(self) -> int:
        with self.runtime.uow() as uow:
            return int(uow.session.scalar(select(func.count()).select_from(Reservation)) or 0)

    def last_stock(self, sku: str) -> StockChanged:
        with self.runtime.uow() as uow:
            outbox = uow.tables.outbox
            row = uow.session.execute(
                select(outbox.c.envelope)
                .where(outbox.c.event_type == "StockChanged", outbox.c.key == sku)
                .order_by(outbox.c.id.desc())
                .limit(1)
            ).scalar_one()
        from shared.events.envelope import Envelope

        return StockChanged.model_validate(Envelope.model_validate_json(row).payload)


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    runtime = inventory_runtime(tmp_path)
    add_item(runtime, "RESIN")
    add_item(runtime, "PIGMENT")
    add_item(runtime, "WIDGET", item_type=ItemType.FINISHED, make_or_buy=MakeOrBuy.MAKE)
    receive(runtime, "RESIN", "10", "25.00", lot="R1")
    receive(runtime, "PIGMENT", "2", "8.00", lot="P1")
    receive(runtime, "PIGMENT", "5", "20.00", lot="P2", to_status="pending_qc")
    plant = Plant(runtime)
    yield plant
    await plant.api.aclose()
    runtime.db.dispose()


def body(resin: str = "6", pigment: str = "1", **extra: Any) -> dict[str, Any]:
    return {
        "reference_type": "production_order",
        "reference": ORDER,
        "lines": [{"sku": "RESIN", "qty": resin}, {"sku": "PIGMENT", "qty": pigment}],
        **extra,
    }


async def test_a_planner_reserves_an_orders_material_and_a_repeat_reserves_nothing_more(
    plant: Plant,
) -> None:
    first = await plant.api.post("/api/v1/reservations", json=body(), headers=PLANNER)
    again = await plant.api.post("/api/v1/reservations", json=body(), headers=PLANNER)

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "reserved"
    assert [
        (line["sku"], line["qty_reserved"], line["qty_short"]) for line in first.json()["lines"]
    ] == [("RESIN", "6.0000", "0.0000"), ("PIGMENT", "1.0000", "0.0000")]
    assert again.status_code == 200
    assert again.json()["lines"] == [{**line, "status": "open"} for line in first.json()["lines"]]
    assert plant.reservations() == 2
    resin = plant.last_stock("RESIN")
    assert (resin.on_hand, resin.allocated, resin.available) == (D(10), D(6), D(4))


async def test_a_shortage_is_refused_with_its_list_and_nothing_is_reserved(plant: Plant) -> None:
    # Pigment: 2 approved, 5 more waiting in the QC hold (not available).
    answer = await plant.api.post("/api/v1/reservations", json=body(pigment="3"), headers=PLANNER)

    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "insufficient_stock"
    assert problem["shortages"] == [
        {
            "sku": "PIGMENT",
            "qty_required": "3.0000",
            "qty_available": "2.0000",
            "qty_short": "1.0000",
        }
    ]
    assert plant.reservations() == 0


async def test_allow_insufficient_reserves_what_there_is_and_reports_the_short_lines(
    plant: Plant,
) -> None:
    answer = await plant.api.post(
        "/api/v1/reservations",
        json=body(resin="12", pigment="1", allow_insufficient=True),
        headers=PLANNER,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "short"
    resin = answer.json()["lines"][0]
    assert (resin["qty_required"], resin["qty_reserved"], resin["qty_short"]) == (
        "12.0000",
        "10.0000",
        "2.0000",
    )
    assert plant.last_stock("RESIN").available == D(0)


async def test_a_release_gives_the_material_back_and_releasing_again_changes_nothing(
    plant: Plant,
) -> None:
    await plant.api.post("/api/v1/reservations", json=body(), headers=PLANNER)

    first = await plant.api.delete(
        f"/api/v1/reservations/production_order/{ORDER}", headers=PLANNER
    )
    again = await plant.api.delete(
        f"/api/v1/reservations/production_order/{ORDER}", headers=PLANNER
    )
    unknown = await plant.api.delete(
        "/api/v1/reservations/production_order/PRD-2026-09999", headers=PLANNER
    )

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "released"
    assert [line["qty_released"] for line in first.json()["lines"]] == ["6.0000", "1.0000"]
    assert again.json() == first.json()
    assert unknown.status_code == 404
    assert plant.last_stock("RESIN").available == D(10)


async def test_a_sales_order_holds_finished_goods_line_by_line(plant: Plant) -> None:
    so = {"reference_type": "sales_order", "reference": "SO-2026-00003"}
    first = await plant.api.post(
        "/api/v1/reservations",
        json={**so, "lines": [{"sku": "RESIN", "qty": "2", "line_no": 1}]},
        headers=PLANNER,
    )
    second = await plant.api.post(
        "/api/v1/reservations",
        json={**so, "lines": [{"sku": "RESIN", "qty": "3", "line_no": 2}]},
        headers=PLANNER,
    )

    assert first.status_code == second.status_code == 200
    assert plant.last_stock("RESIN").allocated == D(5)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"lines": [{"sku": "NOPE", "qty": "1"}]}, 422, "lines.0.sku"),
        ({"lines": []}, 422, None),
        ({"lines": [{"sku": "RESIN", "qty": "-1"}]}, 422, None),
        ({"reference_type": "purchase_order"}, 422, None),
        ({"reference": "PRD/1"}, 422, None),
    ],
)
async def test_bad_reservations_are_refused_naming_the_field_and_change_nothing(
    plant: Plant, change: dict[str, Any], status: int, field: str | None
) -> None:
    answer = await plant.api.post(
        "/api/v1/reservations", json={**body(), **change}, headers=PLANNER
    )

    assert answer.status_code == status, answer.text
    if field is not None:
        assert answer.json()["field"] == field
    assert plant.reservations() == 0


async def test_a_viewer_cannot_reserve(plant: Plant) -> None:
    answer = await plant.api.post("/api/v1/reservations", json=body(), headers=VIEWER)

    assert answer.status_code == 403
    assert plant.reservations() == 0


# --------------------------------------------------------------------------------------------
# The material summary
# --------------------------------------------------------------------------------------------


async def test_the_material_summary_shows_every_lot_from_reservation_to_qc(plant: Plant) -> None:
    await plant.api.post("/api/v1/reservations", json=body(), headers=PLANNER)
    runtime = plant.runtime
    events = [
        ProductionStarted(
            order_code=ORDER,
            sku="WIDGET",
            qty=D(4),
            components=(
                ComponentRequirement(sku="RESIN", qty=D(6)),
                ComponentRequirement(sku="PIGMENT", qty=D(1)),
            ),
            started_at=AT,
        ),
        PrintCompleted(
            order_code=ORDER,
            run_id="RUN-1",
            sku="WIDGET",
            qty_good=D(3),
            qty_bad=D(1),
            scrap_reason_code="ADHESION",
            completed_at=AT,
        ),
        QCPassed(
            qc_record_id="QC-1",
            order_code=ORDER,
            sku="WIDGET",
            qty_passed=D(2),
            qty_failed=D(1),
            reason_code="SURFACE",
            inspected_at=AT,
        ),
    ]
    for event in events:
        assert not deliver(runtime, envelope(event, ORDER))

    one = await plant.api.get(f"/api/v1/production-orders/{ORDER}/materials", headers=VIEWER)
    many = await plant.api.get(
        "/api/v1/production-orders/materials",
        params=[("order", ORDER), ("order", "PRD-2026-00404")],
        headers=VIEWER,
    )
    none = await plant.api.get("/api/v1/production-orders/materials", headers=VIEWER)

    assert one.status_code == 200, one.text
    summary = one.json()
    assert (summary["status"], summary["sku"], summary["wip_value"]) == (
        "relieved",
        "WIDGET",
        "0.0000",
    )
    resin = summary["components"][1]
    assert (resin["sku"], resin["qty_reserved"], resin["qty_issued"], resin["qty_relieved"]) == (
        "RESIN",
        "6.0000",
        "6.0000",
        "6.0000",
    )
    assert (resin["value_issued"], resin["qty_in_wip"]) == ("15.0000", "0.0000")
    assert [lot["lot"] for lot in resin["lots"]] == ["R1"]
    assert summary["output"] == {
        "qty_good": "3.0000",
        "qty_bad": "1.0000",
        "value_good": "14.2500",
        "value_bad": "4.7500",
        "qty_passed": "2.0000",
        "qty_failed": "1.0000",
        "value_passed": "9.5000",
        "value_failed": "4.7500",
        "qty_awaiting_qc": "0.0000",
    }
    assert [run["scrap_reason_code"] for run in summary["runs"]] == ["ADHESION"]
    assert many.status_code == 200
    assert [o["order_code"] for o in many.json()["orders"]] == [ORDER, "PRD-2026-00404"]
    assert many.json()["orders"][0] == summary
    assert many.json()["orders"][1]["status"] == "not_started"
    assert none.status_code == 422
    assert none.json()["field"] == "query.order"


async def test_a_start_abandoned_and_tried_again_holds_the_material_anew(plant: Plant) -> None:
    await plant.api.post("/api/v1/reservations", json=body(), headers=PLANNER)
    await plant.api.delete(f"/api/v1/reservations/production_order/{ORDER}", headers=PLANNER)

    again = await plant.api.post("/api/v1/reservations", json=body(resin="4"), headers=PLANNER)

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "reserved"
    assert [(line["qty_reserved"], line["qty_released"]) for line in again.json()["lines"]] == [
        ("4.0000", "0.0000"),
        ("1.0000", "0.0000"),
    ]
    assert plant.reservations() == 2
    assert plant.last_stock("RESIN").allocated == D(4)
