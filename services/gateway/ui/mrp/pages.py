"""The MRP in the frame (issue 9): the dashboard of the latest run (dashboard.py) and the
shipment forecast (forecast.py), joined here into the feature's router; everything comes from
the mrp service as the signed-in user (docs/mrp.md, "Dashboard, actions and forecast").

The pages' own styles (status colours, the tooltips) and script (the forecast's chart, closing
a tooltip with Escape) are files of this folder served under /mrp/assets/: the pages' CSP
allows scripts and styles of this origin only.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from services.gateway.ui.frame import Feature, NavLink
from services.gateway.ui.mrp import dashboard, forecast
from shared.auth.permissions import Action
from shared.i18n import _
from shared.web.problems import NotFound

ASSETS = Path(__file__).parent / "static"
ASSET_TYPES = {"mrp.js": "text/javascript", "mrp.css": "text/css"}

router = APIRouter()


@router.get("/mrp/assets/{name}")
async def asset(name: str) -> Response:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFound(
            _("There is no front-end file {name}; run `make run` to install them.", name=name)
        )
    return FileResponse(
        ASSETS / name, media_type=media_type, headers={"Cache-Control": "public, max-age=300"}
    )


router.include_router(forecast.router)
router.include_router(dashboard.router)

feature = Feature(
    name="mrp",
    router=router,
    order=24,
    nav=(NavLink(_("MRP"), "/mrp", Action.MRP_READ),),
)
