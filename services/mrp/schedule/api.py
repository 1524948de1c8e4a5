"""HTTP API of the scheduling grid under /api/v1: the open lines with totals and FG cards, one
projection cell saved, a line's cell history, and the grid as a workbook.

"Today" (for the 19th-day cutoffs) is the plant's day (PORTAL_PLANT_TIMEZONE), as elsewhere.
"""

from __future__ import annotations

import calendar
from datetime import MINYEAR, UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from services.mrp.schedule import service
from services.mrp.schedule.domain import ProjectionField
from services.mrp.schedule.schemas import CellSave, ProjectionHistory, ProjectionOut, ScheduleOut
from services.mrp.schedule.service import ScheduleFilters
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.i18n import _
from shared.web.commands import new_uow, run_command, runtime_of
from shared.web.pagination import PageParams, page_params, sort_param
from shared.web.problems import InvalidInput
from shared.web.security import require_permission
from shared.web.xlsx import sheets_response

router = APIRouter(prefix="/api/v1", tags=["schedule"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.MRP_READ))]
Writer = Annotated[TokenClaims, Depends(require_permission(Action.SCHEDULE_WRITE))]
Pages = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]
LineId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The sales-order line's id")]
Text32 = Annotated[str | None, Query(max_length=32)]
# YYYY-MM of a year that has dates (there is no year 0).
DUE_MONTH = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"


def schedule_filters(
    customer_code: Text32 = None,
    business_unit: Text32 = None,
    due_month: Annotated[
        str | None,
        Query(
            pattern=r"^[1-9]\d{3}-(0[1-9]|1[0-2])$", description="Lines due in this month: YYYY-MM"
        ),
    ] = None,
    due_from: Annotated[date | None, Query(description="Lines due on or after this day")] = None,
    due_to: Annotated[date | None, Query(description="Lines due on or before this day")] = None,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Part of the order number, customer, SKU or item"),
    ] = None,
    updated_since: Annotated[
        AwareDatetime | None,
        Query(
            description="Only lines whose projections were saved at or after this instant "
            "(ISO 8601 with an offset): what an open grid fetches when another planner saves"
        ),
    ] = None,
) -> ScheduleFilters:
    """A month and a range together keep the days in both."""
    if due_month:
        year, month = (int(part) for part in due_month.split("-"))
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        due_from = max(due_from, first) if due_from else first
        due_to = min(due_to, last) if due_to else last
    if due_from is not None and due_to is not None and due_to < due_from:
        raise InvalidInput(_("The last day comes before the first day."), field="query.due_to")
    return ScheduleFilters(
        customer_code=customer_code or None,
        business_unit=business_unit or None,
        due_from=due_from,
        due_to=due_to,
        sku=sku or None,
        search=q or None,
        updated_since=_in_utc(updated_since) if updated_since is not None else None,
    )


def _in_utc(moment: datetime) -> datetime:
    """The instant in UTC. One with no UTC date (early on 1 January of the year 1 east of
    Greenwich, late on 31 December 9999 west of it) is before, or after, every save."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        if moment.year == MINYEAR:
            return datetime.min.replace(tzinfo=UTC)
        return datetime.max.replace(tzinfo=UTC)


Filters = Annotated[ScheduleFilters, Depends(schedule_filters)]


@router.get("/schedule", response_model=ScheduleOut)
def list_schedule(
    request: Request, _: Reader, page: Pages, sort: Sort, filters: Filters
) -> ScheduleOut:
    """Open sales-order lines (the order not shipped or cancelled, the line not shipped in
    full), earliest due first; `sort` is due_date, so_number, customer, sku, business_unit or
    updated_at (a leading '-' for descending). `totals` sum every line matching the filters,
    not only this page; `cards` are the plant's FG on hand by the 19th-day cutoffs."""
    today = plant_today(runtime_of(request).settings)
    with runtime_of(request).uow(read_only=True) as uow:
        return service.schedule(uow, filters, page, today, sort)


@router.get("/schedule.xlsx", response_class=Response)
def export_schedule(request: Request, _reader: Reader, sort: Sort, filters: Filters) -> Response:
    """The same lines as the grid, with the same filters, and their total row; a second sheet
    holds the FG value cards."""
    headers = [
        _("Sales order"),
        _("Line"),
        _("Customer"),
        _("Customer name"),
        _("Business unit"),
        _("SKU"),
        _("Due date"),
        _("Qty ordered"),
        _("Qty shipped"),
        _("FG on hand"),
        _("FG covering the line"),
        _("Net qty"),
        _("Unit price"),
        _("Ordered value"),
        _("Net value"),
        _("No/Low Risk Qty"),
        _("No/Low Risk value"),
        _("High Risk Qty"),
        _("High Risk value"),
        _("Updated by"),
        _("Updated at"),
    ]
    settings = runtime_of(request).settings
    today = plant_today(settings)
    card_headers = [
        _("Card"),
        _("Lines due from"),
        _("Lines due to"),
        _("At cost"),
        _("At sales price"),
    ]
    with runtime_of(request).uow(read_only=True) as uow:
        exported = service.export(uow, filters, today, sort)
    return sheets_response(
        "schedule",
        [
            (str(_("Scheduling grid")), [str(header) for header in headers], exported.lines),
            (str(_("FG value cards")), [str(header) for header in card_headers], exported.cards),
        ],
        timezone=settings.plant_timezone,
    )


@router.put("/schedule/lines/{so_line_id}/{field}", response_model=ProjectionOut)
def save_cell(
    so_line_id: LineId,
    field: ProjectionField,
    body: CellSave,
    request: Request,
    claims: Writer,
) -> JSONResponse:
    """Save one projection cell. `version` is the row's version as the grid loaded it: a save
    naming an older one is refused (409 `concurrent_change`, with the row as it is now under
    `current`), and nothing changes."""
    timezone = runtime_of(request).settings.plant_timezone
    return run_command(
        request,
        lambda uow: service.save_cell(uow, so_line_id, field, body, claims.user, timezone),
    )


@router.get("/schedule/lines/{so_line_id}/history", response_model=ProjectionHistory)
def line_history(so_line_id: LineId, request: Request, _: Reader, page: Pages) -> ProjectionHistory:
    """Every saved cell of the line, newest first."""
    with new_uow(request) as uow:
        return service.history(uow, so_line_id, page)
