"""The app factory: problem+json for every failure, ids echoed, probes and metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from shared.logging import HANDLER_NAME, configure_logging
from shared.settings import Settings
from shared.web.app import create_app
from shared.web.metrics import ServiceMetrics
from shared.web.problems import PROBLEM_MEDIA_TYPE, Conflict, NotFound

SECRET = "test-secret-that-is-long-enough-for-hs256"


class ReceiptLine(BaseModel):
    item: str
    qty: int = Field(gt=0)


class Receipt(BaseModel):
    lines: list[ReceiptLine]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    def get_item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise NotFound(f"Item {item_id} does not exist.", code="item_not_found")
        return {"item": item_id}

    @router.post("/receipts")
    def post_receipt(receipt: Receipt) -> dict[str, int]:
        if receipt.lines[0].item == "closed":
            raise Conflict("The purchase order is closed.", field="lines.0.item")
        return {"lines": len(receipt.lines)}

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("password=hunter2 in the connection string")

    router.include_router(items)
    return router


def make_client(checks: dict[str, bool] | None = None) -> TestClient:
    async def readiness() -> dict[str, bool]:
        return checks if checks is not None else {"database": True, "bus": True}

    app = create_app(
        service="inventory",
        settings=Settings(),
        routers=[build_router()],
        metrics=ServiceMetrics("inventory"),
        readiness=readiness,
        token_secret=SECRET,
    )
    return TestClient(app)


@pytest.fixture
def client() -> TestClient:
    return make_client()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_a_bad_quantity_names_the_field(client: TestClient) -> None:
    response = client.post(
        "/api/v1/receipts", json={"lines": [{"item": "bolt", "qty": 2}, {"item": "nut", "qty": 0}]}
    )

    body = assert_problem(response, 422)
    assert body["field"] == "lines.1.qty"
    assert "lines.1.qty" in str(body["detail"])
    assert body["errors"] == [
        {
            "field": "lines.1.qty",
            "message": "Must be greater than 0.",
            "type": "greater_than",
        }
    ]
    assert body["instance"] == "/api/v1/receipts"


def test_a_spanish_caller_reads_the_problem_in_spanish(client: TestClient) -> None:
    response = client.post(
        "/api/v1/receipts",
        json={"lines": [{"item": "nut", "qty": 0}]},
        headers={"Accept-Language": "es-US,es;q=0.9"},
    )

    body = assert_problem(response, 422)
    assert body["title"] == "Datos no válidos"
    assert body["errors"][0]["message"] == "Debe ser mayor que 0."
    assert body["detail"] == "lines.0.qty: Debe ser mayor que 0."


def test_every_invalid_field_is_listed(client: TestClient) -> None:
    response = client.post("/api/v1/receipts", json={"lines": [{"qty": "many"}]})

    body = assert_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"lines.0.item", "lines.0.qty"}
    assert "(and 1 more)" in str(body["detail"])


def test_malformed_json_is_a_400_problem(client: TestClient) -> None:
    response = client.post(
        "/api/v1/receipts",
        content=b'{"lines": [',
        headers={"content-type": "application/json"},
    )

    body = assert_problem(response, 400)
    assert "not valid JSON" in str(body["detail"])
    assert body["code"] == "json_invalid"


def test_a_domain_error_keeps_its_status_field_and_code(client: TestClient) -> None:
    missing = assert_problem(client.get("/api/v1/items/missing"), 404)
    assert missing["type"] == "https://portal.example/problems/not-found"
    assert missing["detail"] == "Item missing does not exist."
    assert missing["code"] == "item_not_found"

    closed = client.post("/api/v1/receipts", json={"lines": [{"item": "closed", "qty": 1}]})
    assert assert_problem(closed, 409)["field"] == "lines.0.item"


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    unknown = assert_problem(client.get("/api/v1/nowhere"), 404)
    assert unknown["detail"] == "There is nothing at /api/v1/nowhere."

    wrong_method = client.delete("/api/v1/receipts")
    assert (
        assert_problem(wrong_method, 405)["detail"] == "DELETE is not allowed on /api/v1/receipts."
    )
    assert wrong_method.headers["allow"] == "POST"


def test_an_unexpected_error_is_a_500_that_leaks_nothing(client: TestClient) -> None:
    response = client.get("/api/v1/boom", headers={"X-Request-ID": "req-boom"})

    body = assert_problem(response, 500)
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body["request_id"] == "req-boom"
    assert response.headers["x-correlation-id"] == "req-boom"


def test_request_and_correlation_ids_are_echoed(client: TestClient) -> None:
    response = client.get(
        "/api/v1/items/bolt",
        headers={"X-Request-ID": "req-1", "X-Correlation-ID": "order-42"},
    )

    assert response.headers["x-request-id"] == "req-1"
    assert response.headers["x-correlation-id"] == "order-42"


def test_missing_or_unsafe_ids_are_replaced(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "evil\tvalue" + "x" * 200})

    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    assert response.headers["x-correlation-id"] == request_id


def test_healthz_names_the_service(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "inventory"}


def test_readyz_lists_the_checks_when_ready(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "bus": True}


def test_readyz_is_503_when_a_check_fails() -> None:
    response = make_client({"database": True, "bus": False}).get("/readyz")

    body = assert_problem(response, 503)
    assert body["checks"] == {"database": True, "bus": False}
    assert "bus" in str(body["detail"])


def test_metrics_has_the_latency_histogram_by_route_template(client: TestClient) -> None:
    client.get("/api/v1/items/bolt")
    client.get("/api/v1/nowhere/at/all")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "portal_http_request_duration_seconds_bucket" in text
    assert 'route="/api/v1/items/{item_id}"' in text
    assert 'route="unmatched"' in text
    assert "/api/v1/items/bolt" not in text
    assert "portal_outbox_backlog" not in text


def test_metrics_of_two_services_stay_apart() -> None:
    inventory, purchasing = ServiceMetrics("inventory"), ServiceMetrics("purchasing")
    inventory.events_published.labels(event_type="stock.received").inc()
    purchasing.set_outbox_backlog_source(lambda: 7)

    inventory_text = inventory.render()[0].decode()
    purchasing_text = purchasing.render()[0].decode()

    assert 'portal_events_published_total{event_type="stock.received"} 1.0' in inventory_text
    assert "stock.received" not in purchasing_text
    assert "portal_outbox_backlog 7.0" in purchasing_text


def test_a_failing_backlog_source_does_not_break_the_scrape() -> None:
    metrics = ServiceMetrics("inventory")

    def database_down() -> int:
        raise ConnectionError("database down")

    metrics.set_outbox_backlog_source(database_down)

    assert "portal_outbox_backlog NaN" in metrics.render()[0].decode()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != HANDLER_NAME]
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
def test_access_log_line_carries_the_ids_and_service(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)  # here, once capsys has replaced sys.stdout

    make_client().get(
        "/api/v1/items/bolt", headers={"X-Request-ID": "req-7", "X-Correlation-ID": "corr-7"}
    )

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    access = next(line for line in lines if line["event"] == "http.request")
    assert access["request_id"] == "req-7"
    assert access["correlation_id"] == "corr-7"
    assert access["service"] == "inventory"
    assert access["route"] == "/api/v1/items/{item_id}"
    assert access["status"] == 200
    assert access["level"] == "info"
    assert access["logger"] == "shared.web.app"
    assert access["timestamp"].endswith("Z")


def test_a_value_the_database_refuses_is_a_422_problem_not_a_500() -> None:
    # PostgreSQL refuses a NUL in a text (psycopg DataError) that SQLite would store.
    from fastapi import FastAPI
    from sqlalchemy.exc import DataError

    from shared.web.problems import install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/memo")
    def store_memo() -> None:
        raise DataError("INSERT …", {}, ValueError("A string literal cannot contain NUL"))

    response = TestClient(app).get("/memo")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "value_not_storable"
