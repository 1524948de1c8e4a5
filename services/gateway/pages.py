"""The gateway's pages: for now the start page (sign in, or who is signed in) and static files.

The full UI (DESIGN §8) grows from here: page routes render templates from `templates/`, and
scripts and styles are files under `static/`, never inline, because every page carries a
Content Security Policy that allows only this origin's files.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.templating import Jinja2Templates
from starlette.staticfiles import StaticFiles

from services.gateway.api import session_or_reason, settings_of
from services.gateway.domain import SessionEnd, why_session_ended

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC = StaticFiles(directory=HERE / "static")

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # the page names the signed-in user
}

# What a signed-in user can open until the UI has pages of its own.
API_LINKS = (
    ("Your account", "/api/auth/me"),
    ("Inventory items", "/api/inventory/v1/items"),
    ("Inventory locations", "/api/inventory/v1/locations"),
    ("Stock transactions", "/api/inventory/v1/stock-transactions"),
    ("Gateway API description (OpenAPI)", "/openapi.json"),
)

router = APIRouter(include_in_schema=False)


@router.get("/")
def start_page(request: Request) -> Response:
    outcome = session_or_reason(request)
    if isinstance(outcome, SessionEnd):
        user = None
        notice = (
            None
            if outcome is SessionEnd.NOT_SIGNED_IN
            else why_session_ended(outcome, settings_of(request).session_idle_minutes)
        )
    else:
        user, notice = outcome, None
    return TEMPLATES.TemplateResponse(
        request,
        "index.html",
        {"user": user, "notice": notice, "api_links": API_LINKS},
        headers=PAGE_HEADERS,
    )


@router.get("/static/{path:path}")
async def static_file(path: str, request: Request) -> Response:
    return await STATIC.get_response(path, request.scope)
