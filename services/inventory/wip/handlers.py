"""Event handlers of production orders' material: envelope in, one use case call."""

from __future__ import annotations

from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_production_started(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")


def on_print_completed(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")


def on_qc_passed(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")


def on_production_order_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")
