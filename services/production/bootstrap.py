"""Wires the production service: its tables, routes, event handlers, migrations and seed data."""

from __future__ import annotations

from pathlib import Path

from services.production import api
from services.production.bom import api as bom_api
from services.production.handlers import HANDLERS
from services.production.items import api as items_api
from services.production.models import messaging, metadata
from services.production.orders import api as orders_api
from services.production.reports import api as reports_api
from services.production.scrap import api as scrap_api
from services.production.scrap.service import seed_scrap_codes
from shared.service import ServiceDefinition
from shared.settings import Settings
from shared.uow import UnitOfWork


def seed(uow: UnitOfWork, settings: Settings) -> None:
    """Reference data every installation needs: the standard scrap reason codes."""
    seed_scrap_codes(uow, settings)


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="production",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[
            api.router,
            bom_api.router,
            orders_api.router,
            scrap_api.router,
            reports_api.router,
            items_api.router,
        ],
        handlers=HANDLERS,
        seed=seed,
    )
