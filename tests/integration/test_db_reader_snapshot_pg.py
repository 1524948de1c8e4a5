"""A read on PostgreSQL sees one snapshot for all its statements (shared/db.py): a list's page
and its total, or an item's balances and its reservations, read in two statements never straddle
a commit made between them. Under READ COMMITTED each statement saw its own: a total of 3 for a
page of 2, or five orders started on 5 kg read as "available 2". A writer keeps READ COMMITTED
(its row locks and upserts rely on it)."""

from __future__ import annotations

from sqlalchemy import text

from shared.db import Database
from tests.support import servers


def test_a_reads_statements_share_one_snapshot_and_a_writers_do_not(
    postgres: servers.PostgresDatabases,
) -> None:
    db = Database(postgres.create("snapshot"))
    try:
        with db.session() as session:
            session.execute(text("CREATE TABLE counted (n integer)"))
            session.execute(text("INSERT INTO counted VALUES (1), (2)"))

        def insert_one_elsewhere() -> None:
            with db.engine.begin() as other:
                other.execute(text("INSERT INTO counted VALUES (3)"))

        count = text("SELECT count(*) FROM counted")
        with db.reader() as reading:
            before = reading.execute(count).scalar_one()
            insert_one_elsewhere()
            after = reading.execute(count).scalar_one()
        assert (before, after) == (2, 2)

        with db.session() as writing:
            before = writing.execute(count).scalar_one()
            insert_one_elsewhere()
            after = writing.execute(count).scalar_one()
        assert (before, after) == (3, 4)

        with db.reader() as reading:
            assert reading.execute(count).scalar_one() == 4
            level = reading.execute(text("SHOW transaction_isolation")).scalar_one()
            assert level == "repeatable read"
        with db.session() as writing:
            level = writing.execute(text("SHOW transaction_isolation")).scalar_one()
            assert level == "read committed"  # the pool's connection came back reset
    finally:
        db.dispose()
