"""HTTP API of the MRP under /api/v1/mrp: run it, read the latest run's lines (the dashboard),
what earlier orders took of a component (its tooltip), the workbook, the actions on a line, the
shipment forecast and the priority-score settings. Parse, call one use case, answer.

Creating a job and suggesting purchases ask another service as the user (production, then
purchasing), so those endpoints are async: the database work runs in threads, off the event
loop, around the awaited call (services/mrp/runs/actions.py says why in three steps).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.mrp.planning.domain import Status
from services.mrp.runs import actions, dashboard, forecast, priority
from services.mrp.runs.dashboard import LineFilters
from services.mrp.runs.schemas import (
    ForecastOut,
    JobCreate,
    JobOut,
    LineOut,
    LinesPage,
    PrioritySettingsOut,
    PrioritySettingsUpdate,
    PurchasesCreate,
    PurchasesForLine,
    PurchasesOut,
    RunOut,
    TakenOut,
)
from services.mrp.runs.service import run_mrp
from shared.audit import record_change
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.commands import new_uow, run_command, runtime_of
from shared.web.pagination import PageParams, page_params, sort_param
from shared.web.peers import call_peer
from shared.web.problems import PortalError
from shared.web.security import require_permission
from shared.web.xlsx import workbook_response

router = APIRouter(prefix="/api/v1/mrp", tags=["mrp"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.MRP_READ))]
Runner = Annotated[TokenClaims, Depends(require_permission(Action.MRP_RUN))]
Actor = Annotated[TokenClaims, Depends(require_permission(Action.MRP_ACT))]
Pages = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]
SoNumber = Annotated[str, Path(max_length=20)]
LineNo = Annotated[int, Path(ge=1, le=100_000)]
Sku = Annotated[str, Path(max_length=64)]


def line_filters(
    business_unit: Annotated[str | None, Query(max_length=32)] = None,
    customer: Annotated[str | None, Query(max_length=32, description="A customer code")] = None,
    due_year: Annotated[int | None, Query(ge=2000, le=2999)] = None,
    due_month: Annotated[int | None, Query(ge=1, le=12, description="With due_year")] = None,
    no_due_date: Annotated[bool, Query(description="Only lines without a due date")] = False,
    status: Annotated[list[Status] | None, Query(description="May be given more than once")] = (
        None
    ),
    sku: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of an SO number, customer or SKU")
    ] = None,
) -> LineFilters:
    return LineFilters(
        business_unit=business_unit or None,
        customer=customer or None,
        due_year=due_year,
        due_month=due_month,
        no_due_date=no_due_date,
        statuses=tuple(status or ()),
        sku=sku or None,
        search=q or None,
    ).checked()


Filters = Annotated[LineFilters, Depends(line_filters)]


# --- runs -------------------------------------------------------------------------------------


@router.post("/runs", status_code=201, response_model=RunOut)
def run_now(request: Request, claims: Runner) -> JSONResponse:
    """Plan every open sales-order line now, in the order the priority settings give, and keep
    the result as the latest run (older runs beyond the last few are pruned)."""
    today = plant_today(runtime_of(request).settings)

    def run(uow: UnitOfWork) -> RunOut:
        out = dashboard.run_out(uow, run_mrp(uow, requested_by=claims.user, plan_date=today))
        summary = out.model_dump(mode="json", exclude={"settings"})
        record_change(uow, "mrp.runs.run", "mrp_run", str(out.id), None, summary)
        return out

    return run_command(request, run, status_code=201)


@router.get("/runs/latest", response_model=RunOut)
def get_latest_run(request: Request, _: Reader) -> RunOut:
    with new_uow(request) as uow:
        return dashboard.latest_run_out(uow)


# --- the dashboard ----------------------------------------------------------------------------


@router.get("/lines", response_model=LinesPage)
def list_lines(request: Request, _: Reader, page: Pages, sort: Sort, filters: Filters) -> LinesPage:
    """The latest run's lines in the order it served them (`sort`: rank, so_number, customer,
    sku, due_date, status, score, earliest_date or qty_needed, '-' for descending), with each
    line's component detail and the actions already taken for it; counts per status."""
    with new_uow(request) as uow:
        return dashboard.list_lines(uow, page, filters, sort)


@router.get("/lines.xlsx", response_class=Response)
def export_lines(request: Request, _: Reader, sort: Sort, filters: Filters) -> Response:
    """The same lines as the list with the same filters, and a sheet of their components."""
    settings = runtime_of(request).settings
    with new_uow(request) as uow:
        return dashboard.export_workbook(uow, filters, sort, settings.plant_timezone)


@router.get("/lines/{so_number}/{line_no}", response_model=LineOut)
def get_line(so_number: SoNumber, line_no: LineNo, request: Request, _: Reader) -> LineOut:
    with new_uow(request) as uow:
        return dashboard.get_line(uow, so_number, line_no)


@router.get("/lines/{so_number}/{line_no}/components/{sku}/taken", response_model=TakenOut)
def taken_before(
    so_number: SoNumber, line_no: LineNo, sku: Sku, request: Request, _: Reader
) -> TakenOut:
    """What the orders served before this line took of `sku`, a line per sales-order line."""
    with new_uow(request) as uow:
        return dashboard.taken_before(uow, so_number, line_no, sku)


# --- actions ----------------------------------------------------------------------------------


