"""Wires the downtime service: its tables, routes, event handlers, migrations and seed data."""

from __future__ import annotations

from pathlib import Path

from services.downtime import api
from services.downtime.handlers import HANDLERS
from services.downtime.models import messaging, metadata
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="downtime",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[api.router],
        handlers=HANDLERS,
        seed=None,
    )
