"""Event handlers that move a sales order's status: production, QC and shipping."""

from __future__ import annotations

from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_item_upserted(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")


def on_production_order_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")


def on_qc_passed(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")


def on_order_shipped(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")
