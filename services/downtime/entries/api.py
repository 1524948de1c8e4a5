"""HTTP API of downtime entries: the tablet's floor view and its two buttons, entries after the
fact, classification and correction, the list and its export (docs/downtime.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.downtime.entries import service
from services.downtime.entries.schemas import (
    DowntimeCreate,
    DowntimeEnd,
    DowntimeOut,
    DowntimeStart,
    DowntimeUpdate,
    FloorView,
)
from services.downtime.entries.service import DowntimeFilters
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.i18n import _
from shared.web.commands import run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.problems import InvalidInput
from shared.web.security import require_permission
from shared.web.xlsx import workbook_response

router = APIRouter(prefix="/api/v1", tags=["downtime"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.DOWNTIME_READ))]
Recorder = Annotated[TokenClaims, Depends(require_permission(Action.DOWNTIME_RECORD))]
Sort = Annotated[str | None, Depends(sort_param)]
EXPORT_LIMIT = 100_000
# Ids are BIGINT on PostgreSQL: a larger number is no entry (404), not an overflow (500).
DowntimeId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_MINUTE = Decimal("0.1")


def downtime_filters(
    facility_code: Annotated[str | None, Query(max_length=32)] = None,
    line_code: Annotated[str | None, Query(max_length=32)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    reason_code: Annotated[str | None, Query(max_length=32)] = None,
    unclassified: bool | None = None,
    running: bool | None = None,
) -> DowntimeFilters:
    if date_from and date_to and date_to < date_from:
        raise InvalidInput(
            _("date_to must not be before date_from."), field="query.date_to", code="bad_range"
        )
    return DowntimeFilters(
        facility_code=facility_code,
        line_code=line_code,
        date_from=date_from,
        date_to=date_to,
        reason_code=reason_code,
        unclassified=unclassified,
        running=running,
    )


Filters = Annotated[DowntimeFilters, Depends(downtime_filters)]


@router.get("/downtimes", response_model=Page[DowntimeOut])
def list_downtimes(
    request: Request,
    _reader: Reader,
    filters: Filters,
    page: Annotated[PageParams, Depends(page_params)],
    sort: Sort,
) -> Page[DowntimeOut]:
    """Downtime entries, newest first; dates are production days."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_downtimes(uow, filters, page, sort)


@router.get("/downtimes.xlsx", response_class=Response)
def export_downtimes(request: Request, _reader: Reader, filters: Filters, sort: Sort) -> Response:
    """The entries of the list as a workbook, times in the facility's wall-clock time."""
    with runtime_of(request).uow(read_only=True) as uow:
        rows = service.export_rows(uow, filters, sort, EXPORT_LIMIT)
        zone = service.zone_name(uow, filters.facility_code)
    headers = [
        _("Entry"),
        _("Facility"),
        _("Line"),
        _("Production day"),
        _("Shift"),
        _("Started"),
        _("Ended"),
        _("Minutes"),
        _("Reason"),
        _("Reason path"),
        _("Planned"),
        _("Production order"),
        _("Source"),
        _("Recorded by"),
        _("Notes"),
    ]
    return workbook_response(
        "downtime",
        str(_("Downtime")),
        [str(header) for header in headers],
        (
            [
                row.id,
                row.facility_code,
                row.line_code,
                row.production_day,
                row.shift_code,
                row.started_at,
                row.ended_at,
                (row.duration_seconds / 60).quantize(_MINUTE) if row.duration_seconds else None,
                row.reason_code,
                row.reason_path,
                row.planned,
                row.order_code,
                row.source,
                row.created_by,
                row.notes,
            ]
            for row in rows
        ),
        timezone=zone or runtime_of(request).settings.plant_timezone,
    )


@router.get("/downtimes/{downtime_id}", response_model=DowntimeOut)
def get_downtime(downtime_id: DowntimeId, request: Request, _reader: Reader) -> DowntimeOut:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.get_downtime(uow, downtime_id)


@router.get("/lines/{line_code}/floor", response_model=FloorView)
def floor_view(line_code: str, request: Request, _reader: Reader) -> FloorView:
    """What the line's tablet shows: the shift now, the running stop, the order on the line,
    and the production day's entries."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.floor_view(uow, line_code)


@router.post("/lines/{line_code}/downtime/start", status_code=201, response_model=DowntimeOut)
def start_downtime(
    line_code: str, body: DowntimeStart, request: Request, _recorder: Recorder
) -> JSONResponse:
    """ "Line down now". Send an Idempotency-Key: a tablet retrying after a dropped connection
    gets the first answer back and opens nothing more."""
    return run_command(
        request, lambda uow: service.start_downtime(uow, line_code, body), status_code=201
    )


@router.post("/downtimes/{downtime_id}/end", response_model=DowntimeOut)
def end_downtime(
    downtime_id: DowntimeId, body: DowntimeEnd, request: Request, _recorder: Recorder
) -> JSONResponse:
    """ "Back up": ends the running stop, classifying it when a reason comes with it."""
    return run_command(request, lambda uow: service.end_downtime(uow, downtime_id, body))


@router.post("/downtimes", status_code=201, response_model=DowntimeOut)
def record_downtime(body: DowntimeCreate, request: Request, _recorder: Recorder) -> JSONResponse:
    """A stop entered after the fact (Idempotency-Key honoured)."""
    return run_command(request, lambda uow: service.record_downtime(uow, body), status_code=201)


@router.patch("/downtimes/{downtime_id}", response_model=DowntimeOut)
def update_downtime(
    downtime_id: DowntimeId, body: DowntimeUpdate, request: Request, _recorder: Recorder
) -> JSONResponse:
    """Classify or correct an entry; `version` is the one you read (409 if it moved on)."""
    return run_command(request, lambda uow: service.update_downtime(uow, downtime_id, body))