@router.post("/lines/{so_number}/{line_no}/job", status_code=201, response_model=JobOut)
async def create_job(
    so_number: SoNumber,
    line_no: LineNo,
    request: Request,
    _actor: Actor,
    body: JobCreate | None = None,
) -> JSONResponse:
    """A production order made to this line, for the quantity given or the line's `job_qty`
    (the whole need when Full Production Ready, what can be made when partly), due when the
    line is, on the line the run booked. Once per line and run; honours Idempotency-Key."""
    qty = body.qty if body is not None else None

    def claim() -> actions.JobClaim | None:
        with new_uow(request) as uow:
            if actions.answered_before(uow, request):
                return None
            held = actions.claim_job(uow, so_number, line_no, qty)
            uow.commit()
            return held

    held = await asyncio.to_thread(claim)
    if held is None:
        return await asyncio.to_thread(run_command, request, _replayed, status_code=201)
    try:
        order = await call_peer(
            request,
            "production",
            "POST",
            "/api/v1/production-orders",
            json=held.body,
            idempotency_key=held.key,
        )
    except PortalError as error:
        await asyncio.to_thread(_release, request, [held.action_id])
        what = _("the job for sales order {so} line {line}", so=so_number, line=line_no)
        raise actions.refused_by("production", what, error) from error
    return await asyncio.to_thread(
        run_command, request, lambda uow: actions.record_job(uow, held, order), status_code=201
    )


@router.post("/lines/{so_number}/{line_no}/purchases", status_code=201, response_model=PurchasesOut)
async def suggest_purchases_for_line(
    so_number: SoNumber,
    line_no: LineNo,
    request: Request,
    _actor: Actor,
    body: PurchasesForLine | None = None,
) -> JSONResponse:
    """Draft purchase orders at each part's preferred vendor for this line's short bought
    parts (purchasing places them; what it cannot is listed in `unplaced`)."""
    notes = body.notes if body is not None else None

    def claim(uow: UnitOfWork) -> actions.PurchaseClaim:
        return actions.claim_purchases_for_line(uow, so_number, line_no, notes)

    what = _("the purchases for sales order {so} line {line}", so=so_number, line=line_no)
    return await _suggest(request, claim, what)


@router.post("/purchases", status_code=201, response_model=PurchasesOut)
async def suggest_purchases(request: Request, _actor: Actor, body: PurchasesCreate) -> JSONResponse:
    """The same for many lines: those listed in `lines`, or every line the filters match (the
    dashboard's view). Lines already asked for from this run are skipped and named."""
    body_filters = LineFilters(
        business_unit=body.business_unit or None,
        customer=body.customer or None,
        due_year=body.due_year,
        due_month=body.due_month,
        no_due_date=body.no_due_date,
        statuses=tuple(body.status or ()),
        sku=body.sku or None,
        search=body.q or None,
    ).checked(prefix="")

    def claim(uow: UnitOfWork) -> actions.PurchaseClaim:
        return actions.claim_purchases(uow, body_filters, body.lines, body.notes)

    return await _suggest(request, claim, _("the purchases for the lines shown"))


async def _suggest(request: Request, claim: Any, what: Any) -> JSONResponse:
    def hold() -> actions.PurchaseClaim | None:
        with new_uow(request) as uow:
            if actions.answered_before(uow, request):
                return None
            held: actions.PurchaseClaim = claim(uow)
            uow.commit()
            return held

    held = await asyncio.to_thread(hold)
    if held is None:
        return await asyncio.to_thread(run_command, request, _replayed, status_code=201)
    if not held.asked:
        return await asyncio.to_thread(
            run_command, request, lambda uow: held.nothing(), status_code=201
        )
    try:
        answer = await call_peer(
            request,
            "purchasing",
            "POST",
            "/api/v1/purchase-orders/suggestions",
            json=held.body,
            idempotency_key=held.key,
        )
    except PortalError as error:
        await asyncio.to_thread(_release, request, list(held.action_ids.values()))
        raise actions.refused_by("purchasing", what, error) from error
    return await asyncio.to_thread(
        run_command,
        request,
        lambda uow: actions.record_purchases(uow, held, answer or {}),
        status_code=201,
    )


def _release(request: Request, action_ids: list[int]) -> None:
    with new_uow(request) as uow:
        actions.release(uow, action_ids)
        uow.commit()


def _replayed(uow: UnitOfWork) -> Any:
    """Never called: `run_command` answers a stored key before running the use case."""
    raise AssertionError("an answered Idempotency-Key was not replayed")


# --- the shipment forecast --------------------------------------------------------------------


@router.get("/forecast", response_model=ForecastOut)
def get_forecast(request: Request, _: Reader, filters: Filters) -> ForecastOut:
    """The latest run's open lines by due month: Likely to Ship and At-Risk/Partial, in
    quantity and value (docs/mrp.md says which line counts where)."""
    with new_uow(request) as uow:
        return forecast.forecast(uow, filters)


@router.get("/forecast.xlsx", response_class=Response)
def export_forecast(request: Request, _reader: Reader, filters: Filters) -> Response:
    settings = runtime_of(request).settings
    with new_uow(request) as uow:
        result = forecast.forecast(uow, filters)
    return workbook_response(
        "shipment-forecast",
        str(_("Shipment forecast")),
        [str(header) for header in forecast.FORECAST_HEADERS],
        list(forecast.export_rows(result)),
        timezone=settings.plant_timezone,
    )


# --- priority settings ------------------------------------------------------------------------


@router.get("/priority", response_model=PrioritySettingsOut)
def get_priority(request: Request, _: Reader) -> PrioritySettingsOut:
    with new_uow(request) as uow:
        return priority.get_settings(uow)


@router.put("/priority", response_model=PrioritySettingsOut)
def put_priority(body: PrioritySettingsUpdate, request: Request, _: Runner) -> JSONResponse:
    """Change how the next run orders the lines; `version` is the one read (a change by
    someone else since is a 409 concurrent_change, and nothing is saved)."""
    return run_command(request, lambda uow: priority.update_settings(uow, body))
