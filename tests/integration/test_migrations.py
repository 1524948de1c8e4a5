"""Every service's migrations build exactly its models' schema, and go down and up again,
on SQLite (the embedded mode) and on PostgreSQL (a deployment)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from services import registry
from shared.migrations import alembic_config, upgrade
from shared.settings import SERVICES
from tests.support.servers import PostgresDatabases


def assert_round_trip_matches_models(service: str, url: str) -> None:
    definition = registry.definition(service)
    upgrade(definition, url)
    command.downgrade(alembic_config(definition, url), "base")
    upgrade(definition, url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), definition.metadata)
    finally:
        engine.dispose()
    assert differences == [], f"{service}: migrations and models differ: {differences}"


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models_on_sqlite(service: str, tmp_path: Path) -> None:
    assert_round_trip_matches_models(service, f"sqlite:///{tmp_path / f'{service}.db'}")


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models_on_postgresql(
    service: str, postgres: PostgresDatabases
) -> None:
    assert_round_trip_matches_models(service, postgres.create(service))
