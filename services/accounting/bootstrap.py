"""Wires the accounting service: its tables, routes (ledger, reports, QuickBooks feed), event
handlers, migrations, chart of accounts, and the webhook delivery worker."""

from __future__ import annotations

from pathlib import Path

from services.accounting import api, service
from services.accounting.handlers import HANDLERS
from services.accounting.models import messaging, metadata
from services.accounting.quickbooks import api as quickbooks_api
from services.accounting.quickbooks.worker import run_webhook_worker
from services.accounting.reports import api as reports_api
from shared.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="accounting",
        metadata=metadata,
        tables=messaging,
        migrations=Path(__file__).parent / "migrations",
        routers=[api.router, reports_api.router, quickbooks_api.router],
        handlers=HANDLERS,
        seed=service.seed_chart_of_accounts,
        workers=[run_webhook_worker],
    )
