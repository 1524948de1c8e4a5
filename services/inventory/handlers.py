"""Inventory's event handlers: envelope in, one use case call. The inbox makes them idempotent."""

from __future__ import annotations

from services.inventory import service
from services.inventory.shipping.handlers import on_sales_order_changed
from services.inventory.wip.handlers import (
    on_print_completed,
    on_production_order_changed,
    on_production_started,
    on_qc_passed,
)
from shared.events.catalogue import MaterialReceived
from shared.events.envelope import Envelope
from shared.messaging.inbox import Handler
from shared.uow import UnitOfWork


def on_material_received(envelope: Envelope, uow: UnitOfWork) -> None:
    receipt = MaterialReceived.model_validate(envelope.payload)
    service.receive_material(uow, receipt, str(envelope.id))


HANDLERS: dict[str, Handler] = {
    "MaterialReceived": on_material_received,
    "ProductionStarted": on_production_started,
    "PrintCompleted": on_print_completed,
    "QCPassed": on_qc_passed,
    "ProductionOrderChanged": on_production_order_changed,
    "SalesOrderChanged": on_sales_order_changed,
}
