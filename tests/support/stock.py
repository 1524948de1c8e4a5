"""An inventory service of its own for stock tests: SQLite (or a PostgreSQL URL), migrated and
seeded, with helpers to create items, receive material, deliver events through the real inbox
consumer, and check that every balance equals the sum of its ledger rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

from sqlalchemy import select

from services import registry
from services.inventory import service
from services.inventory.models import Item, StockBalance, StockTransaction
from services.inventory.schemas import ItemCreate, ItemType, MakeOrBuy
from shared.bus.inprocess import InProcessBus
from shared.events.catalogue import EventPayload, MaterialReceived, validate_payload
from shared.events.envelope import Envelope
from shared.messaging.inbox import Failure
from shared.runtime import ServiceRuntime
from shared.settings import Settings

SECRET = "stock-test-secret-" + "x" * 40
_receipts = count(1)
_clock = count(0)


def inventory_runtime(tmp_path: Path, db_url: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime(
        registry.definition("inventory"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    return runtime


def add_item(
    runtime: ServiceRuntime,
    sku: str,
    *,
    item_type: ItemType = ItemType.RAW,
    make_or_buy: MakeOrBuy = MakeOrBuy.BUY,
    requires_qc: bool = True,
) -> None:
    with runtime.uow() as uow:
        service.create_item(
            uow,
            ItemCreate(
                sku=sku,
                name=sku.title(),
                item_type=item_type,
                make_or_buy=make_or_buy,
                requires_qc=requires_qc,
            ),
        )
        uow.commit()


def envelope(payload: EventPayload, key: str) -> Envelope:
    """A new envelope (a new id) around `payload`, as the producer's relay would send it."""
    return Envelope(
        type=payload.event_type,
        version=payload.version,
        producer="test",
        key=key,
        payload=validate_payload(payload.event_type, payload),
    )


def deliver(runtime: ServiceRuntime, *envelopes: Envelope) -> list[Failure]:
    """Apply the envelopes as the consumer does (one batch); the failures, for a retry."""
    return runtime.consumer.apply_batch(list(envelopes))


def moment() -> datetime:
    """A later instant at every call, so lots received one after another have an order."""
    return datetime(2026, 3, 1, 8, tzinfo=UTC) + timedelta(minutes=next(_clock))


def receive(
    runtime: ServiceRuntime,
    sku: str,
    qty: str | Decimal,
    value: str | Decimal,
    *,
    lot: str | None = None,
    to_status: str = "approved",
) -> None:
    number = next(_receipts)
    qty, value = Decimal(qty), Decimal(value)
    payload = MaterialReceived(
        po_number=f"PO-2026-{number:05d}",
        line_no=1,
        receipt_id=f"RCV-{number}",
        sku=sku,
        qty=qty,
        unit_cost=(value / qty).quantize(Decimal("0.0001")),
        value=value,
        lot=lot,
        to_status=to_status,  # type: ignore[arg-type]
        vendor_code="ACME",
        received_at=moment(),
    )
    failures = deliver(runtime, envelope(payload, payload.po_number))
    assert not failures, failures[0].error


def balances(
    runtime: ServiceRuntime, sku: str
) -> dict[tuple[str, str, str], tuple[Decimal, Decimal]]:
    """The item's non-zero balances: (location, lot, status) -> (qty, value)."""
    with runtime.uow() as uow:
        rows = uow.session.execute(
            select(StockBalance).join(Item, Item.id == StockBalance.item_id).where(Item.sku == sku)
        ).scalars()
        return {
            (b.location_code, b.lot, b.status): (b.qty, b.value)
            for b in rows
            if b.qty != 0 or b.value != 0
        }


def assert_ledger_matches_balances(runtime: ServiceRuntime) -> None:
    """Every balance, quantity and value, is the sum of its ledger rows (and no ledger sum is
    without its balance)."""
    with runtime.uow() as uow:
        ledger: dict[tuple[int, str, str, str], list[Decimal]] = defaultdict(
            lambda: [Decimal(0), Decimal(0)]
        )
        for t in uow.session.scalars(select(StockTransaction)):
            sums = ledger[(t.item_id, t.location_code, t.lot, t.status)]
            sums[0] += t.qty
            sums[1] += t.value
        stored = {
            (b.item_id, b.location_code, b.lot, b.status): [b.qty, b.value]
            for b in uow.session.scalars(select(StockBalance))
        }
    assert {k: v for k, v in ledger.items() if v != [0, 0]} == {
        k: v for k, v in stored.items() if v != [0, 0]
    }
