"""The books' pages: the journal and manual entries, the statements and the reconciliation, the
periods, the chart of accounts and posting accounts, and the QuickBooks feed.

One route module per part (journal.py, statements.py, periods.py, accounts.py, webhooks.py),
joined here into the feature's router. The pages' own script and styles (the manual entry's
live totals) are files of this folder served under /accounting/assets/: the pages' CSP allows
scripts and styles of this origin only.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from services.gateway.ui.accounting import accounts, journal, periods, statements, webhooks
from services.gateway.ui.frame import Feature, NavLink
from shared.auth.permissions import Action
from shared.i18n import _
from shared.web.problems import NotFound

ASSETS = Path(__file__).parent / "static"
ASSET_TYPES = {"accounting.js": "text/javascript", "accounting.css": "text/css"}

router = APIRouter()


@router.get("/accounting/assets/{name}")
async def asset(name: str) -> Response:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFound(
            _("There is no front-end file {name}; run `make run` to install them.", name=name)
        )
    return FileResponse(
        ASSETS / name, media_type=media_type, headers={"Cache-Control": "public, max-age=300"}
    )


for part in (journal, statements, periods, accounts, webhooks):
    router.include_router(part.router)


feature = Feature(
    name="accounting",
    router=router,
    order=40,
    nav=(
        NavLink(_("Journal"), "/journal", Action.BOOKS_READ),
        NavLink(_("Financial statements"), "/trial-balance", Action.BOOKS_READ),
        NavLink(_("QuickBooks feed"), "/accounting/webhooks", Action.BOOKS_WEBHOOKS),
        # Everyone who reads the books sees which months are closed; admins close and reopen.
        NavLink(_("Periods"), "/accounting/periods", Action.BOOKS_READ),
    ),
)
