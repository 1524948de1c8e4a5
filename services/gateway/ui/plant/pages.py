"""The plant's master data in the frame: facilities, their lines (with each line's capacity),
shifts, the downtime reason tree and the day locks (docs/downtime.md).

One route module per part (facilities.py, lines.py, shifts.py, reasons.py, day_locks.py),
joined here into the feature's router. Everything comes from the downtime service as the
signed-in user, and every change goes to it, so the service checks the permission and the
input; a refused form is drawn again with each message beside its field, and nothing is saved.
Buttons a role may not use are not drawn.

The pages' own styles (the reason swatches) and script (the "crosses midnight" hint of the
shift form) are files of this folder served under /plant/assets/: the pages' CSP allows
scripts and styles of this origin only. A swatch is an SVG rectangle filled with the reason's
colour, since the CSP allows no inline `style`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from services.gateway.ui.frame import Feature, NavLink
from services.gateway.ui.plant import day_locks, facilities, lines, reasons, shifts
from shared.auth.permissions import Action
from shared.i18n import _
from shared.web.problems import NotFound

ASSETS = Path(__file__).parent / "static"
ASSET_TYPES = {"plant.js": "text/javascript", "plant.css": "text/css"}

router = APIRouter()


@router.get("/plant/assets/{name}")
async def asset(name: str) -> Response:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFound(
            _("There is no front-end file {name}; run `make run` to install them.", name=name)
        )
    return FileResponse(
        ASSETS / name, media_type=media_type, headers={"Cache-Control": "public, max-age=300"}
    )


for part in (facilities, lines, shifts, reasons, day_locks):
    router.include_router(part.router)


feature = Feature(
    name="plant",
    router=router,
    order=60,
    nav=(NavLink(_("Plant"), "/plant", Action.DOWNTIME_READ),),
)
