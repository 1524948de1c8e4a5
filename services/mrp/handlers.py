"""The mrp service's event handlers, by event type (each lives with the domain it feeds)."""

from __future__ import annotations

from services.mrp.sales import handlers as sales
from shared.messaging.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "ItemUpserted": sales.on_item_upserted,
    "ProductionOrderChanged": sales.on_production_order_changed,
    "QCPassed": sales.on_qc_passed,
    "OrderShipped": sales.on_order_shipped,
}
