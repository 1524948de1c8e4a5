"""The frame every page plugs into: features and their navigation, templates, the signed-in user.

A feature (a subpackage of `services.gateway.ui`) holds `pages.py` exposing
`feature = Feature(...)`, its templates in `templates/` (referred to as "<feature>/<file>.html")
and its Spanish strings in `locale/es.po`; nothing else has to change for it to appear. Its
routes call `page_user(request, action)` first: that finds the session (or sends the browser
to sign in, saying why), refuses a role the permission matrix does not allow (a 403 page), and
fixes the language of the page.
`render(...)` then draws a template inside the frame: navigation filtered by role, the CSRF token,
the user's language, numbers and dates per locale, the plant's time zone.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from services.gateway import api, domain
from services.gateway.api import behind_tls, live_session_or_reason, settings_of
from services.gateway.domain import SESSION_COOKIE, SessionEnd
from services.gateway.schemas import UserOut
from shared.auth.permissions import Action, allowed
from shared.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    Text,
    _,
    format_date,
    format_datetime,
    format_money,
    format_number,
    language_scope,
    translate,
)
from shared.web.app import LANGUAGE_COOKIE
from shared.web.problems import PortalError, render_problem, shown, validation_message

HERE = Path(__file__).parent
CSRF_HEADER = api.CSRF_HEADER
CSRF_FIELD = "csrf_token"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'{style_nonce}; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def page_headers(nonce: str | None = None) -> dict[str, str]:
    """Scripts are files of this origin only, never inline. Styles too, except those a
    library injects at run time with this response's nonce (AG Grid's `styleNonce`)."""
    return {
        "Content-Security-Policy": CSP.format(style_nonce=f" 'nonce-{nonce}'" if nonce else ""),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",  # pages name the signed-in user and show live figures
    }


PAGE_HEADERS = page_headers()


@dataclass(frozen=True)
class NavLink:
    """One entry of the navigation; shown only to roles the matrix allows `action`."""

    label: Text
    href: str
    action: Action | None = None
    # Floor pages (receiving, downtime) are marked so the tablet layout puts them first.
    floor: bool = False


@dataclass(frozen=True)
class Feature:
    name: str
    router: APIRouter
    nav: Sequence[NavLink] = ()
    # Order in the navigation; lower first.
    order: int = 100
    admin: bool = False  # listed under the admin menu rather than the main navigation
    templates: Path | None = None
    # Routes open without a session (signing in): no CSRF token exists for them yet.
    public: APIRouter | None = None


@dataclass(frozen=True)
class Page:
    """What every template gets besides its own values."""

    user: UserOut
    csrf_token: str
    nav: Sequence[NavLink]
    admin_nav: Sequence[NavLink]
    timezone: str
    language: str
    path: str
    extra: Mapping[str, Any] = field(default_factory=dict)


class SignInRequired(HTTPException):
    """No live session: a page sends the browser to sign in, with the reason and the way back."""

    def __init__(self, request: Request, reason: SessionEnd) -> None:
        target = "/sign-in?next=" + quote(_back_to(request), safe="")
        if reason is not SessionEnd.NOT_SIGNED_IN:
            target += f"&reason={reason.value}"
        if request.headers.get("hx-request"):
            # htmx must not follow a redirect into a fragment: it reloads the whole page.
            super().__init__(401, headers={"HX-Redirect": target})
        else:
            super().__init__(303, headers={"Location": target})


class PageForbidden(Exception):
    def __init__(self, user: UserOut, action: Action) -> None:
        super().__init__(action.value)
        self.user = user
        self.action = action


def _back_to(request: Request) -> str:
    if request.headers.get("hx-request") and request.headers.get("hx-current-url"):
        return request.headers["hx-current-url"].split(request.base_url.netloc, 1)[-1] or "/"
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


# --- features ------------------------------------------------------------------------------


_features: list[Feature] = []


def register(features: Sequence[Feature]) -> None:
    _features.clear()
    _features.extend(sorted(features, key=lambda f: (f.order, f.name)))
    templates.env.loader = _loader()


def visible_nav(user: UserOut, *, admin: bool) -> list[NavLink]:
    return [
        link
        for feature in _features
        if feature.admin is admin
        for link in feature.nav
        if link.action is None or allowed(user.roles, link.action)
    ]


# --- templates -----------------------------------------------------------------------------


def _loader() -> ChoiceLoader:
    by_feature = {
        feature.name: FileSystemLoader(feature.templates)
        for feature in _features
        if feature.templates is not None and feature.templates.is_dir()
    }
    return ChoiceLoader([FileSystemLoader(HERE / "templates"), PrefixLoader(by_feature)])


# How each role is named on the pages.
ROLE_LABELS: dict[str, Text] = {
    "admin": _("Administrator"),
    "supervisor": _("Supervisor"),
    "operator": _("Operator"),
    "planner": _("Planner"),
    "buyer": _("Buyer"),
    "store": _("Storekeeper"),
    "quality": _("Quality"),
    "accountant": _("Accountant"),
    "viewer": _("Viewer"),
}


def _role(name: str) -> str:
    label = ROLE_LABELS.get(name)
    return label.render() if label is not None else name


_timezone: ContextVar[str] = ContextVar("portal_page_timezone", default="UTC")


def _plant_time(value: Any) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, _timezone.get())


def _gettext(msgid: str, /, **params: Any) -> str:
    return translate(msgid, None, **params)


def _decimal(value: Any) -> Decimal | None:
    """A figure for display: None for a missing one (None, "", a name the answer lacks)."""
    if value is None or value == "" or isinstance(value, jinja2.Undefined):
        return None
    return Decimal(str(value))


def _number(value: Any) -> str:
    return format_number(_decimal(value))


def _money(value: Any) -> str:
    return format_money(_decimal(value))


def _environment() -> Environment:
    env = Environment(
        loader=_loader(), autoescape=select_autoescape(default=True), trim_blocks=True
    )
    env.globals["_"] = _gettext
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    # {% if allowed(user.roles, "inventory.items.write") %}: hide what the role may not do.
    env.globals["allowed"] = allowed
    env.filters["role"] = _role
    env.filters["number"] = _number
    env.filters["money"] = _money
    env.filters["date"] = lambda value: format_date(_as_date(value))
    env.filters["datetime"] = _plant_time
    env.filters["text"] = lambda value: value.render() if isinstance(value, Text) else value
    return env


def _as_date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    page: Page,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    """`template` inside the frame, in the user's language and the plant's time zone."""
    zone = _timezone.set(page.timezone)
    nonce = secrets.token_urlsafe(16)
    try:
        with language_scope(page.language):
            response = templates.TemplateResponse(
                request,
                template,
                {"page": page, "user": page.user, "csp_nonce": nonce, **(values or {})},
                status_code=status_code,
                headers=page_headers(nonce),
            )
    finally:
        _timezone.reset(zone)
    remember_language(request, response, page.language)
    return response


def remember_language(request: Request, response: Response, language: str) -> None:
    """The language cookie follows the profile, so problems and the sign-in page use it too."""
    if request.cookies.get(LANGUAGE_COOKIE) != language:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/",
        )


secure_cookies = behind_tls


# --- the signed-in user of a page ----------------------------------------------------------


def csrf_token(request: Request) -> str:
    return domain.csrf_token(request.app.state.token_secret, request.cookies.get(SESSION_COOKIE))


async def page_user(request: Request, action: Action | None = None) -> Page:
    """The page's user and frame, or a redirect to sign in, or a 403 page for the wrong role."""
    outcome = await live_session_or_reason(request)
    if isinstance(outcome, SessionEnd):
        raise SignInRequired(request, outcome)
    if action is not None and not allowed(outcome.roles, action):
        raise PageForbidden(outcome, action)
    return page_of(request, outcome)


