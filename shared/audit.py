"""The audit log, producer side: a use case records what a user changed, in the change's
transaction.

    record_change(uow, "inventory.items.create", "item", item.sku, None, out)

adds an `AuditRecorded` event to the unit of work, so it reaches the outbox (and from there the
gateway's audit log) exactly when the change commits, and never when it rolls back. Who did it
and from where come from the context the request set (`shared.context`: the verified service
token, whose `ip` claim is the address the gateway saw; the request and correlation ids), so no
use case needs them passed down.

A change with no user in the context (an event handler applying another service's event, a seed
at start-up) is not a user action and records nothing: the user action that started the chain
was audited where it happened, and the correlation id links the two.

`before` and `after` are the thing as a JSON object: a pydantic model (dumped in JSON mode) or a
mapping whose Decimals become strings, times ISO 8601, enums their values. Strings longer than
the audit table holds are clipped rather than refused: the audit entry must never fail the
change it describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any, overload
from uuid import UUID

from pydantic import BaseModel

from shared import context
from shared.events.catalogue import AuditRecorded
from shared.events.envelope import Envelope, utc_now
from shared.uow import UnitOfWork

Snapshot = BaseModel | Mapping[str, Any] | None


def record_change(
    uow: UnitOfWork,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Snapshot,
    after: Snapshot,
) -> Envelope | None:
    """Record that the current user did `action` to one thing; None (nothing recorded) when
    no user is in the context. `before` is None for a creation, `after` for a deletion."""
    caller = context.get_current_user()
    if caller is None:
        return None
    event = audit_event(
        uow.producer,
        caller.user,
        caller.name,
        caller.ip,
        action,
        entity_type,
        entity_id,
        before,
        after,
    )
    # A key of its own: the audit trail does not take sequence numbers from the thing's events.
    return uow.add_event(event, key=f"audit:{event.entity_type}:{event.entity_id}")


def audit_event(
    service: str,
    actor: str,
    actor_name: str | None,
    ip: str | None,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Snapshot,
    after: Snapshot,
) -> AuditRecorded:
    """The `AuditRecorded` of one change, stamped now with the request's ids from the context;
    strings clipped to what the audit table holds."""
    limits = AuditRecorded.MAX_LENGTHS
    return AuditRecorded(
        service=_clip(service, limits["service"]),
        actor=_clip(actor, limits["actor"]),
        actor_name=_clip(actor_name, limits["actor_name"]),
        ip=_clip(ip, limits["ip"]),
        action=_clip(action, limits["action"]),
        entity_type=_clip(entity_type, limits["entity_type"]),
        entity_id=_clip(entity_id, limits["entity_id"]),
        before=snapshot(before),
        after=snapshot(after),
        request_id=_clip(context.get_request_id(), limits["request_id"]),
        correlation_id=_clip(context.get_correlation_id(), limits["correlation_id"]),
        at=utc_now(),
    )


def snapshot(value: Snapshot) -> dict[str, Any] | None:
    """`value` as a JSON object: a model in JSON mode, a mapping made JSON-safe, None kept."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        dumped: dict[str, Any] = value.model_dump(mode="json")
        return dumped
    return {str(key): json_safe(item) for key, item in value.items()}


def json_safe(value: Any) -> Any:
    """A value JSON can carry exactly: Decimal -> '12.50', datetime/date -> ISO 8601, enum ->
    its value, UUID -> text, tuples and sets -> lists; anything else unknown -> its text."""
    match value:
        case None | bool() | int() | str():
            return value.value if isinstance(value, Enum) else value
        case float():
            return value
        case Decimal():
            return format(value, "f")
        case Enum():
            return json_safe(value.value)
        case datetime() | date() | time():
            return value.isoformat()
        case UUID():
            return str(value)
        case BaseModel():
            return value.model_dump(mode="json")
        case Mapping():
            return {str(key): json_safe(item) for key, item in value.items()}
        case list() | tuple() | set() | frozenset():
            return [json_safe(item) for item in value]
        case _:
            return str(value)


@overload
def _clip(value: str, limit: int) -> str: ...
@overload
def _clip(value: str | None, limit: int) -> str | None: ...
def _clip(value: str | None, limit: int) -> str | None:
    return value if value is None or len(value) <= limit else value[:limit]
