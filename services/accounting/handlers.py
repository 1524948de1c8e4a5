"""Accounting's event handlers: envelope in, one posting. The inbox makes them idempotent, and
the unique source_event_id of an entry guards the books once more."""

from __future__ import annotations

from services.accounting import service
from shared.events.catalogue import MaterialReceived
from shared.events.envelope import Envelope
from shared.messaging.inbox import Handler
from shared.uow import UnitOfWork


def on_material_received(envelope: Envelope, uow: UnitOfWork) -> None:
    receipt = MaterialReceived.model_validate(envelope.payload)
    service.post_material_received(uow, receipt, envelope)


HANDLERS: dict[str, Handler] = {
    "MaterialReceived": on_material_received,
}
