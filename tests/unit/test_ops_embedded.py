"""The ops dashboard's back end on the whole embedded portal: a receipt for an item inventory
never heard of dies into a dead letter, the status and the summary show it, a replay before the
fix says it still fails, and after the fix one replay through the gateway applies it once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.embedded import EmbeddedPortal
from services.gateway import ops
from services.gateway.domain import hash_password
from services.gateway.models import User
from shared.events.catalogue import MaterialReceived
from shared.events.envelope import Envelope, utc_now
from shared.events.routing import CONSUMERS
from shared.web.problems import PROBLEM_MEDIA_TYPE

ADMIN_PASSWORD = "ops-admin-pw"
GHOST = "GHOST-01"


def receipt_of_an_unknown_item() -> Envelope:
    payload = MaterialReceived(
        po_number="PO-GHOST-00001",
        line_no=1,
        receipt_id="RCV-GHOST-1",
        sku=GHOST,
        qty=Decimal("7"),
        unit_cost=Decimal("1.25"),
        value=Decimal("8.75"),
        lot=None,
        to_status="approved",
        vendor_code="ACME",
        received_at=utc_now(),
    )
    return Envelope(
        type="MaterialReceived",
        producer="purchasing",
        key="PO-GHOST-00001",
        sequence=1,
        payload=payload.model_dump(mode="json"),
    )


def add_user(portal: EmbeddedPortal, username: str, role: str) -> None:
    with portal.gateway.uow() as uow:
        uow.session.add(
            User(
                username=username,
                display_name=username.title(),
                password_hash=hash_password(f"{username}-pw-123"),
                roles=[role],
                language="en",
                active=True,
                created_at=utc_now(),
            )
        )
        uow.commit()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    from shared.settings import Settings

    settings = Settings(var_dir=tmp_path, admin_password=ADMIN_PASSWORD, handler_backoff_seconds=0)
    embedded = EmbeddedPortal(settings)
    embedded.prepare()
    async with embedded.running():
        yield embedded


@contextlib.asynccontextmanager
async def signed_in(
    portal: EmbeddedPortal, username: str, password: str
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        login = {"username": username, "password": password}
        answer = await client.post("/api/auth/login", json=login)
        ok(answer)
        if token := answer.headers.get("x-csrf-token"):  # what the page's script sends back
            client.headers["x-csrf-token"] = token
        yield client


async def answered_summary(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The ops summary once every service's status answered within the summary's short
    timeout (on a busy machine one may not, and the summary rightly says "unknown": None)."""
    for _ in range(10):
        summary = by_service(ok(await api.get("/api/ops/summary")))
        if all(entry["status"] is not None for entry in summary.values()):
            return summary
        await asyncio.sleep(0.5)
    return summary


def by_service(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["service"]: entry for entry in summary["services"]}


