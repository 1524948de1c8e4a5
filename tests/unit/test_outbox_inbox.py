"""Outbox, relay and inbox on real SQLite databases: nothing lost, nothing applied twice.

Inventory and purchasing each get their own database file, migrated by their own Alembic
scripts, and run as `ServiceRuntime`s on one `InProcessBus`, the way the embedded mode runs them.
The relays are not started as tasks: each test drives `publish_pending()` itself, so a "crash"
can be placed exactly where the story needs it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from services.inventory import service as inventory_service
from services.inventory.bootstrap import definition as inventory_definition
from services.inventory.models import Item, StockTransaction
from services.inventory.schemas import ItemCreate
from services.purchasing import service as purchasing_service
from services.purchasing.bootstrap import definition as purchasing_definition
from services.purchasing.domain import extended_value
from services.purchasing.models import KnownItem
from services.purchasing.schemas import (
    PoLineCreate,
    PurchaseOrderCreate,
    ReceiptCreate,
    ReceiptLineIn,
    VendorCreate,
)
from shared.auth.tokens import issue_service_token
from shared.bus.base import OutboundMessage, Publishable
from shared.bus.inprocess import InProcessBus
from shared.events.catalogue import MaterialReceived, validate_payload
from shared.events.envelope import Envelope, utc_now
from shared.messaging.inbox import InboxConsumer
from shared.messaging.relay import OutboxRelay
from shared.runtime import ServiceRuntime
from shared.service import ServiceDefinition
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.commands import run_command
from shared.web.security import CurrentUser

D = Decimal
SECRET = "unit-test-service-token-secret-long-enough-for-hs256"
MAX_ATTEMPTS = 3
WITHIN = 5.0

RESIN = ItemCreate(sku="RESIN-GRY", name="Resin, grey, 1 L", uom="L")
BOX = ItemCreate(sku="BOX-S", name="Shipping box, small", item_type="packaging")


# --------------------------------------------------------------------------------------------
# The plant: two services on their own SQLite files, one in-process bus
# --------------------------------------------------------------------------------------------


class Plant:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.bus = InProcessBus(redelivery_delay=0.01)
        self.settings = Settings(
            var_dir=tmp_path,
            handler_max_attempts=MAX_ATTEMPTS,
            handler_backoff_seconds=0,
            consumer_batch_size=100,
            relay_batch_size=500,
        )
        self.runtimes: list[ServiceRuntime] = []

    async def start(self, definition: ServiceDefinition, *, consume: bool = True) -> ServiceRuntime:
        runtime = ServiceRuntime(
            definition,
            self.settings,
            self.bus,
            db_url=f"sqlite:///{self.tmp_path / definition.name}.db",
            token_secret=SECRET,
        )
        runtime.migrate()
        runtime.seed()
        await runtime.start(consume=consume, relay=False)
        self.runtimes.append(runtime)
        return runtime

    async def close(self) -> None:
        for runtime in self.runtimes:
            await runtime.stop()
        await self.bus.close()
        for runtime in self.runtimes:
            runtime.db.dispose()


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    plant = Plant(tmp_path)
    await plant.bus.start()
    try:
        yield plant
    finally:
        await plant.close()


@pytest.fixture
async def inventory(plant: Plant) -> ServiceRuntime:
    return await plant.start(inventory_definition())


@pytest.fixture
async def purchasing(plant: Plant) -> ServiceRuntime:
    return await plant.start(purchasing_definition())


# --------------------------------------------------------------------------------------------
# Helpers: doing things in a service, and reading what its database holds
# --------------------------------------------------------------------------------------------


def create_items(runtime: ServiceRuntime, *items: ItemCreate) -> None:
    with runtime.uow() as uow:
        for item in items:
            inventory_service.create_item(uow, item)
        uow.commit()


def receipt(sku: str, qty: str, unit_cost: str, *, line_no: int = 1) -> MaterialReceived:
    return MaterialReceived(
        po_number="PO-2025-00001",
        line_no=line_no,
        receipt_id="RCV-2025-00001",
        sku=sku,
        qty=D(qty),
        unit_cost=D(unit_cost),
        value=extended_value(D(qty), D(unit_cost)),
        to_status="approved",
        vendor_code="ACME",
        received_at=utc_now(),
    )


def material_received(sku: str, qty: str, unit_cost: str, *, line_no: int = 1) -> Envelope:
    """The envelope purchasing would publish for one received PO line."""
    return Envelope(
        type="MaterialReceived",
        producer="purchasing",
        key="PO-2025-00001",
        sequence=line_no,
        payload=validate_payload("MaterialReceived", receipt(sku, qty, unit_cost, line_no=line_no)),
    )


def outbox(runtime: ServiceRuntime, event_type: str | None = None) -> list[dict[str, Any]]:
    table = runtime.definition.tables.outbox
    query = select(table).order_by(table.c.id)
    if event_type is not None:
        query = query.where(table.c.event_type == event_type)
    with runtime.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def count(runtime: ServiceRuntime, what: Any) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(what)) or 0)


def inbox_ids(runtime: ServiceRuntime) -> list[str]:
    table = runtime.definition.tables.inbox
    with runtime.db.engine.connect() as conn:
        return list(conn.scalars(select(table.c.event_id)))


def on_hand(runtime: ServiceRuntime, sku: str) -> Decimal:
    with runtime.uow() as uow:
        return inventory_service.item_stock(uow, sku).on_hand


def receipts_of(runtime: ServiceRuntime, sku: str) -> int:
    with runtime.db.session() as session:
        query = (
            select(func.count())
            .select_from(StockTransaction)
            .join(Item, Item.id == StockTransaction.item_id)
            .where(Item.sku == sku, StockTransaction.txn_type == "receipt")
        )
        return int(session.scalar(query) or 0)


async def deliver(plant: Plant, *envelopes: Envelope) -> None:
    await asyncio.wait_for(plant.bus.publish(list(envelopes)), WITHIN)


# --------------------------------------------------------------------------------------------
# Unit of work and the outbox
# --------------------------------------------------------------------------------------------


async def test_a_unit_of_work_that_fails_before_commit_leaves_no_item_and_no_event(
    inventory: ServiceRuntime,
) -> None:
    with pytest.raises(RuntimeError, match="power cut"), inventory.uow() as uow:
        inventory_service.create_item(uow, RESIN)
        assert len(uow.pending_events) == 1
        raise RuntimeError("power cut before commit")

    assert count(inventory, Item) == 0
    assert outbox(inventory) == []
    assert count(inventory, inventory.definition.tables.event_sequences) == 0


async def test_a_unit_of_work_left_without_commit_changes_nothing(
    inventory: ServiceRuntime,
) -> None:
    with inventory.uow() as uow:
        inventory_service.create_item(uow, RESIN)

    assert count(inventory, Item) == 0
    assert outbox(inventory) == []


async def test_the_change_and_its_event_are_committed_together(inventory: ServiceRuntime) -> None:
    create_items(inventory, RESIN)

    (row,) = outbox(inventory)
    envelope = Envelope.model_validate_json(row["envelope"])
    assert count(inventory, Item) == 1
    assert (row["event_type"], row["key"], row["sequence"]) == ("ItemUpserted", "RESIN-GRY", 1)
    assert row["published_at"] is None
    assert str(envelope.id) == row["event_id"]
    assert (envelope.producer, envelope.sequence) == ("inventory", 1)
    assert envelope.payload["name"] == "Resin, grey, 1 L"


async def test_sequences_count_up_per_item_across_units_of_work(
    inventory: ServiceRuntime,
) -> None:
    create_items(inventory, RESIN)
    create_items(inventory, BOX)
    with inventory.uow() as uow:
        inventory_service.receive_material(uow, receipt("RESIN-GRY", "10", "2.50"), "e-1")
        inventory_service.receive_material(uow, receipt("RESIN-GRY", "30", "3.10"), "e-2")
        uow.commit()
    with inventory.uow() as uow:
        inventory_service.receive_material(uow, receipt("BOX-S", "200", "0.415"), "e-3")
        uow.commit()
    with inventory.uow() as uow:
        inventory_service.receive_material(uow, receipt("RESIN-GRY", "5", "2.50"), "e-4")
        uow.commit()

    # Two receipts of the resin in one unit of work publish its stock once, as of the commit.
    sequences = [(r["key"], r["event_type"], r["sequence"]) for r in outbox(inventory)]
    assert sequences == [
        ("RESIN-GRY", "ItemUpserted", 1),
        ("BOX-S", "ItemUpserted", 1),
        ("RESIN-GRY", "StockChanged", 2),
        ("BOX-S", "StockChanged", 2),
        ("RESIN-GRY", "StockChanged", 3),
    ]
    stamped = [Envelope.model_validate_json(r["envelope"]).sequence for r in outbox(inventory)]
    assert stamped == [1, 1, 2, 2, 3]
    resin_after_both = Envelope.model_validate_json(outbox(inventory)[2]["envelope"])
    assert Decimal(resin_after_both.payload["on_hand"]) == 40


async def test_a_rolled_back_unit_of_work_does_not_use_up_a_sequence(
    inventory: ServiceRuntime,
) -> None:
    with pytest.raises(RuntimeError), inventory.uow() as uow:
        inventory_service.create_item(uow, RESIN)
        raise RuntimeError("refused")
    create_items(inventory, RESIN)

    assert [r["sequence"] for r in outbox(inventory)] == [1]


async def test_events_added_inside_a_failed_savepoint_are_discarded(
    inventory: ServiceRuntime,
) -> None:
    with inventory.uow() as uow:
        inventory_service.create_item(uow, RESIN)
        with pytest.raises(RuntimeError), uow.savepoint():
            inventory_service.create_item(uow, BOX)
            raise RuntimeError("box refused")
        assert [e.key for e in uow.pending_events] == ["RESIN-GRY"]
        uow.commit()

    assert [r["key"] for r in outbox(inventory)] == ["RESIN-GRY"]
    with inventory.db.session() as session:
        assert list(session.scalars(select(Item.sku))) == ["RESIN-GRY"]


# --------------------------------------------------------------------------------------------
# The relay
# --------------------------------------------------------------------------------------------


def killed_before_marking(ids: list[int]) -> None:
    """Stands in for `_mark_published` when the relay dies right after the broker confirmed."""
    raise RuntimeError("relay killed after publish, before marking")


class RecordingBus(InProcessBus):
    """A broker that confirms everything and remembers each publish call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[Publishable]] = []

    async def publish(self, messages: Sequence[Publishable]) -> None:
        self.calls.append(list(messages))


