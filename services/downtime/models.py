"""The downtime service's own tables. Its features come in later issues; for now it keeps the
messaging tables every service has (outbox, inbox, dead letters, idempotency keys)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.messaging.tables import messaging_tables


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
messaging = messaging_tables(metadata)
