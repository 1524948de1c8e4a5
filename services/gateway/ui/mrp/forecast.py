"""The shipment forecast page: the latest MRP run's open lines by due month, Likely to Ship and
At-Risk/Partial, in quantity and value (the mrp service's rule, docs/mrp.md), as a table and an
ECharts stacked bar of the values (drawn by static/mrp.js from the numbers the table shows,
passed in a data attribute: the CSP allows no inline script)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from services.gateway.ui import upstream
from services.gateway.ui.frame import page_user, render
from services.gateway.ui.mrp.common import API, FORECAST_FILTERS, SERVICE, FilterBar, refusal
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import _, language_scope

router = APIRouter()


def chart_data(result: dict[str, Any], no_date: str, labels: dict[str, str]) -> str:
    """The chart's figures: a bar per month, the values as the service wrote them."""
    months = result.get("months") or []
    return json.dumps(
        {
            "months": [month.get("month") or no_date for month in months],
            "likely": [month.get("likely_value") for month in months],
            "at_risk": [month.get("at_risk_value") for month in months],
            "labels": labels,
        }
    )


@router.get("/mrp/forecast")
async def forecast(request: Request) -> Response:
    page = await page_user(request, Action.MRP_READ)
    bar = FilterBar.of(request, FORECAST_FILTERS)
    status = 200
    result: dict[str, Any] | None = None
    choices: dict[str, Any] = {}
    try:
        result = await upstream.get_json(request, page.user, SERVICE, "mrp/forecast", bar.params())
        lines = await upstream.get_json(request, page.user, SERVICE, "mrp/lines", {"limit": 1})
        choices = lines.get("choices") or {}
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        bar.refused(problem)
        status = problem.status
    chart = None
    if result and result.get("months"):
        with language_scope(page.language):
            chart = chart_data(
                result,
                _("No due date").render(),
                {
                    "likely": _("Likely to Ship").render(),
                    "at_risk": _("At-Risk/Partial").render(),
                },
            )
    values = {
        "bar": bar,
        "result": result,
        "run": (result or {}).get("run"),
        "choices": choices,
        "chart": chart,
        "workbook": bar.url(f"{API}/forecast.xlsx"),
    }
    return render(request, page, "mrp/forecast.html", values, status_code=status)
