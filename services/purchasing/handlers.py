"""Purchasing's event handlers: envelope in, one use case call. The inbox makes them idempotent."""

from __future__ import annotations

from services.purchasing import service
from shared.events.catalogue import ItemUpserted
from shared.events.envelope import Envelope
from shared.messaging.inbox import Handler
from shared.uow import UnitOfWork


def on_item_upserted(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_item(uow, ItemUpserted.model_validate(envelope.payload), envelope.sequence)


HANDLERS: dict[str, Handler] = {
    "ItemUpserted": on_item_upserted,
}
