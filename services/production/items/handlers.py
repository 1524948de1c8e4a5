"""Event handlers of production's item read model."""

from __future__ import annotations

from services.production.items import service
from shared.events.catalogue import ItemUpserted
from shared.events.envelope import Envelope
from shared.uow import UnitOfWork


def on_item_upserted(envelope: Envelope, uow: UnitOfWork) -> None:
    service.remember_item(uow, ItemUpserted.model_validate(envelope.payload), envelope.sequence)
