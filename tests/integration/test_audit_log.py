"""The audit log, end to end: a buyer's day through the gateway, then the admin reads it.

In the embedded mode (one process, SQLite, the in-process bus): items created and a PO
created, submitted and received through the gateway leave one audit entry each, with who
(login and name), from where (the address the gateway saw), what, and the thing before and
after; the admin filters them and exports the same rows; anyone else gets 403. On PostgreSQL
and RabbitMQ the same entries reach the gateway across processes.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from services.embedded import EmbeddedPortal
from services.gateway import audit, domain
from services.gateway.handlers import on_audit_recorded
from services.gateway.models import AuditEntry, User
from shared.events.envelope import Envelope, utc_now
from shared.settings import Settings
from tests.support import flow, servers
from tests.support.cluster import Cluster, running_cluster, sign_in

ADMIN_PASSWORD = "embedded-admin-pw"
CLIENT_IP = "10.1.2.3"
# What the first flow does, as the audit log names it: 2 items, a vendor, a PO created and
# submitted, two receipts.
FLOW_ACTIONS = sorted(
    ["inventory.items.create"] * 2
    + ["purchasing.vendors.create", "purchasing.orders.create", "purchasing.orders.submit"]
    + ["purchasing.receipts.create"] * 2
)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    settings = Settings(var_dir=tmp_path, admin_password=ADMIN_PASSWORD, demo_data=False)
    portal = EmbeddedPortal(settings)
    portal.prepare()
    async with portal.running():
        yield portal


def client_of(portal: EmbeddedPortal, ip: str = CLIENT_IP) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=portal.gateway.app, client=(ip, 50123))
    return httpx.AsyncClient(transport=transport, base_url="http://portal")


def received(state: dict[str, Any]) -> list[Decimal]:
    """What each PO line had received, as a receipt's audit entry saw it."""
    return [Decimal(line["qty_received"]) for line in state["lines"]]


