"""The gateway's event handlers: envelope in, one use case call. The inbox makes them idempotent.

AuditRecorded: every service's record of a user's change goes into the audit log.
"""

from __future__ import annotations

from services.gateway import audit
from shared.events.catalogue import AuditRecorded
from shared.events.envelope import Envelope
from shared.messaging.inbox import Handler
from shared.uow import UnitOfWork


def on_audit_recorded(envelope: Envelope, uow: UnitOfWork) -> None:
    audit.store_audit_event(uow, AuditRecorded.model_validate(envelope.payload), str(envelope.id))


HANDLERS: dict[str, Handler] = {
    "AuditRecorded": on_audit_recorded,
}
