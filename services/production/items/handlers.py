"""Event handlers of production's item read model."""

from __future__ import annotations

from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_item_upserted(envelope: Envelope, uow: UnitOfWork) -> None:
    raise NotImplementedError("production item read model: issue 6")
