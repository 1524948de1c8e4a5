"""The admin's audit log API: GET /api/admin/audit (a page of entries) and
GET /api/admin/audit.xlsx (the same filtered entries as a workbook).

Guarded by the permission matrix (`gateway.audit.read`) against the session's user: gateway
routes see the signed-in user, not a service token, so `user_permitted` is the gateway's twin
of `shared.web.security.require_permission`, usable by any gateway route.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from services.gateway.api import same_site_only, settings_of, user_permitted
from services.gateway.audit import (
    AuditEntryOut,
    AuditFilters,
    audit_rows,
    day_range,
    list_audit_entries,
)
from services.gateway.schemas import UserOut
from shared.auth.permissions import Action
from shared.clock import plant_zone
from shared.i18n import _
from shared.web.commands import runtime_of
from shared.web.pagination import Page, PageParams, page_params
from shared.web.problems import InvalidInput
from shared.web.xlsx import workbook_response

# Excel holds at most this many characters in a cell.
XLSX_CELL_LIMIT = 32_767


AuditReader = Annotated[UserOut, Depends(user_permitted(Action.AUDIT_READ))]
Filter = Annotated[str | None, Query(max_length=150)]

router = APIRouter(prefix="/api/admin", tags=["audit"], dependencies=[Depends(same_site_only)])


def audit_filters(
    request: Request,
    actor: Filter = None,
    action: Annotated[
        str | None, Query(max_length=100, description="Prefix, e.g. 'purchasing.orders'")
    ] = None,
    service: Filter = None,
    entity_type: Filter = None,
    entity_id: Filter = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Text anywhere in the entity id")
    ] = None,
    date_from: Annotated[
        date | None, Query(alias="from", description="First plant-local day, included")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="Last plant-local day, included")
    ] = None,
) -> AuditFilters:
    if date_from and date_to and date_to < date_from:
        raise InvalidInput(_("'to' is before 'from'."), field="query.to")
    since, until = day_range(date_from, date_to, plant_zone(settings_of(request)))
    return AuditFilters(
        actor=actor,
        action=action,
        service=service,
        entity_type=entity_type,
        entity_id=entity_id,
        text=q,
        since=since,
        until=until,
    )


Filters = Annotated[AuditFilters, Depends(audit_filters)]


@router.get("/audit", response_model=Page[AuditEntryOut])
def list_audit(
    request: Request,
    _user: AuditReader,
    filters: Filters,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[AuditEntryOut]:
    with runtime_of(request).uow(read_only=True) as uow:
        return list_audit_entries(uow, filters, page)


@router.get("/audit.xlsx", response_class=Response)
def export_audit(request: Request, _user: AuditReader, filters: Filters) -> Response:
    headers = [
        _("When"),
        _("Service"),
        _("User"),
        _("Name"),
        _("IP address"),
        _("Action"),
        _("Entity type"),
        _("Entity"),
        _("Before"),
        _("After"),
        _("Request id"),
        _("Correlation id"),
    ]
    with runtime_of(request).uow(read_only=True) as uow:
        return workbook_response(
            "audit-log",
            str(_("Audit log")),
            [str(header) for header in headers],
            _xlsx_rows(audit_rows(uow, filters)),
            timezone=settings_of(request).plant_timezone,
        )


def _xlsx_rows(entries: Iterator[AuditEntryOut]) -> Iterator[list[Any]]:
    for entry in entries:
        yield [
            entry.at,
            entry.service,
            entry.actor,
            entry.actor_name,
            entry.ip,
            entry.action,
            entry.entity_type,
            entry.entity_id,
            _json_cell(entry.before),
            _json_cell(entry.after),
            entry.request_id,
            entry.correlation_id,
        ]


def _json_cell(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= XLSX_CELL_LIMIT else text[: XLSX_CELL_LIMIT - 1] + "…"
