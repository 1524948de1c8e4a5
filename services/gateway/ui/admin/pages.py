"""Admin pages: users (roles, deactivation, passwords, login history), the audit log of every
change in every service, and the settings a plant changes (idle timeout, directory mapping).

These lists live in the gateway's own database, so their tables load rows here (`loader`)
rather than from a service; they page, filter, sort and export like every other table.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from services.gateway import audit, plant_settings, users
from services.gateway.api import client_of, forget_sessions, settings_of
from services.gateway.domain import Language
from services.gateway.schemas import PasswordReset, UserCreate, UserUpdate
from services.gateway.ui.frame import (
    ROLE_LABELS,
    Feature,
    NavLink,
    Page,
    form_errors,
    page_user,
    render,
)
from services.gateway.ui.tables import Column, Filter, Table
from shared.auth.permissions import Action
from shared.auth.tokens import Role
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.commands import new_uow
from shared.web.pagination import PageParams
from shared.web.problems import PortalError

router = APIRouter()
T = TypeVar("T")

ACTIVE_LABELS = {"true": _("Active"), "false": _("Deactivated")}
SOURCE_LABELS = {"local": _("Local account"), "directory": _("Directory (LDAP)")}


def _in_uow(request: Request, work: Callable[[UnitOfWork], T], *, commit: bool = False) -> T:
    with new_uow(request) as uow:
        result = work(uow)
        if commit:
            uow.commit()
    return result


def _admin(request: Request, page: Page) -> users.Admin:
    return users.Admin(user=page.user, ip=client_of(request).ip)


def _page_params(params: dict[str, Any]) -> PageParams:
    return PageParams(limit=int(params.get("limit", 25)), offset=int(params.get("offset", 0)))


# --- users ---------------------------------------------------------------------------------


async def _load_users(request: Request, page: Page, params: dict[str, Any]) -> dict[str, Any]:
    active = {"true": True, "false": False}.get(str(params.get("active", "")))

    def load(uow: UnitOfWork) -> dict[str, Any]:
        found = users.list_users(
            uow,
            _page_params(params),
            q=params.get("q"),
            role=params.get("role"),
            active=active,
            sort=params.get("sort"),
        )
        rows = [
            {**row.model_dump(mode="json"), "active": str(row.active).lower()}
            for row in found.items
        ]
        return {"items": rows, "total": found.total}

    return await run_in_threadpool(_in_uow, request, load)


users_table = Table(
    name="users",
    title=_("Users"),
    service="gateway",
    path="users",
    columns=(
        Column("username", _("Username"), sort="username", link="/admin/users/{username}"),
        Column("display_name", _("Name"), sort="display_name"),
        Column("roles", _("Roles"), kind="list"),
        Column("source", _("Sign-in"), kind="status", labels=SOURCE_LABELS),
        Column("active", _("Status"), kind="status", labels=ACTIVE_LABELS),
        Column("last_login_at", _("Last sign-in"), kind="datetime", sort="last_login_at"),
    ),
    filters=(
        Filter("q", _("Search")),
        Filter("role", _("Role"), kind="select", options=tuple(ROLE_LABELS.items())),
        Filter("active", _("Status"), kind="select", options=tuple(ACTIVE_LABELS.items())),
    ),
    default_sort="username",
    loader=_load_users,
)
users_table.mount(router, "/admin/users", Action.USERS_MANAGE, "admin/users.html")


def _user_form_values(form: Any) -> dict[str, Any]:
    return {
        "username": str(form.get("username", "")),
        "display_name": str(form.get("display_name", "")),
        "roles": [str(role) for role in form.getlist("roles")],
        "language": str(form.get("language", "en")),
    }


@router.get("/admin/users/new")
async def new_user_form(request: Request) -> Response:
    page = await page_user(request, Action.USERS_MANAGE)
    values = {"username": "", "display_name": "", "roles": [], "language": "en"}
    return render(request, page, "admin/user_new.html", _user_context(values, {}))


@router.post("/admin/users/new")
async def create_user(request: Request) -> Response:
    page = await page_user(request, Action.USERS_MANAGE)
    form = await request.form()
    values = _user_form_values(form)
    try:
        body = UserCreate(**values, password=str(form.get("password", "")))
        await run_in_threadpool(
            _in_uow,
            request,
            lambda uow: users.create_local_user(uow, body, _admin(request, page)),
            commit=True,
        )
    except (ValidationError, PortalError) as refused:
        context = _user_context(values, form_errors(refused))
        return render(request, page, "admin/user_new.html", context, status_code=422)
    return RedirectResponse(f"/admin/users/{body.username}?saved=1", status_code=303)


def _user_context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "role_labels": ROLE_LABELS,
        "languages": [(lang.value, lang.value) for lang in Language],
    }


async def _user_page(
    request: Request, page: Page, username: str, errors: dict[str, str], status_code: int = 200
) -> Response:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        user = users.get_user(uow, username)
        attempts, sessions = users.login_history(uow, username, PageParams(limit=50, offset=0))
        return {
            "subject": users.UserAdminOut.model_validate(user),
            "attempts": attempts.items,
            "sessions": sessions,
        }

    found = await run_in_threadpool(_in_uow, request, load)
    subject = found["subject"]
    values = {
        "display_name": subject.display_name,
        "roles": subject.roles,
        "language": subject.language.value,
    }
    context = {**found, **_user_context(values, errors)}
    return render(request, page, "admin/user.html", context, status_code=status_code)


@router.get("/admin/users/{username}")
async def user_detail(username: str, request: Request) -> Response:
    page = await page_user(request, Action.USERS_MANAGE)
    return await _user_page(request, page, username, {})


@router.post("/admin/users/{username}")
async def update_user(username: str, request: Request) -> Response:
    page = await page_user(request, Action.USERS_MANAGE)
    form = await request.form()
    values = _user_form_values(form)
    values.pop("username")
    try:
        body = UserUpdate(**values)
        await run_in_threadpool(
            _in_uow,
            request,
            lambda uow: users.update_user(uow, username, body, _admin(request, page)),
            commit=True,
        )
    except (ValidationError, PortalError) as refused:
        return await _user_page(request, page, username, form_errors(refused), 422)
    forget_sessions(request, username)
    return RedirectResponse(f"/admin/users/{username}?saved=1", status_code=303)


@router.post("/admin/users/{username}/active")
async def set_active(username: str, request: Request) -> Response:
    page = await page_user(request, Action.USERS_MANAGE)
    form = await request.form()
    active = form.get("active") == "true"
    try:
        await run_in_threadpool(
            _in_uow,
            request,
            lambda uow: users.set_active(uow, username, active, _admin(request, page)),
            commit=True,
        )
    except PortalError as refused:
        return await _user_page(request, page, username, form_errors(refused), refused.status)
    forget_sessions(request, username)
    return RedirectResponse(f"/admin/users/{username}?saved=1", status_code=303)


@router.post("/admin/users/{username}/password")
async def reset_password(username: str, request: Request) -> Response:
    page = await page_user(request, Action.USERS_MANAGE)
    form = await request.form()
    try:
        body = PasswordReset(password=str(form.get("password", "")))
        await run_in_threadpool(
            _in_uow,
            request,
            lambda uow: users.reset_password(uow, username, body, _admin(request, page)),
            commit=True,
        )
    except (ValidationError, PortalError) as refused:
        return await _user_page(request, page, username, form_errors(refused), 422)
    forget_sessions(request, username)  # their sessions ended with the old password
    return RedirectResponse(f"/admin/users/{username}?saved=1", status_code=303)


# --- audit log -----------------------------------------------------------------------------


async def _load_audit(request: Request, page: Page, params: dict[str, Any]) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    since, until = audit.day_range(
        _date(params.get("date_from")), _date(params.get("date_to")), ZoneInfo(page.timezone)
    )
    filters = audit.AuditFilters(
        actor=params.get("actor"),
        action=params.get("action"),
        service=params.get("service"),
        entity_type=params.get("entity_type"),
        entity_id=params.get("entity_id"),
        text=params.get("q"),
        since=since,
        until=until,
    )

    def load(uow: UnitOfWork) -> dict[str, Any]:
        found = audit.list_audit_entries(uow, filters, _page_params(params))
        return {
            "items": [_audit_row(entry.model_dump(mode="json")) for entry in found.items],
            "total": found.total,
        }

    return await run_in_threadpool(_in_uow, request, load)


def _audit_row(entry: dict[str, Any]) -> dict[str, Any]:
    entry["changes"] = audit_changes(entry.get("before"), entry.get("after"))
    for side in ("before", "after"):
        value = entry.get(side)
        entry[side] = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None
    return entry


def audit_changes(before: Any, after: Any, limit: int = 6) -> str:
    """What changed, for a person: 'status: draft → submitted; lines: changed'. A creation
    lists what was set; the export keeps the full records before and after."""
    if not isinstance(after, dict):
        return "" if not isinstance(before, dict) else "→ ∅"
    old = before if isinstance(before, dict) else {}
    parts = [
        f"{key}: {_change(old[key], value) if key in old else _brief(value)}"
        for key, value in sorted(after.items())
        if key not in old or old[key] != value
    ]
    extra = f"; (+{len(parts) - limit})" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + extra


def _change(old: Any, new: Any) -> str:
    if isinstance(old, dict) or isinstance(new, dict):
        return str(_("changed"))
    if any(isinstance(v, list) and any(isinstance(i, dict) for i in v) for v in (old, new)):
        return str(_("changed"))
    return f"{_brief(old)} → {_brief(new)}"


def _brief(value: Any) -> str:
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        value = ", ".join(str(v) for v in value)  # roles: store, buyer
    elif isinstance(value, dict | list):
        return "{…}" if isinstance(value, dict) else f"[{len(value)}]"
    text = "∅" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


SERVICES = tuple((name, _(name.title())) for name in ("gateway", "inventory", "purchasing"))

audit_table = Table(
    name="audit",
    title=_("Audit log"),
    service="gateway",
    path="audit",
    columns=(
        Column("at", _("When"), kind="datetime"),
        Column("actor", _("Who")),
        Column("ip", _("From")),
        Column("service", _("Service")),
        Column("action", _("What")),
        Column("entity_type", _("Record type")),
        Column("entity_id", _("Record")),
        Column("changes", _("Changes"), kind="json", in_export=False),
        Column("before", _("Before"), kind="json", on_page=False),
        Column("after", _("After"), kind="json", on_page=False),
    ),
    filters=(
        Filter("actor", _("Who")),
        Filter("action", _("What")),
        Filter("entity_id", _("Record")),
        Filter("date_from", _("From date"), kind="date"),
        Filter("date_to", _("To date"), kind="date"),
    ),
    live="audit",
    loader=_load_audit,
)
audit_table.mount(router, "/admin/audit", Action.AUDIT_READ, "admin/audit.html")


# --- plant settings ------------------------------------------------------------------------


async def _settings_page(
    request: Request,
    page: Page,
    errors: dict[str, str],
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    current = await run_in_threadpool(
        _in_uow, request, lambda uow: plant_settings.current(uow, settings)
    )
    shown_values = values or {
        "session_idle_minutes": str(current.session_idle_minutes),
        "ldap_group_roles": json.dumps(current.ldap_group_roles, indent=2, ensure_ascii=False),
    }
    context = {
        "current": current,
        "values": shown_values,
        "errors": errors,
        "ldap_configured": bool(settings.ldap_url),
        "roles": [role.value for role in Role],
        "token": uuid.uuid4().hex,
    }
    return render(request, page, "admin/settings.html", context, status_code=status_code)


@router.get("/admin/settings")
async def settings_form(request: Request) -> Response:
    page = await page_user(request, Action.SETTINGS_MANAGE)
    return await _settings_page(request, page, {})


@router.post("/admin/settings")
async def save_settings(request: Request) -> Response:
    page = await page_user(request, Action.SETTINGS_MANAGE)
    form = await request.form()
    values = {
        "session_idle_minutes": str(form.get("session_idle_minutes", "")),
        "ldap_group_roles": str(form.get("ldap_group_roles", "")),
    }
    admin = _admin(request, page)
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name, parse in (
        (plant_settings.IDLE_MINUTES_SETTING, plant_settings.parse_idle_minutes),
        (plant_settings.GROUP_ROLES_SETTING, plant_settings.parse_mapping),
    ):
        try:
            parsed[name] = parse(values[name])
        except PortalError as refused:
            errors.update(form_errors(refused))
    if errors:
        return await _settings_page(request, page, errors, values, 422)

    def store(uow: UnitOfWork) -> None:
        for name, value in parsed.items():
            plant_settings.save(uow, name, value, admin)

    await run_in_threadpool(_in_uow, request, store, commit=True)
    cache = getattr(request.app.state, "idle_timeout_cache", None)
    if cache is not None:
        cache.forget()
    return RedirectResponse("/admin/settings?saved=1", status_code=303)


feature = Feature(
    name="admin",
    router=router,
    admin=True,
    order=90,
    nav=(
        NavLink(_("Users"), "/admin/users", Action.USERS_MANAGE),
        NavLink(_("Audit log"), "/admin/audit", Action.AUDIT_READ),
        NavLink(_("Settings"), "/admin/settings", Action.SETTINGS_MANAGE),
    ),
)
