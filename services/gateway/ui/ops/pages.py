"""The ops dashboard: every service's health, traffic, event flow, backlog and dead letters.

Figures come from `services.gateway.ops.gather_summary` (each service's /healthz, /readyz,
/metrics and ops status, asked in parallel); the page refreshes them on the live stream's
`tick` (every few seconds) and when an event arrives, with no manual reload. Dead letters are
listed from each service's ops API with their error; an admin replays one with a button, and
the answer says whether it was applied.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request, Response

from services.gateway.ops import gather_summary
from services.gateway.ui import upstream
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from shared.auth.permissions import Action, allowed
from shared.i18n import _
from shared.settings import SERVICES
from shared.web.problems import PortalError

router = APIRouter()

STATE_LABELS = {"up": _("Up"), "degraded": _("Degraded"), "down": _("Down")}
OUTCOME_LABELS = {
    "replayed": _("Replayed: the event was applied."),
    "already_replayed": _("It had been replayed already: nothing was done twice."),
}


async def _dead_letters(request: Request, page: Page) -> list[dict[str, Any]]:
    """Open dead letters of every service, newest first; a service that does not answer is
    left out (the figures above say it is down)."""

    async def of(service: str) -> list[dict[str, Any]]:
        try:
            found = await upstream.get_json(
                request, page.user, service, "ops/dead-letters", {"status": "open", "limit": 50}
            )
        except PortalError:
            return []
        return [{**letter, "service": service} for letter in found.get("items", [])]

    names = [name for name in SERVICES if name != "gateway"]
    per_service = await asyncio.gather(*(of(name) for name in names))
    letters = [letter for found in per_service for letter in found]
    return sorted(letters, key=lambda letter: letter["failed_at"], reverse=True)


async def _values(request: Request, page: Page) -> dict[str, Any]:
    summary, letters = await asyncio.gather(
        gather_summary(request.app.state, page.user), _dead_letters(request, page)
    )
    chart = {
        service.service: service.traffic.requests_per_second if service.traffic else None
        for service in summary.services
    }
    return {
        "summary": summary,
        "letters": letters,
        "state_labels": STATE_LABELS,
        "can_replay": allowed(page.user.roles, Action.DEAD_LETTERS_REPLAY),
        "chart_point": json.dumps({"at": summary.checked_at.isoformat(), "rates": chart}),
    }


@router.get("/ops")
async def dashboard(request: Request) -> Response:
    page = await page_user(request, Action.OPS_READ)
    values = await _values(request, page)
    template = "ops/figures.html" if request.headers.get("hx-request") else "ops/dashboard.html"
    return render(request, page, template, values)


@router.post("/ops/dead-letters/{service}/{letter_id}/replay")
async def replay(service: str, letter_id: int, request: Request) -> Response:
    page = await page_user(request, Action.DEAD_LETTERS_REPLAY)
    message: Any
    try:
        answer = await upstream.call(
            request, page.user, service, "POST", f"ops/dead-letters/{letter_id}/replay"
        )
        body = answer.json() if answer.content else {}
        outcome = body.get("outcome")
        if answer.is_success:
            message, ok = OUTCOME_LABELS.get(str(outcome), body.get("detail", "")), True
        else:
            message, ok = body.get("detail") or body.get("title") or answer.status_code, False
    except PortalError as refused:
        message, ok = refused.detail, False
    values = await _values(request, page)
    values["replay"] = {"ok": ok, "message": message, "service": service, "id": letter_id}
    return render(request, page, "ops/figures.html", values)


feature = Feature(
    name="ops",
    router=router,
    order=80,
    nav=(NavLink(_("Operations"), "/ops", Action.OPS_READ),),
)
