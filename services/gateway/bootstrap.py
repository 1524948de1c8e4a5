"""Wires the gateway: tables, auth and forwarding routes, the web UI, migrations, first admin."""

from __future__ import annotations

from pathlib import Path

from services.gateway import api, audit_api, ops, proxy, service, ui
from services.gateway.handlers import HANDLERS, LISTENERS
from services.gateway.models import messaging, metadata
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="gateway",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[api.router, audit_api.router, proxy.router, ops.router, *ui.routers()],
        handlers=HANDLERS,
        listeners=LISTENERS,
        seed=service.seed_admin,
        configure_app=ui.configure_app,
    )