def entries(api_answer: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api_answer["items"]
    return items


async def audit_page(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = flow.ok(await api.get("/api/admin/audit", params=params))
    return answer


def add_store_clerk(portal: EmbeddedPortal, username: str, password: str) -> None:
    with portal.gateway.uow() as uow:
        uow.session.add(
            User(
                username=username,
                display_name="Sam Store",
                password_hash=domain.hash_password(password),
                roles=["store"],
                language="en",
                active=True,
                created_at=utc_now(),
            )
        )
        uow.commit()


def audit_envelopes(portal: EmbeddedPortal, service: str) -> list[Envelope]:
    runtime = portal.runtimes[service]
    outbox = runtime.definition.tables.outbox
    with runtime.db.reader() as session:
        rows = session.scalars(
            select(outbox.c.envelope).where(outbox.c.event_type == "AuditRecorded")
        )
        return [Envelope.model_validate_json(row) for row in rows]


def audit_row_count(portal: EmbeddedPortal) -> int:
    with portal.gateway.db.reader() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_a_buyers_day_is_in_the_audit_log_with_who_where_and_before_and_after(
    embedded: EmbeddedPortal,
) -> None:
    async with client_of(embedded) as api:
        await sign_in(api, ADMIN_PASSWORD)
        number = await flow.run_first_flow(api)
        await embedded.wait_idle()
        log = await audit_page(api, limit=100)

    assert log["total"] == len(FLOW_ACTIONS)
    assert sorted(e["action"] for e in entries(log)) == FLOW_ACTIONS
    for entry in entries(log):
        assert (entry["actor"], entry["actor_name"], entry["ip"]) == (
            "admin",
            "Administrator",
            CLIENT_IP,
        ), entry
        assert entry["request_id"] and entry["correlation_id"]
    # newest first
    assert [e["at"] for e in entries(log)] == sorted((e["at"] for e in entries(log)), reverse=True)

    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in entries(log):
        by_action.setdefault(entry["action"], []).append(entry)

    [resin] = [e for e in by_action["inventory.items.create"] if e["entity_id"] == "RESIN-GRY"]
    assert (resin["service"], resin["entity_type"], resin["before"]) == ("inventory", "item", None)
    assert resin["after"]["name"] == "Resin, grey, 1 L"
    assert Decimal(resin["after"]["average_cost"]) == 0

    [submitted] = by_action["purchasing.orders.submit"]
    assert (submitted["entity_type"], submitted["entity_id"]) == ("purchase_order", number)
    assert submitted["before"]["status"] == "draft"
    assert submitted["after"]["status"] == "submitted"
    assert submitted["before"]["lines"] == submitted["after"]["lines"]

    first, second = sorted(by_action["purchasing.receipts.create"], key=lambda e: e["at"])
    assert first["before"]["status"] == "submitted"
    assert first["after"]["status"] == "partial"
    assert received(first["before"]) == [0, 0, 0]
    assert received(first["after"]) == [10, 120, 0]
    assert second["before"]["lines"] == first["after"]["lines"]
    assert second["after"]["status"] == "received"
    assert second["after"]["receipt"]["po_number"] == number
    assert [Decimal(line["qty"]) for line in second["after"]["receipt"]["lines"]] == [80, 30]


async def test_a_redelivered_audit_event_is_kept_once(embedded: EmbeddedPortal) -> None:
    async with client_of(embedded) as api:
        await sign_in(api, ADMIN_PASSWORD)
        flow.ok(await api.post("/api/inventory/v1/items", json=flow.ITEMS[0]), 201)
        await embedded.wait_idle()
    [envelope] = audit_envelopes(embedded, "inventory")
    assert audit_row_count(embedded) == 1

    # Through the consumer: the inbox knows the id.
    assert embedded.gateway.consumer.apply_batch([envelope]) == []
    # Past the inbox (an id it has long forgotten): the audit table's unique event id.
    with embedded.gateway.uow() as uow:
        on_audit_recorded(envelope, uow)
        on_audit_recorded(envelope, uow)
        uow.commit()

    assert audit_row_count(embedded) == 1


async def test_the_admin_filters_the_log_and_exports_the_same_rows(
    embedded: EmbeddedPortal,
) -> None:
    async with client_of(embedded) as api:
        await sign_in(api, ADMIN_PASSWORD)
        number = await flow.run_first_flow(api)
        await embedded.wait_idle()

        async def total(**params: Any) -> int:
            return int((await audit_page(api, **params))["total"])

        assert await total(action="purchasing.") == 5
        assert await total(action="purchasing.receipts") == 2
        assert await total(action="purchasing.orders.submit") == 1
        assert await total(action="%") == 0  # a prefix, not a pattern
        assert await total(service="inventory") == 2
        assert await total(entity_type="item") == 2
        assert await total(entity_type="purchase_order", entity_id=number) == 4
        assert await total(q="resin") == 1  # any part of the entity id, any case
        assert await total(actor="admin") == len(FLOW_ACTIONS)
        assert await total(actor="nobody") == 0
        today = utc_now().date().isoformat()
        assert await total(**{"from": today, "to": today}) == len(FLOW_ACTIONS)
        assert await total(**{"from": "2001-01-01", "to": "2001-12-31"}) == 0
        bad_range = await api.get("/api/admin/audit", params={"from": today, "to": "2001-01-01"})
        assert bad_range.status_code == 422, bad_range.text

        page_one = await audit_page(api, action="purchasing.", limit=2)
        page_two = await audit_page(api, action="purchasing.", limit=2, offset=2)
        assert page_one["total"] == 5 and len(page_one["items"]) == 2
        assert not {e["id"] for e in page_one["items"]} & {e["id"] for e in page_two["items"]}

        wanted = await audit_page(api, action="purchasing.", limit=100)
        export = await api.get("/api/admin/audit.xlsx", params={"action": "purchasing."})
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="audit-log.xlsx"' in export.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(export.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:8] == (
        "When",
        "Service",
        "User",
        "Name",
        "IP address",
        "Action",
        "Entity type",
        "Entity",
    )
    assert [(r[5], r[7], r[2], r[4]) for r in body] == [
        (e["action"], e["entity_id"], e["actor"], e["ip"]) for e in entries(wanted)
    ]


async def test_only_who_may_read_the_audit_log_sees_it(embedded: EmbeddedPortal) -> None:
    add_store_clerk(embedded, "sam", "sam-password-1")
    async with client_of(embedded) as anonymous:
        assert (await anonymous.get("/api/admin/audit")).status_code == 401
    async with client_of(embedded, "10.9.9.9") as api:
        await sign_in_as(api, "sam", "sam-password-1")
        refused = await api.get("/api/admin/audit")
        refused_export = await api.get("/api/admin/audit.xlsx")
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "permission_required"
    assert refused_export.status_code == 403


async def test_the_gateways_own_changes_go_straight_into_the_log(
    embedded: EmbeddedPortal,
) -> None:
    with embedded.gateway.uow() as uow:
        audit.record_gateway_change(
            uow,
            "admin",
            "10.0.0.5",
            "gateway.users.update",
            "user",
            "sam",
            {"roles": ["store"]},
            {"roles": ["store", "buyer"]},
        )
        uow.commit()
    async with client_of(embedded) as api:
        await sign_in(api, ADMIN_PASSWORD)
        [entry] = entries(await audit_page(api, service="gateway"))
    assert (entry["actor"], entry["ip"], entry["entity_id"]) == ("admin", "10.0.0.5", "sam")
    assert (entry["before"], entry["after"]) == (
        {"roles": ["store"]},
        {"roles": ["store", "buyer"]},
    )


async def sign_in_as(api: httpx.AsyncClient, username: str, password: str) -> None:
    response = await api.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text


# --- PostgreSQL and RabbitMQ, one process per service ----------------------------------------

AUDIT_SERVICES = ("inventory", "purchasing", "accounting", "gateway")


@pytest.fixture
def cluster(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> Iterator[Cluster]:
    with running_cluster(postgres, rabbitmq, tmp_path, AUDIT_SERVICES) as cluster:
        yield cluster


@pytest.mark.integration
async def test_audit_entries_reach_the_gateway_across_processes(cluster: Cluster) -> None:
    async with cluster.gateway_client() as api:
        await sign_in(api)
        await flow.run_first_flow(api)

        async def logged() -> bool:
            return int((await audit_page(api, limit=1))["total"]) >= len(FLOW_ACTIONS)

        await flow.eventually(logged, 60, "every change in the audit log")
        log = await audit_page(api, limit=100)
    assert sorted(e["action"] for e in entries(log)) == FLOW_ACTIONS
    assert all(e["actor"] == "admin" and e["ip"] for e in entries(log))
    [submitted] = [e for e in entries(log) if e["action"] == "purchasing.orders.submit"]
    assert (submitted["before"]["status"], submitted["after"]["status"]) == ("draft", "submitted")
