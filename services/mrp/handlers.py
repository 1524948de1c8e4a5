"""The mrp service's event handlers, by event type (each lives with the domain it feeds)."""

from __future__ import annotations

from services.mrp.planning import handlers as planning
from services.mrp.sales import handlers as sales
from shared.messaging.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "ItemUpserted": sales.on_item_upserted,
    "ProductionOrderChanged": sales.on_production_order_changed,
    "QCPassed": sales.on_qc_passed,
    "OrderShipped": sales.on_order_shipped,
    "StockChanged": planning.on_stock_changed,
    "BomReleased": planning.on_bom_released,
    "PurchaseOrderChanged": planning.on_purchase_order_changed,
    "LineUpserted": planning.on_line_upserted,
    "CapacityChanged": planning.on_capacity_changed,
}
