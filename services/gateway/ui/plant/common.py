"""What the plant pages share: the downtime service's name, reading forms and answers, refusals
split by field, the facility every page hangs under, and the tabs that join its pages.

The downtime service owns the plant's master data and checks every change (docs/downtime.md);
these pages only draw it and pass the forms on as the signed-in user. Each feature folder keeps
its own small helpers (no feature imports another's), so these few repeat what the accounting
pages hold for themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.forms import plain, refusal, split_errors, text  # noqa: F401
from services.gateway.ui.frame import Page
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _

SERVICE = "downtime"
MAX_CODE = 64  # a code in a path or a form; longer is none
MAX_LIST = 1000  # rows asked of a list: a plant has tens of lines and reasons, not thousands

ALLERGEN_LABELS: dict[str, Text] = {
    "allergen_free": _("Allergen-free"),
    "handles_allergens": _("Handles allergens"),
}


def seg(code: str) -> str:
    """A code as one path segment of the service's URL."""
    return quote(code[:MAX_CODE], safe="")


def listed(result: Any, key: str = "items") -> list[dict[str, Any]]:
    """The rows of a list answer, paged ({items, total}) or plain."""
    if isinstance(result, Mapping):
        result = result.get(key, [])
    return [row for row in result or [] if isinstance(row, dict)]


def query_text(request: Request, name: str, limit: int = MAX_CODE) -> str:
    return text(request.query_params, name, limit)


def checked_on(form: FormData, name: str) -> bool:
    return text(form, name) in ("on", "true", "1")


def whole_number(typed: str) -> int | str | None:
    """'6' -> 6; '' -> None; anything else goes on as typed, so the service names the field."""
    if not typed:
        return None
    if typed.isascii() and typed.lstrip("-").isdigit() and len(typed) < 10:
        return int(typed)
    return typed


def clock(value: Any) -> str:
    """'22:00:00' -> '22:00', for an <input type=time> and the lists."""
    shown = str(value or "")
    return shown[:5] if len(shown) >= 5 and shown[2:3] == ":" else shown


async def send(request: Request, page: Page, method: str, path: str, body: Any = None) -> Any:
    """A change to the downtime service as the page's user; its refusal raised as a problem."""
    answer = await upstream.call(request, page.user, SERVICE, method, path, json=body)
    return upstream.checked(answer)


async def facility_of(request: Request, page: Page, code: str) -> dict[str, Any]:
    """The facility `code` (a 404 page when there is none)."""
    found: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, f"facilities/{seg(code)}"
    )
    return found


async def line_of(request: Request, page: Page, code: str) -> dict[str, Any]:
    found: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, f"lines/{seg(code)}"
    )
    return found


def facility_zone(facility: Mapping[str, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(str(facility.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(facility: Mapping[str, Any]) -> date:
    return datetime.now(facility_zone(facility)).date()


def can(page: Page, action: Action) -> bool:
    return allowed(page.user.roles, action)


def done(request: Request) -> dict[str, str]:
    """What the last change did ('?done=saved&code=L1'), for the notice at the top."""
    return {"done": query_text(request, "done", 20), "code": query_text(request, "code")}
