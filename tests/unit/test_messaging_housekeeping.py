"""Old published outbox rows and old inbox ids are purged; nothing unpublished, nothing recent,
and no dead letter is ever removed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from services.inventory.bootstrap import definition
from shared.db import Database
from shared.events.envelope import utc_now
from shared.messaging.housekeeping import purge_messaging_tables
from shared.migrations import upgrade


def test_purge_keeps_unpublished_and_recent_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    upgrade(definition(), url)
    db = Database(url)
    tables = definition().tables
    now = utc_now()
    old, recent = now - timedelta(days=40), now - timedelta(days=1)

    def outbox_row(n: int, published_at: object) -> dict[str, object]:
        return {
            "event_id": f"e-{n}",
            "event_type": "StockChanged",
            "key": "RESIN",
            "sequence": n,
            "envelope": "{}",
            "created_at": old,
            "published_at": published_at,
        }

    with db.engine.begin() as conn:
        conn.execute(
            insert(tables.outbox),
            [
                outbox_row(1, old),  # published long ago: purged
                outbox_row(2, recent),  # published yesterday: kept
                outbox_row(3, None),  # never published: kept, whatever its age
            ],
        )
        conn.execute(
            insert(tables.inbox),
            [
                {"event_id": "i-old", "event_type": "MaterialReceived", "handled_at": old},
                {"event_id": "i-new", "event_type": "MaterialReceived", "handled_at": recent},
            ],
        )
        conn.execute(
            insert(tables.dead_letters).values(
                event_id="d-1",
                event_type="MaterialReceived",
                envelope="{}",
                error="x",
                attempts=4,
                dead_at=old,
            )
        )

    purged = purge_messaging_tables(db, tables, now, outbox_days=7, inbox_days=30)

    assert (purged.outbox, purged.inbox) == (1, 1)
    with db.engine.connect() as conn:
        kept = sorted(conn.execute(select(tables.outbox.c.event_id)).scalars())
        inbox = list(conn.execute(select(tables.inbox.c.event_id)).scalars())
        dead = conn.execute(select(func.count()).select_from(tables.dead_letters)).scalar_one()
    assert kept == ["e-2", "e-3"]
    assert inbox == ["i-new"]
    assert dead == 1
    db.dispose()
