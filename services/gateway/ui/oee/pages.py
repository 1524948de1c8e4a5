"""OEE and downtime reports in the frame (issue 8): OEE per line, shift, day or line-shift with
each factor's inputs and arithmetic, and the downtime page: by reason and by line, the Pareto of
reasons with the cumulative percentage, the trend by day or week, and MTBF/MTTR per line.

Every figure is the downtime service's (GET /reports/oee, /downtime-summary, /pareto, /trend,
/reliability, asked as the signed-in user); the pages arrange them, write out the arithmetic
and draw the charts (ECharts, static/oee.js) from the numbers the tables show, passed in a data
attribute (the CSP allows no inline script). Each table links to the service's own workbook of
the same filters through the gateway's API (`/api/downtime/v1/reports/<report>.xlsx`).

The pages' script and styles are files of this folder served under /oee/assets/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from services.gateway.ui import upstream
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from services.gateway.ui.oee import formats
from services.gateway.ui.oee.filters import SERVICE, Choice, FilterBar, filter_bar, refusal
from shared.auth.permissions import Action
from shared.i18n import _, language_scope
from shared.web.problems import NotFound

ASSETS = Path(__file__).parent / "static"
ASSET_TYPES = {"oee.js": "text/javascript", "oee.css": "text/css"}

router = APIRouter()

GROUP_BY = Choice(
    "group_by",
    _("Group by"),
    (
        ("line", _("Line")),
        ("shift", _("Shift")),
        ("day", _("Day")),
        ("occurrence", _("Line and shift worked")),
    ),
    "line",
)
PLANNED = Choice(
    "planned",
    _("Stops"),
    (("", _("All stops")), ("false", _("Unplanned")), ("true", _("Planned"))),
    "",
)
LEVEL = Choice(
    "level",
    _("Reasons"),
    (("leaf", _("As entered")), ("top", _("By top reason"))),
    "leaf",
)
BUCKET = Choice("bucket", _("Trend by"), (("day", _("Day")), ("week", _("Week"))), "day")

# Filled with the template's values when a report could not be read.
EMPTY: dict[str, Any] = {"report": None}


@router.get("/oee/assets/{name}")
async def asset(name: str) -> Response:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFound(
            _("There is no front-end file {name}; run `make run` to install them.", name=name)
        )
    return FileResponse(
        ASSETS / name, media_type=media_type, headers={"Cache-Control": "public, max-age=300"}
    )


def _shown(page: Page, bar: FilterBar, values: dict[str, Any]) -> dict[str, Any]:
    """What both pages' templates use: the bar and the figure formats."""
    return {
        "bar": bar,
        "duration": formats.duration,
        "ratio": formats.ratio_percent,
        "percent": formats.percent,
        "count": formats.count,
        "colour": formats.colour,
        "working": formats.oee_working,
        "timezone": page.timezone,
        **values,
    }


# --- OEE --------------------------------------------------------------------------------------


def _oee_chart_labels() -> dict[str, str]:
    return {
        "availability": _("Availability").render(),
        "performance": _("Performance").render(),
        "quality": _("Quality").render(),
        "oee": _("OEE").render(),
    }


@router.get("/oee")
async def oee(request: Request) -> Response:
    """OEE of the range by the chosen grouping: each factor, its inputs and its arithmetic, a
    chart of the four per group, and what the figures leave out (output outside the shifts,
    products without a capacity)."""
    page = await page_user(request, Action.DOWNTIME_REPORTS_READ)
    bar = await filter_bar(request, page, (GROUP_BY,))
    try:
        report: dict[str, Any] = await upstream.get_json(
            request, page.user, SERVICE, "reports/oee", bar.params("group_by")
        )
    except upstream.UpstreamProblem as problem:
        if not refusal(problem):
            raise
        bar.refused(problem)
        values = _shown(page, bar, EMPTY)
        return render(request, page, "oee/oee.html", values, status_code=problem.status)
    group_by = bar.query["group_by"]
    with language_scope(page.language):
        rows = [
            {**row, "label": formats.oee_group_label(row, group_by)}
            for row in report.get("rows", [])
        ]
        chart = formats.oee_chart(rows, _oee_chart_labels()) if rows else None
    totals = report.get("totals") or {}
    missing = sorted({str(sku) for sku in totals.get("missing_capacity_skus") or []})
    values = _shown(
        page,
        bar,
        {
            "report": report,
            "rows": rows,
            "chart": chart,
            "missing_skus": missing,
            "group_label": dict(GROUP_BY.options)[group_by],
        },
    )
    return render(request, page, "oee/oee.html", values)


# --- downtime ---------------------------------------------------------------------------------


def _downtime_chart_labels() -> dict[str, str]:
    return {
        "minutes": _("Minutes").render(),
        "cumulative": _("Cumulative %").render(),
        "planned": _("Planned").render(),
        "unplanned": _("Unplanned").render(),
    }


@router.get("/oee/downtime")
async def downtime(request: Request) -> Response:
    """Downtime of the range by reason (with the Pareto) and by line, the trend by day or
    week, and MTBF/MTTR per line."""
    page = await page_user(request, Action.DOWNTIME_REPORTS_READ)
    bar = await filter_bar(request, page, (PLANNED, LEVEL, BUCKET))

    def ask(path: str, *names: str) -> Any:
        return upstream.get_json(request, page.user, SERVICE, f"reports/{path}", bar.params(*names))

    try:
        summary, pareto, trend, reliability = await asyncio.gather(
            ask("downtime-summary", "planned", "level"),
            ask("pareto", "planned", "level"),
            ask("trend", "planned", "bucket"),
            ask("reliability"),
        )
    except upstream.UpstreamProblem as problem:
        if not refusal(problem):
            raise
        bar.refused(problem)
        values = _shown(page, bar, EMPTY)
        return render(request, page, "oee/downtime.html", values, status_code=problem.status)
    bucket = bar.query["bucket"]
    with language_scope(page.language):
        labels = _downtime_chart_labels()
        trend_rows = [
            {**row, "label": formats.trend_label(row, bucket)} for row in trend.get("rows", [])
        ]
        pareto_chart = formats.pareto_chart(pareto.get("rows", []), labels)
        trend_chart = formats.trend_chart(trend_rows, bucket, labels)
    values = _shown(
        page,
        bar,
        {
            "report": summary,
            "pareto": pareto,
            "trend": trend,
            "trend_rows": trend_rows,
            "reliability": reliability,
            "pareto_chart": pareto_chart if pareto.get("rows") else None,
            "trend_chart": trend_chart if any(row.get("count") for row in trend_rows) else None,
            "bucket_urls": {
                choice: bar.url("/oee/downtime", bucket=choice) + "#trend"
                for choice, _label in BUCKET.options
            },
        },
    )
    return render(request, page, "oee/downtime.html", values)


feature = Feature(
    name="oee",
    router=router,
    order=45,
    nav=(NavLink(_("Downtime & OEE"), "/oee", Action.DOWNTIME_REPORTS_READ),),
)
