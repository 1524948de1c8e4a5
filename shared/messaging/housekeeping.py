"""Keeping the messaging tables small: published outbox rows and old inbox ids are purged.

A published outbox row is history once the broker confirmed it; it is kept a while for
inspection. An inbox id must outlive any redelivery of its envelope (a broker keeps an unacked
message only as long as a consumer is down or a dead letter waits), so it is kept far longer.
Dead letters are never purged: someone must look at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from shared.db import Database
from shared.messaging.tables import MessagingTables


@dataclass(frozen=True)
class Purged:
    outbox: int
    inbox: int


def purge_messaging_tables(
    db: Database, tables: MessagingTables, now: datetime, *, outbox_days: int, inbox_days: int
) -> Purged:
    outbox, inbox = tables.outbox, tables.inbox
    with db.engine.begin() as conn:
        published = conn.execute(
            delete(outbox).where(
                outbox.c.published_at.is_not(None),
                outbox.c.published_at < now - timedelta(days=outbox_days),
            )
        )
        handled = conn.execute(
            delete(inbox).where(inbox.c.handled_at < now - timedelta(days=inbox_days))
        )
    return Purged(outbox=published.rowcount or 0, inbox=handled.rowcount or 0)
