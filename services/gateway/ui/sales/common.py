"""What the sales pages share: the mrp service's name, the order statuses in words, reading
forms, refusals split by field, and who may do what.

The mrp service owns customers, sales orders and their payments, and checks every change; these
pages only draw them and pass the forms on as the signed-in user. Each feature folder keeps its
own small helpers (no feature imports another's), so these few repeat what the plant pages hold
for themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _
from shared.web.problems import PortalError

SERVICE = "mrp"
MAX_CODE = 64  # a code or number in a path or a form; longer is none
MAX_CHOICES = 1000  # customers or items offered in a list

# The words of mrp's SoStatus, as the pages show them.
SO_STATUS_LABELS: dict[str, Text] = {
    "open": _("Open"),
    "in_production": _("In production"),
    "partial_qc": _("Partially passed QC"),
    "qc_failed": _("Failed QC"),
    "ready_to_ship": _("Ready to ship"),
    "partial": _("Partially shipped"),
    "shipped": _("Shipped"),
    "cancelled": _("Cancelled"),
}
# Nothing more happens to an order in these (mrp refuses changes and payments accordingly).
FINISHED = ("shipped", "cancelled")
PRIORITY_LABELS: dict[str, Text] = {
    "1": _("1 (most important)"),
    "2": _("2"),
    "3": _("3"),
    "4": _("4"),
    "5": _("5 (least important)"),
}
# Production's order statuses, for the lines' production orders.
PRODUCTION_STATUS_LABELS: dict[str, Text] = {
    "draft": _("Draft"),
    "scheduled": _("Scheduled"),
    "in_progress": _("In progress"),
    "printed": _("Printed, awaiting QC"),
    "completed": _("Completed"),
    "cancelled": _("Cancelled"),
}


def seg(code: str) -> str:
    """A code as one path segment of the service's URL."""
    return quote(code[:MAX_CODE], safe="")


def listed(result: Any) -> list[dict[str, Any]]:
    """The rows of a list answer, paged ({items, total}) or plain."""
    if isinstance(result, Mapping):
        result = result.get("items", [])
    return [row for row in result or [] if isinstance(row, dict)]


def text(form: FormData | Mapping[str, Any], name: str, limit: int = 1000) -> str:
    """A typed value, trimmed; what no field can hold (a NUL, a novel) is nothing."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return value if len(value) <= limit and "\x00" not in value else ""


def checked_on(form: FormData, name: str) -> bool:
    return text(form, name) in ("on", "true", "1")


def plain(value: Any) -> str:
    """'8.0000' -> '8', '1.2500' -> '1.25': what a person types."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    return format(number, "f")


def utc_moment(typed: str, timezone: str) -> str | None:
    """A `datetime-local` value, meant in the plant's time zone, as UTC for the service; what
    cannot be read goes on as typed, so the service names the field."""
    if not typed:
        return None
    try:
        local = datetime.fromisoformat(typed)
    except ValueError:
        return typed
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC")).isoformat()


def idempotency_key(form: FormData) -> str:
    """The form's own key (a uuid drawn with the form), or a new one for a hand-made post."""
    try:
        return str(uuid.UUID(text(form, "idempotency_key")))
    except ValueError:
        return str(uuid.uuid4())


def refusal(problem: UpstreamProblem) -> bool:
    """A 4xx the page can show beside its form (not a missing session or a forbidden role)."""
    return 400 <= problem.status < 500 and problem.status not in (401, 403)


def split_errors(problem: UpstreamProblem, fields: set[str]) -> tuple[dict[str, str], str | None]:
    """The problem's messages by form field, and the rest as one message for the whole form.

    A field path may come as 'body.amount' or 'lines.0.qty'; a refusal naming no field of the
    form (a 409 about the order's status) is the form's message.
    """
    errors: dict[str, str] = {}
    rest: list[str] = []
    for raw, message in problem.field_errors.items():
        name = raw.removeprefix("body.").removeprefix("query.").removeprefix("path.")
        if name in fields:
            errors.setdefault(name, message)
        else:
            rest.append(message)
    general = " ".join(rest) if rest else None
    if not errors and general is None:
        general = str(problem.detail)
    return errors, general


async def send(
    request: Request,
    page: Page,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
) -> Any:
    """A change to the mrp service as the page's user; its refusal raised as a problem."""
    answer = await upstream.call(
        request, page.user, SERVICE, method, path, json=body, idempotency_key=key
    )
    return upstream.checked(answer)


async def optional(
    request: Request, page: Page, service: str, path: str, params: upstream.Params | None = None
) -> Any:
    """A side block's data, or None when its owner cannot give it (the page still shows)."""
    try:
        return await upstream.get_json(request, page.user, service, path, params)
    except PortalError:
        return None


def can(page: Page, action: Action) -> bool:
    return allowed(page.user.roles, action)


def done(request: Request) -> str:
    """What the last change did ('?done=saved'), for the notice at the top."""
    return text(request.query_params, "done", 20)
