"""Event handlers of the sales-order read model: envelope in, one use case call."""

from __future__ import annotations

from services.inventory.shipping import service
from shared.events.catalogue import SalesOrderChanged
from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_sales_order_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_sales_order(
        uow, SalesOrderChanged.model_validate(envelope.payload), envelope.sequence
    )
