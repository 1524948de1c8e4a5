"""The audit log's producer side: who changed what, from where, committed with the change."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from uuid import UUID

import pytest
from openpyxl import load_workbook
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase

from shared import context
from shared.audit import json_safe, record_change, snapshot
from shared.auth.tokens import TokenClaims, issue_service_token, verify_service_token
from shared.db import Database
from shared.events.catalogue import AuditRecorded
from shared.events.envelope import Envelope
from shared.messaging.tables import MessagingTables, messaging_tables
from shared.uow import UnitOfWork
from shared.web.xlsx import workbook_bytes

SECRET = "a-test-secret-of-enough-length-for-hs256"


class Base(DeclarativeBase):
    pass


tables: MessagingTables = messaging_tables(Base.metadata)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    Base.metadata.create_all(database.engine)
    return database


def uow_of(db: Database) -> UnitOfWork:
    return UnitOfWork(db, tables, "inventory")


def maria(ip: str | None = "10.0.4.17") -> TokenClaims:
    return TokenClaims(
        user="maria",
        roles=("store",),
        name="María López",
        expires_at=datetime.now(UTC) + timedelta(minutes=1),
        ip=ip,
    )


@pytest.fixture
def signed_in_request() -> Iterator[None]:
    with context.request_scope("req-42", "corr-7"):
        context.set_current_user(maria())
        yield


def outbox(db: Database) -> list[Envelope]:
    with db.reader() as session:
        rows = session.scalars(select(tables.outbox.c.envelope).order_by(tables.outbox.c.id))
        return [Envelope.model_validate_json(row) for row in rows]


class ItemView(BaseModel):
    sku: str
    average_cost: Decimal
    updated_at: datetime


def test_a_change_by_a_user_records_who_from_where_and_the_thing_before_and_after(
    db: Database, signed_in_request: None
) -> None:
    before = ItemView(
        sku="RESIN", average_cost=Decimal("2.50"), updated_at=datetime(2025, 3, 4, tzinfo=UTC)
    )
    after = {
        "sku": "RESIN",
        "average_cost": Decimal("2.9500"),
        "updated_at": datetime(2025, 3, 5, tzinfo=UTC),
    }
    with uow_of(db) as uow:
        record_change(uow, "inventory.items.update", "item", "RESIN", before, after)
        uow.commit()

    [envelope] = outbox(db)
    assert envelope.type == "AuditRecorded"
    assert envelope.correlation_id == "corr-7"
    recorded = AuditRecorded.model_validate(envelope.payload)
    assert (recorded.service, recorded.actor, recorded.actor_name, recorded.ip) == (
        "inventory",
        "maria",
        "María López",
        "10.0.4.17",
    )
    assert (recorded.action, recorded.entity_type, recorded.entity_id) == (
        "inventory.items.update",
        "item",
        "RESIN",
    )
    assert (recorded.request_id, recorded.correlation_id) == ("req-42", "corr-7")
    assert recorded.before == {
        "sku": "RESIN",
        "average_cost": "2.50",
        "updated_at": "2025-03-04T00:00:00Z",
    }
    assert recorded.after == {
        "sku": "RESIN",
        "average_cost": "2.9500",
        "updated_at": "2025-03-05T00:00:00+00:00",
    }


def test_the_audit_entry_rolls_back_with_the_change(db: Database, signed_in_request: None) -> None:
    with uow_of(db) as uow:
        record_change(uow, "inventory.items.create", "item", "RESIN", None, {"sku": "RESIN"})
        # no commit: the request failed

    assert outbox(db) == []


def test_a_change_without_a_user_is_not_a_user_action(db: Database) -> None:
    with (
        context.event_context(
            Envelope(type="MaterialReceived", producer="purchasing", key="PO-1", payload={})
        ),
        uow_of(db) as uow,
    ):
        assert record_change(uow, "inventory.stock.receive", "item", "RESIN", None, {}) is None
        assert uow.pending_events == []


def test_a_creation_has_no_before_and_values_too_long_for_the_log_are_clipped(
    db: Database,
) -> None:
    long_id = "X" * 500
    with context.request_scope("r" * 128, "c" * 128):
        context.set_current_user(maria(ip="f" * 60))
        with uow_of(db) as uow:
            envelope = record_change(uow, "inventory.items.create", "item", long_id, None, {"a": 1})
            uow.commit()

    assert envelope is not None
    recorded = AuditRecorded.model_validate(envelope.payload)
    assert recorded.before is None and recorded.after == {"a": 1}
    limits = AuditRecorded.MAX_LENGTHS
    assert len(recorded.entity_id) == limits["entity_id"]
    assert recorded.ip is not None and len(recorded.ip) == limits["ip"]
    assert recorded.request_id is not None and len(recorded.request_id) == limits["request_id"]


def test_the_audit_trail_takes_no_sequence_numbers_from_the_things_own_events(
    db: Database, signed_in_request: None
) -> None:
    with uow_of(db) as uow:
        record_change(uow, "inventory.items.create", "item", "RESIN", None, {"sku": "RESIN"})
        uow.commit()

    [envelope] = outbox(db)
    assert envelope.key == "audit:item:RESIN"


class Colour(StrEnum):
    GREY = "grey"


def test_json_safe_keeps_money_exact_and_times_readable() -> None:
    value = {
        "qty": Decimal("1E+2"),
        "cost": Decimal("0.10"),
        "day": date(2025, 3, 4),
        "colour": Colour.GREY,
        "id": UUID("12345678-1234-5678-1234-567812345678"),
        "lines": ({"qty": Decimal("3")},),
        "active": True,
        "none": None,
    }
    safe = json_safe(value)

    assert safe == {
        "qty": "100",
        "cost": "0.10",
        "day": "2025-03-04",
        "colour": "grey",
        "id": "12345678-1234-5678-1234-567812345678",
        "lines": [{"qty": "3"}],
        "active": True,
        "none": None,
    }
    assert json.loads(json.dumps(safe)) == safe
    assert snapshot(None) is None


def test_the_service_token_carries_the_address_the_gateway_saw() -> None:
    with_ip = issue_service_token(
        SECRET, user="maria", roles=["store"], ttl_seconds=30, ip="10.0.4.17"
    )
    without = issue_service_token(SECRET, user="maria", roles=["store"], ttl_seconds=30)

    assert verify_service_token(SECRET, with_ip).ip == "10.0.4.17"
    assert verify_service_token(SECRET, without).ip is None


def test_an_exported_value_typed_like_a_formula_stays_text() -> None:
    book = workbook_bytes("Audit log", ["Entity"], [['=HYPERLINK("http://x","y")'], ["RESIN"]])
    sheet = load_workbook(io.BytesIO(book)).worksheets[0]

    assert [(cell.data_type, cell.value) for cell in sheet["A"][1:]] == [
        ("s", '=HYPERLINK("http://x","y")'),
        ("s", "RESIN"),
    ]


def test_an_exported_value_with_control_characters_is_written_without_them() -> None:
    # openpyxl refuses \x1b and friends; one such name must not fail the whole export.
    book = workbook_bytes("Accounts", ["Name"], [["Resin\x1b stock\x00"], ["Cash"]])
    sheet = load_workbook(io.BytesIO(book)).worksheets[0]

    assert [cell.value for cell in sheet["A"][1:]] == ["Resin stock", "Cash"]
