"""The filter bar of the OEE and downtime pages: facility (from the downtime service's
facilities), line (optional; the chosen facility's), production days from and to (by default the
last 7 days of the plant's calendar), and each page's own choices (OEE's grouping, the trend's
day or week, planned or unplanned stops).

What was typed goes on to the service as it is, and the service judges it: a day that is not
one, the last day before the first, an unknown facility or a line of another facility come
back as its 422/404 naming the field, and the page shows each message beside its field. The
same values make the links to the service's workbooks (through the gateway's API), so Excel
holds the rows the page shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request

from services.gateway.ui import upstream
from services.gateway.ui.forms import refusal  # noqa: F401
from services.gateway.ui.frame import Page
from services.gateway.ui.upstream import UpstreamProblem
from shared.events.envelope import utc_now
from shared.i18n import Text, _

SERVICE = "downtime"
API = f"/api/{SERVICE}/v1"
MAX_CODE = 32  # the service's longest code; longer is none
MAX_DAY = 32  # a typed day: longer is not one, and the service says so
MAX_LIST = 1000
DEFAULT_DAYS = 7
COMMON = ("facility_code", "line_code", "date_from", "date_to")


@dataclass(frozen=True)
class Choice:
    """A select of the bar of one page: its options and the one taken when none is given."""

    name: str
    label: Text
    options: Sequence[tuple[str, Text]]
    default: str


@dataclass
class FilterBar:
    query: dict[str, str]
    facilities: list[tuple[str, str]]
    lines: list[tuple[str, str]]
    choices: Sequence[Choice] = ()
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def params(self, *names: str) -> dict[str, str]:
        """The filters a report of the service takes (the common ones and `names`), set ones
        only."""
        wanted = (*COMMON, *names)
        return {name: self.query[name] for name in wanted if self.query.get(name)}

    def workbook(self, report: str, *names: str) -> str:
        """The service's workbook of `report`, through the gateway, with the same filters."""
        return f"{API}/reports/{report}.xlsx?{urlencode(self.params(*names))}"

    def url(self, path: str, **changed: str) -> str:
        return f"{path}?{urlencode({**self.params(*self._own()), **changed})}"

    def _own(self) -> list[str]:
        return [choice.name for choice in self.choices]

    def refused(self, problem: UpstreamProblem) -> None:
        """The service's refusal beside the fields it names, or above the page."""
        fields = {*COMMON, *self._own()}
        rest: list[str] = []
        for raw, message in problem.field_errors.items():
            name = raw.removeprefix("query.")
            if name in fields:
                self.errors.setdefault(name, message)
            else:
                rest.append(message)
        self.error = " ".join(rest) if rest else (None if self.errors else str(problem.detail))


def _typed(request: Request, name: str, limit: int) -> str:
    value = (request.query_params.get(name) or "").strip()
    return value[:limit] if "\x00" not in value else ""


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback):
        try:
            return ZoneInfo(str(candidate))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def _listed(result: Any) -> list[dict[str, Any]]:
    rows = result.get("items", []) if isinstance(result, Mapping) else result
    return [row for row in rows or [] if isinstance(row, dict)]


async def _plant(
    request: Request, page: Page, facility_code: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    facilities = _listed(
        await upstream.get_json(request, page.user, SERVICE, "facilities", {"limit": MAX_LIST})
    )
    known = {row.get("code") for row in facilities}
    lines_query: dict[str, str | int] = {"limit": MAX_LIST}
    if facility_code in known:
        lines_query["facility_code"] = facility_code
    lines = _listed(await upstream.get_json(request, page.user, SERVICE, "lines", lines_query))
    return facilities, lines


def _line_label(line: Mapping[str, Any], every_facility: bool) -> str:
    label = f"{line.get('code')} · {line.get('name')}"
    if every_facility:
        label += f" ({line.get('facility_code')})"
    if line.get("active") is False:
        label += " " + _("(inactive)").render()
    return label


async def filter_bar(request: Request, page: Page, choices: Iterable[Choice] = ()) -> FilterBar:
    """The bar as the request sets it, with the facilities and lines to choose from."""
    own = tuple(choices)
    query = {name: _typed(request, name, MAX_CODE) for name in ("facility_code", "line_code")}
    query["facility_code"] = query["facility_code"].upper()
    query["line_code"] = query["line_code"].upper()
    facilities, lines = await _plant(request, page, query["facility_code"])
    zone_name = next(
        (row.get("timezone") for row in facilities if row.get("code") == query["facility_code"]),
        None,
    )
    today = utc_now().astimezone(_zone(zone_name, page.timezone)).date()
    raw_from, raw_to = _typed(request, "date_from", MAX_DAY), _typed(request, "date_to", MAX_DAY)
    last = _day(raw_to) or today
    query["date_to"] = raw_to or today.isoformat()
    query["date_from"] = raw_from or _days_before(last, DEFAULT_DAYS - 1).isoformat()
    for choice in own:
        typed = _typed(request, choice.name, MAX_CODE)
        query[choice.name] = typed if typed in dict(choice.options) else choice.default
    every_facility = not query["facility_code"]
    return FilterBar(
        query=query,
        facilities=[("", _("All facilities").render())]
        + [(str(row["code"]), f"{row['code']} · {row.get('name', '')}") for row in facilities],
        lines=[("", _("All lines").render())]
        + [(str(row["code"]), _line_label(row, every_facility)) for row in lines],
        choices=own,
    )


def _days_before(last: date, days: int) -> date:
    """`days` before `last`, or the calendar's first day (a last day typed as 0001-01-02)."""
    return last - timedelta(days=min(days, (last - date.min).days))


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
