"""Event handlers of production orders' material: envelope in, one use case call."""

from __future__ import annotations

from services.inventory.wip import service
from shared.events.catalogue import (
    PrintCompleted,
    ProductionOrderChanged,
    ProductionStarted,
    QCPassed,
)
from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_production_started(envelope: Envelope, uow: UnitOfWork) -> None:
    started = ProductionStarted.model_validate(envelope.payload)
    service.issue_order(uow, started, str(envelope.id))


def on_print_completed(envelope: Envelope, uow: UnitOfWork) -> None:
    run = PrintCompleted.model_validate(envelope.payload)
    service.relieve_run(uow, run, str(envelope.id))


def on_qc_passed(envelope: Envelope, uow: UnitOfWork) -> None:
    decision = QCPassed.model_validate(envelope.payload)
    service.decide_qc(uow, decision, str(envelope.id))


def on_production_order_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    change = ProductionOrderChanged.model_validate(envelope.payload)
    service.apply_order_change(uow, change, str(envelope.id))
