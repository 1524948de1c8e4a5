"""Wires the production service: its tables, routes, event handlers, migrations and seed data."""

from __future__ import annotations

from pathlib import Path

from services.production import api
from services.production.handlers import HANDLERS
from services.production.models import messaging, metadata
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="production",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[api.router],
        handlers=HANDLERS,
        seed=None,
    )
