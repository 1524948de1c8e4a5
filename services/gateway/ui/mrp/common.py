"""What the MRP pages share: the mrp service's name, the filter bar (read from the page's query
string, passed on to the service as typed, its refusals shown beside their fields), the status
names and their colour classes, and small readers of forms and answers.

The mrp service owns the run and every figure (docs/mrp.md); these pages arrange them. Each
feature folder keeps its own small helpers (no feature imports another's); what every form
does with an answer is ui/forms.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from babel.dates import get_month_names
from fastapi import Request
from starlette.datastructures import FormData

from services.gateway.ui.forms import refusal, text  # noqa: F401
from services.gateway.ui.upstream import UpstreamProblem
from shared.i18n import Text, _, locale_of

SERVICE = "mrp"
API = f"/api/{SERVICE}/v1/mrp"
MAX_CODE = 64
PAGE_SIZE = 100
# The filters of the dashboard, as the mrp API names them; the forecast takes the first two.
FILTERS = ("business_unit", "customer", "due_year", "due_month", "no_due_date", "status", "q")
FORECAST_FILTERS = ("business_unit", "customer")

# Status kinds in the order of the chips, with the planners' names and a mark each, so a
# status reads without its colour too (the text is always shown).
STATUSES: tuple[tuple[str, Text, str], ...] = (
    ("ready_to_ship", _("Ready to Ship"), "✓"),
    ("partial_ship", _("Partial Ship"), "◐"),
    ("pending_qc", _("Pending QC"), "◔"),
    ("in_production", _("In Production"), "⚙"),
    ("full_production", _("Full Production Ready"), "▶"),
    ("partial_production", _("Partial Production Ready"), "◑"),
    ("awaiting_customer", _("Awaiting Customer Material"), "◌"),
    ("awaiting_purchase", _("Awaiting Purchase Order"), "◌"),
    ("critical_shortage", _("Critical Shortage"), "✕"),
)
STATUS_MARKS = {kind: mark for kind, _name, mark in STATUSES}


def seg(value: str) -> str:
    """A value as one path segment of the service's URL."""
    return quote(value[:MAX_CODE], safe="")


def month_names(language: str) -> list[tuple[str, str]]:
    names = get_month_names("wide", locale=locale_of(language))
    return [(str(number), str(names[number]).capitalize()) for number in range(1, 13)]


@dataclass
class FilterBar:
    """The filters as typed (`query`), and the service's refusals of them by field."""

    query: dict[str, str]
    statuses: list[str]
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def of(cls, request: Request, names: tuple[str, ...] = FILTERS) -> FilterBar:
        params = request.query_params
        query = {name: text(params, name, 100) for name in names if name != "status"}
        statuses = [s for s in params.getlist("status") if s and len(s) <= 32]
        return cls(query=query, statuses=statuses if "status" in names else [])

    @classmethod
    def from_form(cls, form: FormData) -> FilterBar:
        query = {name: text(form, name, 100) for name in FILTERS if name != "status"}
        statuses = [s for s in form.getlist("status") if isinstance(s, str) and len(s) <= 32]
        return cls(query=query, statuses=statuses)

    def params(self) -> dict[str, Any]:
        """What the service takes: the set filters only."""
        found: dict[str, Any] = {name: value for name, value in self.query.items() if value}
        if self.statuses:
            found["status"] = list(self.statuses)
        return found

    def body(self) -> dict[str, Any]:
        """The same filters as a JSON body (the view's purchases)."""
        found: dict[str, Any] = {}
        for name, value in self.params().items():
            if name == "no_due_date":
                found[name] = value in ("true", "on", "1")
            elif name in ("due_year", "due_month"):
                found[name] = int(value) if value.isdigit() and len(value) < 6 else value
            else:
                found[name] = value
        return found

    def url(self, path: str, **changed: Any) -> str:
        params = {**self.params(), **changed}
        query = urlencode({k: v for k, v in params.items() if v not in (None, "", [])}, doseq=True)
        return f"{path}?{query}" if query else path

    def status_url(self, path: str, kind: str) -> str:
        """The view with only this status (or with none, when it is the one shown)."""
        chosen = [] if self.statuses == [kind] else [kind]
        return self.url(path, status=chosen, offset=None)

    def refused(self, problem: UpstreamProblem) -> None:
        """The service's refusal beside the fields it names, or above the page."""
        rest: list[str] = []
        for raw, message in problem.field_errors.items():
            name = raw.removeprefix("query.").split(".")[0]
            if name in FILTERS:
                self.errors.setdefault(name, message)
            else:
                rest.append(message)
        if rest or not self.errors:
            self.error = " ".join(rest) or str(problem.detail)
