"""The gateway's web UI (DESIGN §8): the frame, and one subpackage per feature.

`routers()` finds every feature (a subpackage with `pages.py` exposing `feature`), registers its
navigation and templates with the frame, and returns its router with the frame's own routes:
static files, the front-end packages from node_modules, and the live event stream. Every route
that changes something checks the CSRF token (`csrf_protected`).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response
from starlette.staticfiles import StaticFiles

from services.gateway import domain
from services.gateway.api import same_site_only
from services.gateway.domain import SESSION_COOKIE
from services.gateway.ui import frame, live
from services.gateway.ui.frame import CSRF_FIELD, CSRF_HEADER, Feature
from shared.i18n import _
from shared.web.problems import Forbidden, NotFound

HERE = Path(__file__).parent
STATIC = StaticFiles(directory=HERE.parent / "static")
NODE_MODULES = HERE.parent.parent.parent / "node_modules"
# The front-end packages the pages load (package.json), each file named once: nothing else from
# node_modules is served.
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "htmx-sse.js": "htmx-ext-sse/dist/sse.min.js",
    "alpine.min.js": "@alpinejs/csp/dist/cdn.min.js",
    "ag-grid.min.js": "ag-grid-community/dist/ag-grid-community.min.js",
    "ag-grid-locale.min.js": "@ag-grid-community/locale/dist/umd/@ag-grid-community/locale.min.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def csrf_protected(request: Request) -> None:
    """Every request that changes something carries the session's CSRF token.

    htmx and the pages' scripts send it as a header, plain forms as a hidden field. Together
    with `same_site_only` (Origin / Sec-Fetch-Site) this stops another site's page from acting
    with the user's cookie.
    """
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not domain.csrf_matches(
        request.app.state.token_secret, request.cookies.get(SESSION_COOKIE), sent
    ):
        raise Forbidden(
            _(
                "The form has expired or did not come from this site. "
                "Reload the page and try again."
            ),
            code="csrf_failed",
        )


def discover() -> list[Feature]:
    found = []
    for module in pkgutil.iter_modules([str(HERE)]):
        if module.ispkg and (HERE / module.name / "pages.py").exists():
            pages = importlib.import_module(f"{__name__}.{module.name}.pages")
            feature: Feature = pages.feature
            if feature.templates is None:
                feature = dataclasses.replace(feature, templates=HERE / module.name / "templates")
            found.append(feature)
    return found


assets = APIRouter(include_in_schema=False)


@assets.get("/static/vendor/{name}")
async def vendor_file(name: str, request: Request) -> Response:
    relative = VENDOR_FILES.get(name)
    if relative is None or not (NODE_MODULES / relative).is_file():
        raise NotFound(
            _("There is no front-end file {name}; run `make run` to install them.", name=name)
        )
    response = await StaticFiles(directory=NODE_MODULES).get_response(relative, request.scope)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@assets.get("/static/{path:path}")
async def static_file(path: str, request: Request) -> Response:
    return await STATIC.get_response(path, request.scope)


def routers() -> list[APIRouter]:
    features = discover()
    frame.register(features)
    protected = [Depends(same_site_only), Depends(csrf_protected)]
    combined = APIRouter(include_in_schema=False)
    for feature in features:
        combined.include_router(feature.router, dependencies=protected)
        if feature.public is not None:
            combined.include_router(feature.public, dependencies=[Depends(same_site_only)])
    combined.include_router(live.router)
    return [assets, combined]


configure_app = frame.configure_app