async def test_the_relay_publishes_in_outbox_order_and_marks_rows_published(
    inventory: ServiceRuntime,
) -> None:
    create_items(inventory, RESIN, BOX)
    for n, (sku, qty, cost) in enumerate(
        [("RESIN-GRY", "10", "2.50"), ("BOX-S", "5", "0.415"), ("RESIN-GRY", "1", "3.00")]
    ):
        with inventory.uow() as uow:
            inventory_service.receive_material(uow, receipt(sku, qty, cost), f"e-{n}")
            uow.commit()
    broker = RecordingBus()
    relay = OutboxRelay(
        "inventory", inventory.db, inventory.definition.tables, broker, batch_size=2
    )
    assert relay.backlog() == 5

    published = [await relay.publish_pending() for _ in range(4)]

    assert published == [2, 2, 1, 0]
    assert [len(call) for call in broker.calls] == [2, 2, 1]
    sent = [m for call in broker.calls for m in call]
    assert all(isinstance(m, OutboundMessage) for m in sent)
    # Published as stored: the row's JSON is the message body, not parsed and written again.
    rows = outbox(inventory)
    assert [str(m.id) for m in sent] == [r["event_id"] for r in rows]
    assert [m.body for m in sent if isinstance(m, OutboundMessage)] == [
        r["envelope"].encode() for r in rows
    ]
    assert [(m.type, m.key, m.sequence) for m in sent] == [
        (r["event_type"], r["key"], r["sequence"]) for r in rows
    ]
    assert all(r["published_at"] is not None for r in outbox(inventory))
    assert relay.backlog() == 0
    assert relay.published_total == 5


