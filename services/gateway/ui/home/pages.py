"""The start page: what the signed-in role needs today, and the way to each page it may use.

Each panel asks one service and shows a short list; a panel whose service does not answer says
so and the rest of the page still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response

from services.gateway.ui import upstream
from services.gateway.ui.frame import Feature, Page, page_user, render
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _
from shared.web.problems import PortalError

router = APIRouter()


@dataclass(frozen=True)
class Panel:
    title: Text
    action: Action
    service: str
    path: str
    params: dict[str, str | int]
    more: str  # the page with the whole list
    kind: str  # which list layout the template uses


PANELS = (
    Panel(
        _("Purchase orders awaiting receipt"),
        Action.RECEIPTS_WRITE,
        "purchasing",
        "purchase-orders",
        {"status": "submitted", "limit": 5},
        "/receiving",
        "purchase_orders",
    ),
    Panel(
        _("Partly received purchase orders"),
        Action.PURCHASE_ORDERS_READ,
        "purchasing",
        "purchase-orders",
        {"status": "partial", "limit": 5},
        "/purchase-orders?status=partial",
        "purchase_orders",
    ),
    Panel(
        _("Latest journal entries"),
        Action.BOOKS_READ,
        "accounting",
        "journal-entries",
        {"limit": 5},
        "/journal",
        "journal",
    ),
)


async def _panel(request: Request, page: Page, panel: Panel) -> dict[str, Any]:
    try:
        result = await upstream.get_json(
            request, page.user, panel.service, panel.path, panel.params
        )
    except PortalError as problem:
        return {"panel": panel, "error": problem.detail, "items": [], "total": 0}
    return {"panel": panel, "error": None, "items": result["items"], "total": result["total"]}


@router.get("/")
async def home(request: Request) -> Response:
    page = await page_user(request)
    panels = [
        await _panel(request, page, panel)
        for panel in PANELS
        if allowed(page.user.roles, panel.action)
    ]
    return render(request, page, "home/home.html", {"panels": panels})


feature = Feature(name="home", router=router, order=1)
