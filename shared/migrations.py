"""Alembic per service: each service keeps its own `migrations/` folder and version table.

A service's `migrations/env.py` is two lines: import the service's MetaData and call
`run_migrations(metadata)`. `upgrade(definition, url)` is what `portal migrate` and the runtime
call; it needs no alembic.ini.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool
from sqlalchemy.engine import make_url

from shared.db import is_sqlite, normalise_url
from shared.service import ServiceDefinition


def alembic_config(definition: ServiceDefinition, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(definition.migrations))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(definition: ServiceDefinition, url: str, revision: str = "head") -> None:
    database = make_url(normalise_url(url)).database
    if is_sqlite(url) and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(definition, url), revision)


def run_migrations(metadata: MetaData) -> None:
    """Body of every service's env.py, online or offline (--sql)."""
    url = context.config.get_main_option("sqlalchemy.url") or ""
    batch = is_sqlite(url)
    if context.is_offline_mode():
        context.configure(
            url=url, literal_binds=True, target_metadata=metadata, render_as_batch=batch
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=batch)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def make_append_only(table: str) -> None:
    """Migration step: the database itself refuses UPDATE and DELETE on a ledger table."""
    message = f"{table} is append-only: post a correcting entry instead"
    if context.get_bind().dialect.name == "postgresql":
        from alembic import op

        op.execute(
            "CREATE OR REPLACE FUNCTION portal_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: post a correcting entry instead', "
            "TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()"
        )
        return
    from alembic import op

    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
