"""Tables every service keeps for reliable messaging, in its own database.

- outbox: events written in the same transaction as the state change; the relay publishes them.
- event_sequences: the last sequence number given per event key (DESIGN §3 `sequence`).
- inbox: ids of envelopes already handled, written in the handler's transaction (dedupe).
- dead_letters: envelopes whose handler kept failing, with the error, until replayed.
- idempotency_keys: per caller and key, the request a command was sent with (method, path,
  SHA-256 of query and body) and its first response (shared/web/commands.py).

`messaging_tables(metadata)` adds them to a service's own MetaData so its Alembic migrations
and its models live side by side; `create_messaging_tables()` is the migration step.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from shared.types import UtcDateTime

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Id = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    event_sequences: Table
    inbox: Table
    dead_letters: Table
    idempotency_keys: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(80), nullable=False),
        Column("key", String(200), nullable=False),
        Column("sequence", BigInteger, nullable=False),
        Column("envelope", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
    )
    Index(
        "ix_outbox_unpublished",
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None),
        sqlite_where=outbox.c.published_at.is_(None),
    )
    event_sequences = Table(
        "event_sequences",
        metadata,
        Column("key", String(200), primary_key=True),
        Column("last_sequence", BigInteger, nullable=False),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(80), nullable=False),
        Column("handled_at", UtcDateTime(), nullable=False),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(80), nullable=False),
        Column("envelope", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("dead_at", UtcDateTime(), nullable=False),
        Column("replayed_at", UtcDateTime(), nullable=True),
    )
    idempotency_keys = Table(
        "idempotency_keys",
        metadata,
        Column("caller", String(150), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("method", String(10), nullable=False),
        Column("path", String(500), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("response_body", Text, nullable=True),
        Column("created_at", UtcDateTime(), nullable=False),
    )
    return MessagingTables(outbox, event_sequences, inbox, dead_letters, idempotency_keys)
