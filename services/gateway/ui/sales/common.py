"""What the sales pages share: the mrp service's name, the order statuses in words, reading
forms, refusals split by field, and who may do what.

The mrp service owns customers, sales orders and their payments, and checks every change; these
pages only draw them and pass the forms on as the signed-in user. Each feature folder keeps its
own small helpers (no feature imports another's), so these few repeat what the plant pages hold
for themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.forms import idempotency_key, plain, refusal, split_errors, text  # noqa: F401
from services.gateway.ui.frame import Page
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


def checked_on(form: FormData, name: str) -> bool:
    return text(form, name) in ("on", "true", "1")


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
