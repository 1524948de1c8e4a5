"""Event handlers that move a sales order's status: production, QC and shipping. Envelope in,
one use case call; the inbox makes them idempotent."""

from __future__ import annotations

from services.mrp.sales import service
from shared.events.catalogue import ItemUpserted, OrderShipped, ProductionOrderChanged
from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_item_upserted(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_item(uow, ItemUpserted.model_validate(envelope.payload), envelope.sequence)


def on_production_order_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_production_order(
        uow, ProductionOrderChanged.model_validate(envelope.payload), envelope.sequence
    )


def on_qc_passed(envelope: Envelope, uow: UnitOfWork) -> None:
    """Nothing to do: production publishes ProductionOrderChanged with the order's QC figures
    (qty passed and failed, its reprint chain) in the same transaction as QCPassed, and that
    whole-state event, applied newest-sequence-wins, is what the status follows. Counting
    QCPassed as well would add the same units twice."""


def on_order_shipped(envelope: Envelope, uow: UnitOfWork) -> None:
    service.apply_shipment(uow, OrderShipped.model_validate(envelope.payload))
