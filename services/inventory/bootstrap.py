"""Wires the inventory service: its tables, routes, event handlers, migrations and seed data."""

from __future__ import annotations

from pathlib import Path

from services.inventory import api, service
from services.inventory.handlers import HANDLERS
from services.inventory.models import messaging, metadata
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="inventory",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[api.router],
        handlers=HANDLERS,
        seed=service.seed_locations,
    )
