"""Inventory's event handlers: envelope in, one use case call. The inbox makes them idempotent."""

from __future__ import annotations

from services.inventory import service
from shared.events.catalogue import MaterialReceived
from shared.events.envelope import Envelope
from shared.messaging.inbox import Handler
from shared.uow import UnitOfWork


def on_material_received(envelope: Envelope, uow: UnitOfWork) -> None:
    receipt = MaterialReceived.model_validate(envelope.payload)
    service.receive_material(uow, receipt, str(envelope.id))


HANDLERS: dict[str, Handler] = {
    "MaterialReceived": on_material_received,
}
