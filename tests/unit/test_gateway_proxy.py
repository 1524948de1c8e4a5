"""Forwarding: the gateway calls a service as the signed-in user, with a signed token.

The upstream is a small FastAPI app in `app.state.upstreams`, as the embedded mode wires the
real services; it verifies the bearer token with the shared secret and echoes what it received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shared.auth.tokens import verify_service_token
from shared.runtime import ServiceRuntime
from shared.settings import get_settings
from shared.web.security import bearer_token
from tests.unit.test_gateway_auth import (
    SECRET,
    assert_problem,
    browser,
    sign_in,
    start_gateway,
)

TTL_SECONDS = 60


def fake_inventory(calls: list[str]) -> FastAPI:
    """Answers every /api/v1 call with what it was sent and who the token says is calling."""
    app = FastAPI()

    @app.api_route("/api/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request) -> Response:
        calls.append(request.url.path)
        claims = verify_service_token(SECRET, bearer_token(request))
        if path == "closed-order":
            return JSONResponse(
                {"title": "Conflict", "status": 409, "detail": "The order is closed."},
                status_code=409,
                media_type="application/problem+json",
            )
        body: dict[str, Any] = {
            "method": request.method,
            "path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "body": (await request.body()).decode(),
            "content_type": request.headers.get("content-type"),
            "idempotency_key": request.headers.get("idempotency-key"),
            "request_id": request.headers.get("x-request-id"),
            "correlation_id": request.headers.get("x-correlation-id"),
            "cookie": request.headers.get("cookie"),
            "user": claims.user,
            "roles": list(claims.roles),
            "name": claims.name,
            "expires_at": claims.expires_at.isoformat(),
        }
        return JSONResponse(body, status_code=201 if request.method == "POST" else 200)

    return app


def failing(error: httpx.TransportError) -> httpx.AsyncClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://down")


@pytest.fixture
def upstream_calls() -> list[str]:
    return []


@pytest.fixture
async def gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream_calls: list[str]
) -> AsyncIterator[ServiceRuntime]:
    monkeypatch.setenv("PORTAL_ADMIN_PASSWORD", "correct horse battery staple")
    runtime = start_gateway(tmp_path)
    runtime.app.state.upstreams = {
        "inventory": httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fake_inventory(upstream_calls)),
            base_url="http://inventory",
        ),
        "purchasing": failing(httpx.ConnectError("connection refused")),
        "production": failing(httpx.ReadTimeout("no answer")),
    }
    yield runtime
    for client in runtime.app.state.upstreams.values():
        await client.aclose()
    runtime.db.dispose()
    get_settings.cache_clear()


@pytest.fixture
async def planner(gateway: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(gateway) as client:
        signed_in = await sign_in(client)
        assert signed_in.status_code == 200
        # As the pages' scripts do: changes carry the CSRF token given at sign-in.
        client.headers["X-CSRF-Token"] = signed_in.headers["X-CSRF-Token"]
        yield client


async def test_a_post_reaches_the_service_with_path_query_body_and_keys(
    planner: httpx.AsyncClient,
) -> None:
    response = await planner.post(
        "/api/inventory/v1/items/PLA%2F1kg/receipts?lot=L-7&qty=2",
        json={"qty": "2.5000"},
        headers={"Idempotency-Key": "receipt-42", "X-Correlation-ID": "order-1001"},
    )

    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    echoed = response.json()
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/api/v1/items/PLA%2F1kg/receipts"
    assert echoed["query"] == "lot=L-7&qty=2"
    assert echoed["body"] == '{"qty":"2.5000"}'
    assert echoed["content_type"] == "application/json"
    assert echoed["idempotency_key"] == "receipt-42"
    assert echoed["correlation_id"] == "order-1001"
    assert echoed["request_id"] == response.headers["x-request-id"]


async def test_the_service_sees_a_short_lived_signed_token_for_the_user_not_the_cookie(
    planner: httpx.AsyncClient,
) -> None:
    echoed = (await planner.get("/api/inventory/v1/items")).json()

    assert (echoed["user"], echoed["roles"], echoed["name"]) == (
        "admin",
        ["admin"],
        "Administrator",
    )
    assert echoed["cookie"] is None
    lifetime = datetime.fromisoformat(echoed["expires_at"]) - datetime.now(UTC)
    assert 0 < lifetime.total_seconds() <= TTL_SECONDS


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_every_method_is_forwarded(planner: httpx.AsyncClient, method: str) -> None:
    response = await planner.request(method, "/api/inventory/v1/items/BOLT-M6", content=b"{}")

    assert response.status_code == 200
    assert response.json()["method"] == method
    assert response.json()["path"] == "/api/v1/items/BOLT-M6"


async def test_a_change_without_the_csrf_token_or_a_json_body_is_refused(
    gateway: ServiceRuntime, upstream_calls: list[str]
) -> None:
    async with browser(gateway) as client:
        assert (await sign_in(client)).status_code == 200
        form = await client.post("/api/inventory/v1/items", data={"sku": "X"})
        empty = await client.delete("/api/inventory/v1/items/BOLT-M6")
        forged = await client.delete(
            "/api/inventory/v1/items/BOLT-M6", headers={"X-CSRF-Token": "not-the-token"}
        )
        as_json = await client.post("/api/inventory/v1/items", json={"sku": "X"})

    assert [assert_problem(r, 403)["code"] for r in (form, empty, forged)] == ["csrf_failed"] * 3
    assert as_json.status_code != 403
    assert upstream_calls == ["/api/v1/items"]  # only the JSON one got through


async def test_the_services_answer_comes_back_as_it_was(planner: httpx.AsyncClient) -> None:
    response = await planner.post("/api/inventory/v1/closed-order", json={})

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The order is closed."


async def test_without_a_session_nothing_is_forwarded(
    gateway: ServiceRuntime, upstream_calls: list[str]
) -> None:
    async with browser(gateway) as stranger:
        response = await stranger.get("/api/inventory/v1/items")

    assert assert_problem(response, 401)["detail"] == "You are not signed in."
    assert upstream_calls == []


async def test_a_session_ended_elsewhere_forwards_nothing_and_says_why(
    gateway: ServiceRuntime, planner: httpx.AsyncClient, upstream_calls: list[str]
) -> None:
    async with browser(gateway, ("10.0.0.7", 50000)) as desk:
        await sign_in(desk)

    response = await planner.get("/api/inventory/v1/items")

    assert "signed in on another device" in str(assert_problem(response, 401)["detail"])
    assert upstream_calls == []


async def test_an_unknown_service_is_a_404_naming_it(planner: httpx.AsyncClient) -> None:
    body = assert_problem(await planner.get("/api/warehouse/v1/items"), 404)

    assert "'warehouse'" in str(body["detail"])
    assert body["code"] == "unknown_service"


async def test_a_service_that_cannot_be_reached_is_a_502_naming_it(
    planner: httpx.AsyncClient,
) -> None:
    body = assert_problem(await planner.post("/api/purchasing/v1/orders", json={}), 502)

    assert body["detail"] == "The purchasing service cannot be reached."
    assert body["code"] == "upstream_unreachable"


async def test_a_service_that_does_not_answer_in_time_is_a_504(
    planner: httpx.AsyncClient,
) -> None:
    body = assert_problem(await planner.get("/api/production/v1/orders"), 504)

    assert "production" in str(body["detail"])


async def test_a_known_service_without_an_address_says_which_setting_is_missing(
    planner: httpx.AsyncClient,
) -> None:
    body = assert_problem(await planner.get("/api/accounting/v1/journal-entries"), 502)

    assert "PORTAL_ACCOUNTING_URL" in str(body["detail"])


async def test_dot_segments_cannot_leave_the_services_api(
    planner: httpx.AsyncClient, upstream_calls: list[str]
) -> None:
    response = await planner.get("/api/inventory/v1/%2e%2e/%2e%2e/metrics")

    assert (
        assert_problem(response, 404)["detail"]
        == "There is nothing at /api/inventory/v1/../../metrics."
    )
    assert upstream_calls == []
