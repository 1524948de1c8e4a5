"""Database access: one engine per service database, SQLite by default, PostgreSQL via psycopg 3.

SQLite is tuned for the embedded mode: WAL journal, foreign keys on, and every transaction that
may write opened with BEGIN IMMEDIATE, so two writers queue for the lock instead of failing
half-way with "database is locked" when a read transaction tries to upgrade. Read-only work
(API reads, the readiness ping, the relay's reads of its outbox) goes through `Database.reader`
instead: a plain deferred BEGIN, which under WAL reads a snapshot without waiting for a writer.
On PostgreSQL both are the same pool; a reader's transaction is REPEATABLE READ, so every
statement of one read sees the same snapshot, as on SQLite: a page and its total, or an item's
balances and its reservations, never straddle a commit made between two statements (READ
COMMITTED gives each statement its own). A read-only transaction at that level never fails
with a serialization error.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, FromClause, TableClause, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# Execution option on the reader engine: its SQLite transactions begin DEFERRED.
READ_ONLY = "portal_read_only"


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and route them to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def dialect_insert(
    bind: Session | Connection | str, table: FromClause
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with ON CONFLICT support for the dialect of `bind` (a session, a connection,
    or a dialect name): PostgreSQL's, else SQLite's."""
    if isinstance(bind, str):
        name = bind
    else:
        name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    target = cast(TableClause, table)  # a mapped class's __table__ is typed as a FromClause
    if name == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if is_sqlite(url):
        return _sqlite_engine(url)
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN IMMEDIATE and SAVEPOINT work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    raise RuntimeError("a read-only session cannot write; use a unit of work that may write")


class Database:
    """A service's database: its engine, a session factory for writers and one for readers."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine = create_db_engine(self.url, pool_size=pool_size)
        # The same pool; on SQLite its transactions begin DEFERRED, on PostgreSQL they read one
        # snapshot (see the module docstring).
        reading: dict[str, Any] = {READ_ONLY: True}
        if self.engine.dialect.name == "postgresql":
            reading["isolation_level"] = "REPEATABLE READ"
        self.reader_engine = self.engine.execution_options(**reading)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self.readers = sessionmaker(self.reader_engine, expire_on_commit=False, autoflush=True)
        event.listen(self.readers, "before_flush", _refuse_writes)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session outside the unit of work that may write (BEGIN IMMEDIATE on SQLite)."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session: never waits for SQLite's write lock; ORM writes are refused."""
        with self.readers() as session, session.begin():
            yield session

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold a database-wide lock named `name` for the block (PostgreSQL advisory lock).

        Replicas of a service that start together migrate and seed one after the other, so
        two gateways never both create the first admin. SQLite has one process: a no-op.
        """
        if self.dialect != "postgresql":
            yield
            return
        key = zlib.crc32(f"portal.{name}".encode())
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    def ping(self) -> bool:
        try:
            with self.reader_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
