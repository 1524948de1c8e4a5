"""Wires the mrp service: its tables, routes, event handlers, migrations and seed data."""

from __future__ import annotations

from pathlib import Path

from services.mrp import api
from services.mrp.erp import api as erp_api
from services.mrp.handlers import HANDLERS
from services.mrp.models import messaging, metadata
from services.mrp.runs import api as runs_api
from services.mrp.sales import api as sales_api
from services.mrp.schedule import api as schedule_api
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="mrp",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[
            api.router,
            sales_api.router,
            schedule_api.router,
            runs_api.router,
            erp_api.router,
        ],
        handlers=HANDLERS,
        seed=None,
    )