def page_of(request: Request, user: UserOut) -> Page:
    language = user.language.value if user.language.value in LANGUAGES else "en"
    return Page(
        user=user,
        csrf_token=csrf_token(request),
        nav=visible_nav(user, admin=False),
        admin_nav=visible_nav(user, admin=True),
        timezone=settings_of(request).plant_timezone,
        language=language,
        path=request.url.path,
    )


async def _forbidden_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    page = page_of(request, exc.user)
    return render(
        request,
        page,
        "forbidden.html",
        {"action": exc.action, "reason": _("Your role does not allow this page.")},
        status_code=403,
    )


async def _problem_page(request: Request, exc: Exception) -> Response:
    """A page whose request was refused (an unknown order, an entry that is not there) answers
    with a page saying so in the frame; the JSON API and a caller without a session get the
    problem+json meant for scripts."""
    assert isinstance(exc, PortalError)
    if request.url.path.startswith("/api/"):
        return render_problem(request, exc)
    outcome = await live_session_or_reason(request)
    if isinstance(outcome, SessionEnd):
        return render_problem(request, exc)
    return render(
        request,
        page_of(request, outcome),
        "problem.html",
        {"title": exc.title, "detail": exc.detail},
        status_code=exc.status,
    )


def configure_app(app: FastAPI) -> None:
    app.add_exception_handler(PageForbidden, _forbidden_page)
    # Any refusal on a page route (a service's, or the gateway's own) is shown as a page.
    app.add_exception_handler(PortalError, _problem_page)


def why_signed_out(reason: str | None, idle_minutes: int) -> str | Text | None:
    """The notice on the sign-in page after a session ended ('signed_in_elsewhere', ...)."""
    try:
        end = SessionEnd(reason) if reason else None
    except ValueError:
        return None
    if end is None or end is SessionEnd.NOT_SIGNED_IN:
        return None
    return domain.why_session_ended(end, idle_minutes)


def form_errors(error: ValidationError | PortalError) -> dict[str, str]:
    """Field -> message for a form, in the current language, from a refused model or use case.

    A refusal that names no field is under "" (the form shows it at the top).
    """
    if isinstance(error, PortalError):
        return {error.field or "": str(shown(error.detail) or "")}
    errors: dict[str, str] = {}
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or ""
        message = validation_message(item["type"], item.get("ctx") or {}, item["msg"])
        errors.setdefault(name, str(shown(message) or ""))
    return errors
