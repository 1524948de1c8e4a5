"""Wires the inventory service: its tables, routes, event handlers, migrations and seed data."""

from __future__ import annotations

from pathlib import Path

from services.inventory import api, service
from services.inventory.genealogy import api as genealogy_api
from services.inventory.handlers import HANDLERS
from services.inventory.models import messaging, metadata
from services.inventory.movements import api as movements_api
from services.inventory.reservations import api as reservations_api
from services.inventory.shipping import api as shipping_api
from services.inventory.valuation import api as valuation_api
from services.inventory.wip import api as wip_api
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="inventory",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[
            api.router,
            reservations_api.router,
            wip_api.router,
            movements_api.router,
            genealogy_api.router,
            shipping_api.router,
            valuation_api.router,
        ],
        handlers=HANDLERS,
        seed=service.seed_locations,
    )