async def test_a_relay_crash_after_publishing_republishes_and_inventory_books_the_receipt_once(
    plant: Plant,
    inventory: ServiceRuntime,
    purchasing: ServiceRuntime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Inventory creates the resin; purchasing learns of it from ItemUpserted.
    create_items(inventory, RESIN)
    assert await inventory.relay.publish_pending() == 1
    # A buyer orders 10 L at 2.50, submits, and the dock receives all 10.
    with purchasing.uow() as uow:
        purchasing_service.create_vendor(uow, VendorCreate(code="ACME", name="Acme Supplies"))
        po = purchasing_service.create_purchase_order(
            uow,
            PurchaseOrderCreate(
                vendor_code="ACME",
                order_date=date(2025, 3, 1),
                lines=[PoLineCreate(sku="RESIN-GRY", qty=D(10), unit_cost=D("2.50"))],
            ),
            date(2025, 3, 1),
        )
        uow.commit()
    with purchasing.uow() as uow:
        purchasing_service.submit_purchase_order(uow, po.number)
        purchasing_service.receive_purchase_order(
            uow,
            po.number,
            ReceiptCreate(lines=[ReceiptLineIn(line_no=1, qty=D(10))]),
            "dock",
            Settings(),
        )
        uow.commit()
    backlog = purchasing.relay.backlog()
    # PO created; then, in one unit of work, submitted and received: one MaterialReceived and
    # the PO's state as of that commit (its submitted state in between is superseded).
    assert backlog == 3

    monkeypatch.setattr(purchasing.relay, "_mark_published", killed_before_marking)
    with pytest.raises(RuntimeError, match="relay killed"):
        await purchasing.relay.publish_pending()
    assert on_hand(inventory, "RESIN-GRY") == D(10)  # published means committed downstream
    assert purchasing.relay.backlog() == backlog
    monkeypatch.undo()

    assert await purchasing.relay.publish_pending() == backlog  # the restarted relay sends again

    assert purchasing.relay.backlog() == 0
    assert inventory.dead_letters.entries() == []
    assert on_hand(inventory, "RESIN-GRY") == D(10)
    assert receipts_of(inventory, "RESIN-GRY") == 1
    assert len(outbox(inventory, "StockChanged")) == 1
    (received,) = outbox(purchasing, "MaterialReceived")
    assert inbox_ids(inventory) == [received["event_id"]]


async def test_a_relay_crash_does_not_duplicate_purchasing_copy_of_an_item(
    inventory: ServiceRuntime, purchasing: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_items(inventory, RESIN)
    with monkeypatch.context() as patch:
        patch.setattr(inventory.relay, "_mark_published", killed_before_marking)
        with pytest.raises(RuntimeError):
            await inventory.relay.publish_pending()

    assert await inventory.relay.publish_pending() == 1

    with purchasing.db.session() as session:
        known = list(session.scalars(select(KnownItem)))
    assert [(k.sku, k.name, k.sequence) for k in known] == [("RESIN-GRY", "Resin, grey, 1 L", 1)]
    (upserted,) = outbox(inventory, "ItemUpserted")
    assert inbox_ids(purchasing) == [upserted["event_id"]]


# --------------------------------------------------------------------------------------------
# The inbox
# --------------------------------------------------------------------------------------------


async def test_a_redelivered_receipt_is_booked_once(
    plant: Plant, inventory: ServiceRuntime
) -> None:
    create_items(inventory, RESIN)
    delivery = material_received("RESIN-GRY", "10", "2.50")

    await deliver(plant, delivery)
    await deliver(plant, delivery)

    assert on_hand(inventory, "RESIN-GRY") == D(10)
    assert receipts_of(inventory, "RESIN-GRY") == 1
    assert len(outbox(inventory, "StockChanged")) == 1
    assert inbox_ids(inventory) == [str(delivery.id)]
    assert plant.bus.dead_letters("inventory") == []
    assert inventory.dead_letters.entries() == []


async def test_the_same_receipt_twice_in_one_batch_is_booked_once(
    plant: Plant, inventory: ServiceRuntime
) -> None:
    create_items(inventory, RESIN)
    delivery = material_received("RESIN-GRY", "10", "2.50")

    await deliver(plant, delivery, delivery)

    assert on_hand(inventory, "RESIN-GRY") == D(10)
    assert receipts_of(inventory, "RESIN-GRY") == 1
    assert len(outbox(inventory, "StockChanged")) == 1
    assert inventory.dead_letters.entries() == []


async def test_a_receipt_for_an_unknown_item_is_dead_lettered_and_replayed_once_it_exists(
    plant: Plant, inventory: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: dict[str, int] = {}
    receive = inventory_service.receive_material

    def counting(uow: UnitOfWork, received: MaterialReceived, source_event_id: str) -> None:
        attempts[received.sku] = attempts.get(received.sku, 0) + 1
        receive(uow, received, source_event_id)

    monkeypatch.setattr(inventory_service, "receive_material", counting)
    create_items(inventory, RESIN)
    first = material_received("RESIN-GRY", "10", "2.50", line_no=1)
    poison = material_received("CLEAR-RESIN", "5", "4.00", line_no=2)
    last = material_received("RESIN-GRY", "4", "2.50", line_no=3)

    await deliver(plant, first, poison, last)

    # The batch went together first and failed on the poison (1 call each for first and
    # poison), then carefully: first applied (2), poison failed and retried alone up to
    # MAX_ATTEMPTS, and only then last (3), which has the same key (the PO) and waited behind it.
    assert attempts == {"RESIN-GRY": 3, "CLEAR-RESIN": MAX_ATTEMPTS + 1}
    assert on_hand(inventory, "RESIN-GRY") == D(14)
    assert plant.bus.dead_letters("inventory") == [poison]
    (letter,) = inventory.dead_letters.entries()
    assert letter.event_id == str(poison.id)
    assert letter.envelope == poison
    assert letter.attempts == MAX_ATTEMPTS
    assert "UnknownItem" in letter.error
    assert "no item with SKU 'CLEAR-RESIN'" in letter.error
    assert letter.replayed_at is None
    assert str(poison.id) not in inbox_ids(inventory)

    # Replayed before the fix: still failing, and the count of attempts goes on.
    assert inventory.dead_letters.replay() == (0, 1)
    assert inventory.dead_letters.entries()[0].attempts == MAX_ATTEMPTS + 1

    create_items(inventory, ItemCreate(sku="CLEAR-RESIN", name="Resin, clear, 1 L", uom="L"))
    assert inventory.dead_letters.replay() == (1, 0)

    assert on_hand(inventory, "CLEAR-RESIN") == D(5)
    assert inventory.dead_letters.entries() == []
    (replayed,) = inventory.dead_letters.entries(include_replayed=True)
    assert replayed.replayed_at is not None
    assert str(poison.id) in inbox_ids(inventory)

    assert inventory.dead_letters.replay() == (0, 0)
    assert on_hand(inventory, "CLEAR-RESIN") == D(5)
    assert receipts_of(inventory, "CLEAR-RESIN") == 1
    assert [r["key"] for r in outbox(inventory, "StockChanged")] == [
        "RESIN-GRY",
        "RESIN-GRY",
        "CLEAR-RESIN",
    ]


async def test_a_failing_handler_leaves_neither_its_rows_nor_its_events(
    inventory: ServiceRuntime,
) -> None:
    def register_item(envelope: Envelope, uow: UnitOfWork) -> None:
        inventory_service.create_item(uow, ItemCreate(**envelope.payload["item"]))
        if envelope.payload.get("fail"):
            raise RuntimeError("label printer jammed")

    consumer = InboxConsumer("inventory", {"ItemRequested": register_item}, inventory.uow)
    ok = Envelope(
        type="ItemRequested", producer="test", key="RESIN-GRY", payload={"item": RESIN.model_dump()}
    )
    jammed = Envelope(
        type="ItemRequested",
        producer="test",
        key="BOX-S",
        payload={"item": BOX.model_dump(mode="json"), "fail": True},
    )

    failed = consumer.apply_batch([ok, jammed])

    assert [(f.envelope, "label printer jammed" in f.error, f.held_back) for f in failed] == [
        (jammed, True, ())
    ]
    assert [(r["event_type"], r["key"]) for r in outbox(inventory)] == [
        ("ItemUpserted", "RESIN-GRY")
    ]
    with inventory.db.session() as session:
        assert list(session.scalars(select(Item.sku))) == ["RESIN-GRY"]
    assert inbox_ids(inventory) == [str(ok.id)]


async def test_events_produced_by_a_handler_carry_its_envelope_as_cause(
    plant: Plant, inventory: ServiceRuntime
) -> None:
    create_items(inventory, RESIN)
    delivery = material_received("RESIN-GRY", "10", "2.50")
    delivery = delivery.model_copy(update={"correlation_id": "req-42"})

    await deliver(plant, delivery)

    (changed,) = outbox(inventory, "StockChanged")
    envelope = Envelope.model_validate_json(changed["envelope"])
    assert envelope.causation_id == str(delivery.id)
    assert envelope.correlation_id == "req-42"


# --------------------------------------------------------------------------------------------
# Idempotency-Key through inventory's HTTP API
# --------------------------------------------------------------------------------------------

echo_router = APIRouter(prefix="/api/v1")
echo_actions: list[str] = []


@echo_router.post("/test-only/echo")
def echo(request: Request, _: CurrentUser) -> JSONResponse:
    """A second command route, so a key can be reused on another path (by the same caller)."""

    def action(uow: UnitOfWork) -> dict[str, str]:
        echo_actions.append("ran")
        return {"echo": "ok"}

    return run_command(request, action)


@pytest.fixture
async def inventory_api(plant: Plant) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    base = inventory_definition()
    runtime = await plant.start(dataclasses.replace(base, routers=[*base.routers, echo_router]))
    token = issue_service_token(SECRET, user="maria", roles=["admin"], ttl_seconds=60)
    echo_actions.clear()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://inventory.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield runtime, client


async def test_a_retried_item_creation_returns_the_first_answer_and_creates_one_item(
    inventory_api: tuple[ServiceRuntime, httpx.AsyncClient],
) -> None:
    runtime, client = inventory_api
    key = {"Idempotency-Key": f"create-resin-{uuid.uuid4()}"}
    body = {"sku": "RESIN-GRY", "name": "Resin, grey, 1 L", "uom": "L"}

    first = await client.post("/api/v1/items", json=body, headers=key)
    retry = await client.post("/api/v1/items", json=body, headers=key)

    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert first.json()["sku"] == "RESIN-GRY"
    assert count(runtime, Item) == 1
    assert len(outbox(runtime, "ItemUpserted")) == 1


async def test_without_a_key_a_repeated_creation_is_refused_as_a_duplicate(
    inventory_api: tuple[ServiceRuntime, httpx.AsyncClient],
) -> None:
    runtime, client = inventory_api
    body = {"sku": "RESIN-GRY", "name": "Resin, grey, 1 L", "uom": "L"}

    assert (await client.post("/api/v1/items", json=body)).status_code == 201
    again = await client.post("/api/v1/items", json=body)

    assert again.status_code == 409
    assert again.json()["field"] == "sku"
    assert len(outbox(runtime, "ItemUpserted")) == 1


async def test_a_key_reused_on_another_path_is_refused_naming_the_header(
    inventory_api: tuple[ServiceRuntime, httpx.AsyncClient],
) -> None:
    runtime, client = inventory_api
    key = {"Idempotency-Key": "shared-key-1"}
    body = {"sku": "RESIN-GRY", "name": "Resin, grey, 1 L", "uom": "L"}
    assert (await client.post("/api/v1/items", json=body, headers=key)).status_code == 201

    reused = await client.post("/api/v1/test-only/echo", headers=key)

    assert reused.status_code == 422, reused.text
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["field"] == "Idempotency-Key"
    assert "POST /api/v1/items" in reused.json()["detail"]
    assert echo_actions == []
    assert count(runtime, Item) == 1
