"""The downtime service's event handlers, by event type (each lives with the read model it
feeds): production's orders, runs and QC decisions, and the items' families."""

from __future__ import annotations

from services.downtime.floor.handlers import (
    on_item_upserted,
    on_print_completed,
    on_production_order_changed,
    on_qc_passed,
)
from shared.messaging.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "ProductionOrderChanged": on_production_order_changed,
    "PrintCompleted": on_print_completed,
    "QCPassed": on_qc_passed,
    "ItemUpserted": on_item_upserted,
}
