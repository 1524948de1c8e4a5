"""The planners' scheduling grid in the frame (issue 9): open sales-order lines in an Excel-like
grid (AG Grid), the FG value cards by the 19th-day cutoff above it, a total row that follows
the grid's filters, and each line's cell history in a side panel.

The page draws the frame, the filter bar and the grid's box; the grid's script (static/
schedule-grid.js, served under /schedule/assets/ as the CSP allows no inline script) reads the
lines and saves each projection cell through the gateway's JSON API (`/api/mrp/v1/schedule...`,
as the signed-in user, with the session's CSRF token), so the mrp service checks the role and
the input and keeps the history. Only roles that may edit projections get editable cells.

Filters the mrp service refuses (a due range ending before it starts, a month that is none) are
told beside their fields, as every form does: the page asks the service once with them before
drawing the grid. Another planner's save reaches an open grid through the live stream's
`schedule` topic (ui/live.py); the script fetches the lines saved since and updates those rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from services.gateway.ui import upstream
from services.gateway.ui.forms import refusal, split_errors
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _, language_scope
from shared.web.problems import NotFound

ASSETS = Path(__file__).parent / "static"
ASSET_TYPES = {"schedule-grid.js": "text/javascript", "schedule.css": "text/css"}
# The filter bar's fields, as the mrp API names them.
FILTERS = ("customer_code", "business_unit", "due_month", "due_from", "due_to", "sku", "q")
MAX_FILTER_LENGTH = 100

router = APIRouter()

# Everything the grid's script shows, in the page's language.
GRID_TEXTS: dict[str, Text] = {
    "so_number": _("Sales order"),
    "line_no": _("Line"),
    "customer": _("Customer"),
    "business_unit": _("Business unit"),
    "sku": _("SKU"),
    "item_name": _("Item"),
    "due_date": _("Due date"),
    "qty_ordered": _("Qty ordered"),
    "qty_shipped": _("Qty shipped"),
    "fg_on_hand": _("FG on hand"),
    "fg_covering": _("FG covering the line"),
    "net_qty": _("Net qty"),
    "unit_price": _("Unit price"),
    "ordered_value": _("Ordered value"),
    "net_value": _("Net value"),
    "low_risk_qty": _("No/Low Risk Qty"),
    "low_risk_value": _("No/Low Risk $"),
    "high_risk_qty": _("High Risk Qty"),
    "high_risk_value": _("High Risk $"),
    "updated_by": _("Updated by"),
    "updated_at": _("Updated at"),
    "history": _("History"),
    "history_of": _("Changes of {so_number} line {line_no}"),
    "no_history": _("No projection of this line has been saved yet."),
    "changed_at": _("When"),
    "field": _("Cell"),
    "old_value": _("From"),
    "new_value": _("To"),
    "changed_by": _("Who"),
    "close": _("Close"),
    "total": _("Total ({count} lines)"),
    "saved": _("Saved {so_number} line {line_no}."),
    "not_sent": _(
        "Not saved: {so_number} line {line_no} changed while you typed. It shows the figures "
        "as they are now; type yours again if they still hold."
    ),
    "loading": _("Loading…"),
    "no_rows": _("No open sales-order lines match the filters."),
    "filters_refused": _("No lines are shown until the filters marked above are corrected."),
    "lines_shown": _("{count} open lines match the filters."),
    "card_total": _("FG on hand"),
    "card_current": _("For lines due by {cutoff}"),
    "card_next": _("For lines due {first} to {cutoff}"),
    "card_not_needed": _("Not needed by either"),
    "at_cost": _("at cost"),
    "at_price": _("at sales price"),
    "unpriced": _("No open line prices: {skus}"),
    "over_open": _("The two projections add up to more than the open quantity."),
    "failed": _("The line could not be saved: {reason}"),
}


@router.get("/schedule/assets/{name}")
async def asset(name: str) -> Response:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFound(
            _("There is no front-end file {name}; run `make run` to install them.", name=name)
        )
    return FileResponse(
        ASSETS / name, media_type=media_type, headers={"Cache-Control": "public, max-age=300"}
    )


def _filters(request: Request) -> dict[str, str]:
    """The filter bar as the user left it (empty fields left out), passed to the API as is:
    the service checks them and the grid shows its refusal."""
    query = request.query_params
    return {
        name: query[name].strip()[:MAX_FILTER_LENGTH]
        for name in FILTERS
        if query.get(name, "").strip()
    }


async def _customers(request: Request, page: Page) -> list[tuple[str, str]]:
    """Customers for the filter's list; none (a plain text field) if they cannot be read."""
    try:
        found: dict[str, Any] = await upstream.get_json(
            request, page.user, "mrp", "customers", {"limit": 1000, "sort": "name"}
        )
    except upstream.UpstreamProblem:
        return []
    return [(str(each["code"]), str(each["name"])) for each in found.get("items", [])]


async def refused_filters(
    request: Request, page: Page, filters: dict[str, str]
) -> tuple[int, dict[str, str], str | None]:
    """The status, the messages by filter field and the rest as one message, when the mrp
    service refuses the filters; (200, {}, None) when it takes them, or when it cannot be
    asked (the grid's script then shows why the lines could not be read)."""
    if not filters:
        return 200, {}, None
    try:
        await upstream.get_json(request, page.user, "mrp", "schedule", {**filters, "limit": 1})
    except upstream.UpstreamProblem as problem:
        if not refusal(problem):
            return 200, {}, None
        errors, general = split_errors(problem, set(FILTERS))
        return problem.status, errors, general
    return 200, {}, None


@router.get("/schedule")
async def schedule(request: Request) -> Response:
    """The grid of open sales-order lines with the filters of the query string; filters the
    service refuses are marked on their fields, and no lines are read with them."""
    page = await page_user(request, Action.MRP_READ)
    filters = _filters(request)
    status, errors, general = await refused_filters(request, page, filters)
    with language_scope(page.language):
        texts = {key: text.render() for key, text in GRID_TEXTS.items()}
    customers = await _customers(request, page)
    return render(
        request,
        page,
        "schedule/grid.html",
        {
            "filters": filters,
            "customers": customers,
            "query": urlencode(filters),
            "grid_texts": json.dumps(texts),
            "can_edit": allowed(page.user.roles, Action.SCHEDULE_WRITE),
            "errors": errors,
            "error": general,
            "refused": status != 200,
        },
        status_code=status,
    )


feature = Feature(
    name="schedule",
    router=router,
    order=25,
    nav=(NavLink(_("Scheduling"), "/schedule", Action.MRP_READ),),
)
