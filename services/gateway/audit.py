"""The audit log, gateway side: keeping every service's changes, the gateway's own, and finding
them again.

Services record a user's change as an `AuditRecorded` event in the change's transaction
(`shared.audit.record_change`); `store_audit_event` keeps each one as an `AuditEntry` row. The
row's `event_id` is the envelope's id and unique, and the insert does nothing on a conflict, so
a redelivered event (even one the inbox has long forgotten) adds no second row.

The gateway's own changes (users, plant settings) are not events to itself: their use cases
call `record_gateway_change` to write the row directly, in their own transaction.

`list_audit_entries` is the admin's view (newest first, paginated) and `audit_rows` the same
filtered rows for the XLSX export. The table is append-only (database triggers): nothing here
updates or deletes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, select

from services.gateway.models import AuditEntry
from services.gateway.schemas import UserOut
from shared.audit import Snapshot, audit_event
from shared.db import dialect_insert
from shared.events.catalogue import AuditRecorded
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, contains_text, paginate

GATEWAY = "gateway"
EXPORT_ROW_LIMIT = 100_000


class AuditEntryOut(BaseModel):
    """One audit entry as the admin's API answers it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    service: str
    actor: str
    actor_name: str | None
    ip: str | None
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    correlation_id: str | None


@dataclass(frozen=True)
class AuditFilters:
    """What the admin narrows the log to; every field None means everything.

    `action` is a prefix ('purchasing.' or 'purchasing.orders'), `text` a case-insensitive
    substring of the entity id, `since` inclusive and `until` exclusive (aware instants).
    """

    actor: str | None = None
    action: str | None = None
    service: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def store_audit_event(uow: UnitOfWork, recorded: AuditRecorded, event_id: str) -> None:
    """Keep one service's `AuditRecorded` as an audit entry; an `event_id` kept before (a
    redelivered envelope) adds nothing."""
    table = AuditEntry.__table__
    uow.session.execute(
        dialect_insert(uow.session, table)
        .values(
            event_id=event_id,
            at=recorded.at,
            service=recorded.service,
            actor=recorded.actor,
            actor_name=recorded.actor_name,
            ip=recorded.ip,
            action=recorded.action,
            entity_type=recorded.entity_type,
            entity_id=recorded.entity_id,
            before=recorded.before,
            after=recorded.after,
            request_id=recorded.request_id,
            correlation_id=recorded.correlation_id,
        )
        .on_conflict_do_nothing(index_elements=[AuditEntry.event_id])
    )


def record_gateway_change(
    uow: UnitOfWork,
    actor: UserOut | str,
    ip: str | None,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Snapshot,
    after: Snapshot,
) -> AuditEntry:
    """Record a change the gateway itself made for `actor` (a user, or a login name), from
    `ip`, in the caller's unit of work: it commits, or not, with the change."""
    if isinstance(actor, UserOut):
        username, display_name = actor.username, actor.display_name
    else:
        username, display_name = actor, None
    recorded = audit_event(
        GATEWAY, username, display_name, ip, action, entity_type, entity_id, before, after
    )
    entry = AuditEntry(event_id=str(uuid.uuid4()), **recorded.model_dump())
    uow.session.add(entry)
    uow.session.flush()
    return entry


def list_audit_entries(
    uow: UnitOfWork, filters: AuditFilters, page: PageParams
) -> Page[AuditEntryOut]:
    """The entries `filters` lets through, newest first, one page of them."""
    return paginate(uow.session, _filtered(filters), page, AuditEntryOut.model_validate)


def audit_rows(
    uow: UnitOfWork, filters: AuditFilters, limit: int = EXPORT_ROW_LIMIT
) -> Iterator[AuditEntryOut]:
    """Every entry `filters` lets through (at most `limit`), newest first, read in batches."""
    query = _filtered(filters).limit(limit).execution_options(yield_per=1000)
    for entry in uow.session.scalars(query):
        yield AuditEntryOut.model_validate(entry)


def day_range(
    first: date | None, last: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """Plant-local days `first` to `last`, both included, as [since, until) instants.

    The first and last days a date can name (0001-01-01, 9999-12-31) bound nothing: their
    instants would fall outside what a datetime holds.
    """
    since = datetime.combine(first, time(), zone) if first and first > date.min else None
    until = (
        datetime.combine(last + timedelta(days=1), time(), zone)
        if last and last < date.max
        else None
    )
    return since, until


def _filtered(filters: AuditFilters) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor.strip().lower())
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.service:
        query = query.where(AuditEntry.service == filters.service)
    if filters.entity_type:
        query = query.where(AuditEntry.entity_type == filters.entity_type)
    if filters.entity_id:
        query = query.where(AuditEntry.entity_id == filters.entity_id)
    if filters.text:
        query = query.where(contains_text(filters.text, AuditEntry.entity_id))
    if filters.since:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.at < filters.until)
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
