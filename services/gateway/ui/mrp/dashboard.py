"""The MRP dashboard: the latest run's open lines under the planner's filters, the status counts
as chips, each component's tooltip (what earlier orders took, fetched when it opens), the
actions (Create job, Suggest purchases) by role with their result shown in the row, the Run
button, the workbook of the view and the priority-score settings.

Every figure and every change is the mrp service's, asked as the signed-in user; actions go as
htmx posts that answer with the row's action cell redrawn, each carrying an Idempotency-Key
drawn when the page was, so a double click makes one job.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway.ui import upstream
from services.gateway.ui.forms import split_errors
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.mrp.common import (
    API,
    PAGE_SIZE,
    SERVICE,
    STATUS_MARKS,
    STATUSES,
    FilterBar,
    month_names,
    refusal,
    seg,
    text,
)
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action, allowed
from shared.i18n import _, format_number

router = APIRouter()

PRIORITY_FIELDS = (
    "weight_customer",
    "weight_value",
    "weight_due",
    "weight_penalty",
    "horizon_days",
)


def _can(page: Page, action: Action) -> bool:
    return allowed(page.user.roles, action)


def _seconds(ms: Any) -> str:
    return format_number((Decimal(int(ms or 0)) / 1000).quantize(Decimal("0.01")))


def _figure(value: Any) -> str:
    """A priority setting as its field shows it: the service's number formatted, or what the
    planner typed when it is no number (the form shown again beside the service's refusal)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_number(number) if number.is_finite() else str(value)


def shown_line(line: dict[str, Any], run_id: int | None) -> dict[str, Any]:
    """A line as the table draws it: its status mark, what was done from this run, and the
    keys its action forms carry."""
    done = {a["kind"] for a in line.get("actions", []) if a.get("run_id") == run_id}
    return {
        **line,
        "mark": STATUS_MARKS.get(line.get("status", ""), ""),
        "job_done": "job" in done,
        "purchases_done": "purchases" in done,
        "job_key": uuid.uuid4().hex,
        "purchases_key": uuid.uuid4().hex,
        "dom_id": f"l{line['rank']}",
    }


async def _priority(request: Request, page: Page) -> dict[str, Any]:
    settings: dict[str, Any] = await upstream.get_json(request, page.user, SERVICE, "mrp/priority")
    return settings


@router.get("/mrp")
async def dashboard(request: Request) -> Response:
    page = await page_user(request, Action.MRP_READ)
    bar = FilterBar.of(request)
    offset = text(request.query_params, "offset", 10)
    lines, status = await _lines(request, page, bar, offset or 0)
    settings = await _priority(request, page)
    values = _values(request, page, bar, lines, settings)
    return render(request, page, "mrp/dashboard.html", values, status_code=status)


async def _lines(
    request: Request, page: Page, bar: FilterBar, offset: int | str = 0
) -> tuple[dict[str, Any] | None, int]:
    """The latest run's lines under the filter bar, or None and the refusal's status with the
    refused filter marked on the bar (a filter the service refuses is the user's to correct)."""
    params = {**bar.params(), "limit": PAGE_SIZE, "offset": offset}
    try:
        lines: dict[str, Any] = await upstream.get_json(
            request, page.user, SERVICE, "mrp/lines", params
        )
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        bar.refused(problem)
        return None, problem.status
    return lines, 200


def _values(
    request: Request,
    page: Page,
    bar: FilterBar,
    lines: dict[str, Any] | None,
    settings: dict[str, Any],
    *,
    priority_errors: dict[str, str] | None = None,
    priority_error: str | None = None,
) -> dict[str, Any]:
    run = (lines or {}).get("run")
    run_id = run["id"] if run else None
    choices = (lines or {}).get("choices") or {}
    years = sorted({*choices.get("due_years", []), *_typed_year(bar)})
    offset = int((lines or {}).get("offset") or 0)
    total = int((lines or {}).get("total") or 0)
    return {
        "bar": bar,
        "run": run,
        "lines": [shown_line(line, run_id) for line in (lines or {}).get("items", [])],
        "total": total,
        "counts": (lines or {}).get("counts") or {},
        "statuses": STATUSES,
        "choices": choices,
        "years": years,
        "months": month_names(page.language),
        "previous_url": bar.url("/mrp", offset=max(offset - PAGE_SIZE, 0)) if offset else None,
        "next_url": (
            bar.url("/mrp", offset=offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None
        ),
        "first": offset + 1,
        "last": min(offset + PAGE_SIZE, total),
        "workbook": bar.url(f"{API}/lines.xlsx"),
        "settings": settings,
        "priority_errors": priority_errors or {},
        "priority_error": priority_error,
        "can_run": _can(page, Action.MRP_RUN),
        "can_act": _can(page, Action.MRP_ACT),
        "can_buy": _can(page, Action.MRP_ACT) and _can(page, Action.PURCHASE_SUGGEST),
        "seconds": _seconds,
        "figure": _figure,
        "done": text(request.query_params, "done", 20),
        "filtered": bool(bar.params()),
        "view_key": uuid.uuid4().hex,
    }


def _typed_year(bar: FilterBar) -> list[int]:
    year = bar.query.get("due_year", "")
    return [int(year)] if year.isdigit() and len(year) == 4 else []


@router.post("/mrp/run")
async def run_now(request: Request) -> Response:
    """Run the MRP now and come back to the same view."""
    page = await page_user(request, Action.MRP_RUN)
    bar = FilterBar.from_form(await request.form())
    upstream.checked(await upstream.call(request, page.user, SERVICE, "POST", "mrp/runs"))
    target = bar.url("/mrp", done="run")
    return RedirectResponse(target, status_code=303)


# --- a row's actions ------------------------------------------------------------------------


async def _line_cell(
    request: Request, page: Page, so_number: str, line_no: int, values: dict[str, Any]
) -> Response:
    """The row's action cell redrawn from the line as the service has it now."""
    line: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, f"mrp/lines/{seg(so_number)}/{line_no}"
    )
    run: dict[str, Any] = await upstream.get_json(request, page.user, SERVICE, "mrp/runs/latest")
    shown = {
        "line": shown_line(line, run["id"]),
        "can_act": _can(page, Action.MRP_ACT),
        "can_buy": _can(page, Action.MRP_ACT) and _can(page, Action.PURCHASE_SUGGEST),
        **values,
    }
    return render(request, page, "mrp/_actions.html", shown)


@router.post("/mrp/lines/{so_number}/{line_no}/job")
async def create_job(so_number: str, line_no: int, request: Request) -> Response:
    page = await page_user(request, Action.MRP_ACT)
    form = await request.form()
    qty = text(form, "qty", 40)
    values: dict[str, Any] = {}
    typed = form.get("qty")
    if not qty and isinstance(typed, str) and typed.strip():
        # Too long for any quantity, or holding a NUL: refused here rather than read as none,
        # which made the job for the line's own quantity instead of what was typed.
        values["qty_error"] = _("Enter a number.").render(page.language)
        values["typed_qty"] = typed.strip().replace("\x00", "")[:40]
        return await _line_cell(request, page, so_number, line_no, values)
    try:
        answer = await upstream.call(
            request,
            page.user,
            SERVICE,
            "POST",
            f"mrp/lines/{seg(so_number)}/{line_no}/job",
            json={"qty": qty} if qty else None,
            idempotency_key=text(form, "key", 100) or None,
        )
        job = upstream.checked(answer)
        values["job"] = job
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, values["error"] = split_errors(problem, {"qty"})
        values["qty_error"] = errors.get("qty")
        values["typed_qty"] = qty  # drawn again as typed, beside the reason
    return await _line_cell(request, page, so_number, line_no, values)


@router.post("/mrp/lines/{so_number}/{line_no}/purchases")
async def suggest_purchases(so_number: str, line_no: int, request: Request) -> Response:
    page = await page_user(request, Action.MRP_ACT)
    form = await request.form()
    values: dict[str, Any] = {}
    try:
        answer = await upstream.call(
            request,
            page.user,
            SERVICE,
            "POST",
            f"mrp/lines/{seg(so_number)}/{line_no}/purchases",
            idempotency_key=text(form, "key", 100) or None,
        )
        values["purchases"] = upstream.checked(answer)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        values["error"] = str(problem.detail)
        values["unplaced"] = problem.problem.get("unplaced") or []
    return await _line_cell(request, page, so_number, line_no, values)


@router.post("/mrp/purchases")
async def suggest_purchases_for_view(request: Request) -> Response:
    """Purchases for every line of the view (its filters come with the form)."""
    page = await page_user(request, Action.MRP_ACT)
    form = await request.form()
    bar = FilterBar.from_form(form)
    values: dict[str, Any] = {}
    try:
        answer = await upstream.call(
            request,
            page.user,
            SERVICE,
            "POST",
            "mrp/purchases",
            json=bar.body(),
            idempotency_key=text(form, "key", 100) or None,
        )
        values["purchases"] = upstream.checked(answer)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        values["error"] = str(problem.detail)
        values["unplaced"] = problem.problem.get("unplaced") or []
    return render(request, page, "mrp/_purchases.html", values)


@router.get("/mrp/taken/{so_number}/{line_no}/{sku}")
async def taken(so_number: str, line_no: int, sku: str, request: Request) -> Response:
    """A tooltip's list: what the orders served before this line took of the component."""
    page = await page_user(request, Action.MRP_READ)
    values: dict[str, Any] = {}
    try:
        values["taken"] = await upstream.get_json(
            request,
            page.user,
            SERVICE,
            f"mrp/lines/{seg(so_number)}/{line_no}/components/{seg(sku)}/taken",
        )
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        values["error"] = str(problem.detail)
    return render(request, page, "mrp/_taken.html", values)


# --- the priority settings ------------------------------------------------------------------


@router.post("/mrp/priority")
async def save_priority(request: Request) -> Response:
    page = await page_user(request, Action.MRP_RUN)
    form = await request.form()
    bar = FilterBar.from_form(form)
    change = {
        "use_score": text(form, "use_score", 10) in ("on", "true", "1"),
        **{name: text(form, name, 40) for name in PRIORITY_FIELDS},
        "version": text(form, "version", 12),
    }
    try:
        upstream.checked(
            await upstream.call(request, page.user, SERVICE, "PUT", "mrp/priority", json=change)
        )
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors: dict[str, str] = {}
        rest: list[str] = []
        for raw, message in problem.field_errors.items():
            name = raw.removeprefix("body.")
            if name in PRIORITY_FIELDS:
                errors.setdefault(name, message)
            else:
                rest.append(message)
        if problem.code == "concurrent_change":
            rest = [
                str(
                    _(
                        "Another planner changed the settings while you were editing; "
                        "here they are as saved now. Make your change again."
                    )
                )
            ]
        lines, _status = await _lines(request, page, bar)
        settings = await _priority(request, page)
        if problem.code != "concurrent_change":
            settings = {**settings, **change, "version": settings["version"]}
        values = _values(
            request,
            page,
            bar,
            lines,
            settings,
            priority_errors=errors,
            priority_error=" ".join(rest) or (None if errors else str(problem.detail)),
        )
        return render(
            request,
            page,
            "mrp/dashboard.html",
            values,
            status_code=upstream.form_status(request, problem),
        )
    return RedirectResponse(bar.url("/mrp", done="priority") + "#priority", status_code=303)
