"""Event handlers of the sales-order read model."""

from __future__ import annotations

from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_sales_order_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("issue 6")