async def test_a_dead_letter_is_shown_then_replayed_once_through_the_gateway_after_the_fix(
    portal: EmbeddedPortal,
) -> None:
    async with signed_in(portal, "admin", ADMIN_PASSWORD) as api:
        calm = await answered_summary(api)
        assert set(calm) == set(portal.runtimes)
        assert all(entry["healthy"] for entry in calm.values()), calm
        assert calm["inventory"]["dead_letters_open"] == 0
        assert calm["inventory"]["traffic"]["window_seconds"] is None  # first scrape: totals

        poison = receipt_of_an_unknown_item()
        await portal.bus.publish([poison])  # returns once every consumer is done with it

        status = ok(await api.get("/api/inventory/v1/ops/status"))
        assert status["dead_letters"] == {"open": 1, "replayed": 0}
        assert status["queues"] == [
            {"queue": "inventory.events", "event_types": sorted(CONSUMERS["inventory"]), "lag": 0}
        ]
        assert status["relay"]["leader"] is True
        assert status["outbox"]["backlog"] == 0

        page = ok(await api.get("/api/inventory/v1/ops/dead-letters"))
        assert page["total"] == 1
        (letter,) = page["items"]
        assert letter["event_id"] == str(poison.id)
        assert letter["event_type"] == "MaterialReceived"
        assert letter["source"] == "purchasing"
        assert letter["consumer"] == "inventory"
        assert letter["queue"] == "inventory.events"
        assert letter["status"] == "open"
        assert letter["attempts"] == portal.settings.handler_max_attempts
        assert GHOST in letter["error_detail"]
        assert GHOST in letter["payload_excerpt"]
        # Accounting gave up on it too: it must know the item to choose its inventory account.
        booked = ok(await api.get("/api/accounting/v1/ops/dead-letters"))
        assert [entry["event_id"] for entry in booked["items"]] == [str(poison.id)]

        summary = await answered_summary(api)
        inventory = summary["inventory"]
        assert inventory["dead_letters_open"] == 1
        assert inventory["events"]["dead_lettered_total"] == 1
        assert inventory["consumer_lag"] == 0
        assert summary["accounting"]["dead_letters_open"] == 1

        replay = f"/api/inventory/v1/ops/dead-letters/{letter['id']}/replay"
        refused = problem(await api.post(replay), 409)
        assert refused["outcome"] == "still_failing"
        assert refused["dead_letter"]["attempts"] == letter["attempts"] + 1

        # The fix: the item exists now. One replay applies the receipt; a second does nothing.
        item = {"sku": GHOST, "name": "The item nobody created", "uom": "ea"}
        ok(await api.post("/api/inventory/v1/items", json=item), 201)
        first = ok(await api.post(replay))
        assert first["outcome"] == "replayed"
        assert first["dead_letter"]["status"] == "replayed"
        again = ok(await api.post(replay))
        assert again["outcome"] == "already_replayed"
        stock = ok(await api.get(f"/api/inventory/v1/items/{GHOST}/stock"))
        assert Decimal(stock["on_hand"]) == Decimal("7")
        await portal.wait_idle()  # accounting hears of the item, then posts the receipt
        posted = ok(
            await api.post(f"/api/accounting/v1/ops/dead-letters/{booked['items'][0]['id']}/replay")
        )
        assert posted["outcome"] == "replayed"
        journal = ok(
            await api.get("/api/accounting/v1/journal-entries?document_ref=PO-GHOST-00001")
        )
        assert journal["total"] == 1

        # Delivered once more by the bus (a redelivery): the inbox skips it.
        await portal.bus.publish([poison])
        stock = ok(await api.get(f"/api/inventory/v1/items/{GHOST}/stock"))
        assert Decimal(stock["on_hand"]) == Decimal("7")

        status = ok(await api.get("/api/inventory/v1/ops/status"))
        assert status["dead_letters"] == {"open": 0, "replayed": 1}
        replayed = ok(await api.get("/api/inventory/v1/ops/dead-letters?status=replayed"))
        assert [entry["id"] for entry in replayed["items"]] == [letter["id"]]
        assert ok(await api.get("/api/inventory/v1/ops/dead-letters"))["total"] == 0
        problem(await api.post("/api/inventory/v1/ops/dead-letters/999/replay"), 404)
        problem(await api.post("/api/inventory/v1/ops/dead-letters/0/replay"), 422)
        problem(await api.get("/api/inventory/v1/ops/dead-letters?status=lost"), 422)

        later = await answered_summary(api)
        assert later["inventory"]["dead_letters_open"] == 0
        assert later["inventory"]["traffic"]["window_seconds"] is not None or (
            later["inventory"]["traffic"]["requests_total"] > 0
        )


async def test_the_dashboard_and_the_replay_follow_the_permission_matrix(
    portal: EmbeddedPortal,
) -> None:
    add_user(portal, "sam", "supervisor")
    add_user(portal, "stella", "store")
    async with (
        signed_in(portal, "sam", "sam-pw-123") as supervisor,
        signed_in(portal, "stella", "stella-pw-123") as store,
    ):
        ok(await supervisor.get("/api/ops/summary"))
        ok(await supervisor.get("/api/inventory/v1/ops/status"))
        refused = problem(await supervisor.post("/api/inventory/v1/ops/dead-letters/1/replay"), 403)
        assert refused["code"] == "permission_required"
        assert problem(await store.get("/api/ops/summary"), 403)["code"] == "permission_required"
        problem(await store.get("/api/inventory/v1/ops/dead-letters"), 403)
        anonymous = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=portal.gateway.app), base_url="http://portal"
        )
        async with anonymous:
            problem(await anonymous.get("/api/ops/summary"), 401)


async def test_a_service_that_does_not_answer_is_shown_down_not_a_server_error(
    portal: EmbeddedPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        import asyncio

        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setattr(ops, "CALL_TIMEOUT_SECONDS", 1.0)
    state = portal.gateway.app.state
    upstreams = dict(state.upstreams)
    hung = httpx.AsyncClient(transport=httpx.MockTransport(never), base_url="http://mrp")
    gone = httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://downtime")
    state.upstreams = {**upstreams, "mrp": hung, "downtime": gone}
    try:
        async with signed_in(portal, "admin", ADMIN_PASSWORD) as api, hung, gone:
            summary = by_service(ok(await api.get("/api/ops/summary")))
    finally:
        state.upstreams = upstreams
    assert summary["mrp"]["state"] == "down"
    assert "no answer within 1s" in " ".join(summary["mrp"]["errors"])
    assert summary["downtime"]["state"] == "down"
    assert summary["downtime"]["traffic"] is None
    assert summary["inventory"]["state"] == "up", summary["inventory"]["errors"]
    assert summary["gateway"]["state"] == "up", summary["gateway"]["errors"]
