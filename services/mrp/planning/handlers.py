"""Event handlers that keep the planner's read models: envelope in, one use case call; the inbox
makes them idempotent and the newest-sequence rule makes them order-proof."""

from __future__ import annotations

from services.mrp.planning import service
from shared.events.catalogue import (
    BomReleased,
    CapacityChanged,
    LineUpserted,
    PurchaseOrderChanged,
    StockChanged,
)
from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_stock_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_stock(uow, StockChanged.model_validate(envelope.payload), envelope.sequence)


def on_bom_released(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_bom(uow, BomReleased.model_validate(envelope.payload), envelope.sequence)


def on_purchase_order_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_purchase_order(
        uow, PurchaseOrderChanged.model_validate(envelope.payload), envelope.sequence
    )


def on_line_upserted(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_line(uow, LineUpserted.model_validate(envelope.payload), envelope.sequence)


def on_capacity_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_capacity(
        uow, CapacityChanged.model_validate(envelope.payload), envelope.sequence
    )
