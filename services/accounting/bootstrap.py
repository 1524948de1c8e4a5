"""Wires the accounting service: its tables, routes, event handlers, migrations and chart."""

from __future__ import annotations

from pathlib import Path

from services.accounting import api, service
from services.accounting.handlers import HANDLERS
from services.accounting.models import messaging, metadata
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="accounting",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[api.router],
        handlers=HANDLERS,
        seed=service.seed_chart_of_accounts,
    )
