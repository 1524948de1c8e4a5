"""Wires the downtime service: its tables, routes, event handlers, migrations and the machine
signal worker."""

from __future__ import annotations

from pathlib import Path

from services.downtime.entries import api as entries_api
from services.downtime.handlers import HANDLERS
from services.downtime.models import messaging, metadata
from services.downtime.plant import api as plant_api
from services.downtime.reasons import api as reasons_api
from services.downtime.reports import api as reports_api
from services.downtime.signals.worker import run_machine_signals
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="downtime",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[plant_api.router, reasons_api.router, entries_api.router, reports_api.router],
        handlers=HANDLERS,
        seed=None,
        workers=[run_machine_signals],
    )
