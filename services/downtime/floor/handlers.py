"""Event handlers of the downtime service's read model of production."""

from __future__ import annotations

from services.downtime.floor import service
from shared.events.catalogue import ItemUpserted, PrintCompleted, ProductionOrderChanged, QCPassed
from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_production_order_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    order = ProductionOrderChanged.model_validate(envelope.payload)
    service.remember_order(uow, order, envelope.sequence)


def on_print_completed(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_run(uow, PrintCompleted.model_validate(envelope.payload))


def on_qc_passed(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_qc(uow, QCPassed.model_validate(envelope.payload))


def on_item_upserted(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_item(uow, ItemUpserted.model_validate(envelope.payload), envelope.sequence)
