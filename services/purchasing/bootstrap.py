"""Wires the purchasing service: its tables, routes, event handlers, migrations and seed data."""

from __future__ import annotations

from pathlib import Path

from services.purchasing import api
from services.purchasing.handlers import HANDLERS
from services.purchasing.models import messaging, metadata
from services.purchasing.suggestions import api as suggestions_api
from services.purchasing.vendor_items import api as vendor_items_api
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="purchasing",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[api.router, vendor_items_api.router, suggestions_api.router],
        handlers=HANDLERS,
        seed=None,
    )
