"""The gateway's event handlers: envelope in, one use case call. The inbox makes them idempotent.

AuditRecorded: every service's record of a user's change goes into the audit log.

LISTENERS are not handlers: every gateway replica hears the events that change what pages show
(stock, items, purchase orders, journals, audit entries, planners' projections) and tells its own
open pages to fetch their rows again (`ui/live.py`); nothing is stored, so they need no inbox.
"""

from __future__ import annotations

from services.gateway import audit
from services.gateway.ui import live
from shared.bus.base import Listener
from shared.events.catalogue import AuditRecorded
from shared.events.envelope import Envelope
from shared.messaging.inbox import Handler
from shared.uow import UnitOfWork


def on_audit_recorded(envelope: Envelope, uow: UnitOfWork) -> None:
    audit.store_audit_event(uow, AuditRecorded.model_validate(envelope.payload), str(envelope.id))


def refresh_pages(envelope: Envelope) -> None:
    live.publish_event(envelope.type)


HANDLERS: dict[str, Handler] = {
    "AuditRecorded": on_audit_recorded,
}

LISTENERS: dict[str, Listener] = {event_type: refresh_pages for event_type in live.TOPICS}
