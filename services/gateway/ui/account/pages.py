"""Signing in and out, and the user's own profile (language, and password for local accounts).

The sign-in page is a plain form (it works without JavaScript); after a session ended it says
why (signed in on another device, idle, signed out, disabled). Signing in sets the language
cookie from the profile, so the user's language follows them to every device.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from services.gateway import service
from services.gateway.api import (
    client_of,
    forget_sessions,
    idle_minutes_in_force,
    session_cache,
    sign_in_with_password,
)
from services.gateway.domain import SESSION_COOKIE, Language
from services.gateway.schemas import LoginRequest
from services.gateway.ui.frame import (
    PAGE_HEADERS,
    Feature,
    page_user,
    remember_language,
    render,
    secure_cookies,
    templates,
    why_signed_out,
)
from shared.events.envelope import utc_now
from shared.i18n import LANGUAGES, _, language_scope, negotiate
from shared.web.app import LANGUAGE_COOKIE
from shared.web.commands import new_uow
from shared.web.problems import PortalError

router = APIRouter()
public = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never send a user on to another site after signing in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _sign_in_page(
    request: Request,
    *,
    next_path: str,
    username: str = "",
    error: object = None,
    notice: object = None,
    status_code: int = 200,
) -> Response:
    language = request.cookies.get(LANGUAGE_COOKIE)
    if language not in LANGUAGES:
        language = negotiate(request.headers.get("accept-language"))
    with language_scope(language):
        return templates.TemplateResponse(
            request,
            "account/sign_in.html",
            {
                "page": None,
                "language": language,
                "next": next_path,
                "username": username,
                "error": error,
                "notice": notice,
            },
            status_code=status_code,
            headers=PAGE_HEADERS,
        )


@public.get("/sign-in")
async def sign_in_form(request: Request, next: str = "/", reason: str | None = None) -> Response:
    notice = why_signed_out(reason, await idle_minutes_in_force(request)) if reason else None
    return _sign_in_page(request, next_path=_safe_next(next), notice=notice)


@public.post("/sign-in")
async def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=150)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    next_path = _safe_next(next)
    if not username.strip() or not password:
        return _sign_in_page(
            request,
            next_path=next_path,
            username=username,
            error=_("Enter your username and password."),
            status_code=422,
        )
    try:
        signed_in = await run_in_threadpool(
            sign_in_with_password, request, LoginRequest(username=username, password=password)
        )
    except PortalError as refused:  # rate limited, directory down
        return _sign_in_page(
            request,
            next_path=next_path,
            username=username,
            error=refused.detail,
            status_code=refused.status,
        )
    if signed_in is None:
        return _sign_in_page(
            request,
            next_path=next_path,
            username=username,
            error=_("Invalid username or password."),
            status_code=401,
        )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    remember_language(request, response, signed_in.user.language.value)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    def end() -> None:
        with new_uow(request) as uow:
            service.sign_out(uow, request.cookies.get(SESSION_COOKIE), utc_now())
            uow.commit()

    await run_in_threadpool(end)
    session_cache(request).forget_token(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=secure_cookies(request), path="/"
    )
    return response


@router.get("/profile")
async def profile(request: Request) -> Response:
    page = await page_user(request)
    return render(request, page, "account/profile.html", {"languages": LANGUAGES})


@router.post("/profile/language")
async def change_language(
    request: Request, language: Annotated[str, Form(max_length=5)] = ""
) -> Response:
    page = await page_user(request)
    if language not in LANGUAGES:
        return render(
            request,
            page,
            "account/profile.html",
            {"languages": LANGUAGES, "errors": {"language": _("Choose English or Spanish.")}},
            status_code=422,
        )

    def store() -> None:
        with new_uow(request) as uow:
            service.set_language(uow, page.user.username, Language(language), client_of(request))
            uow.commit()

    await run_in_threadpool(store)
    forget_sessions(request, page.user.username)
    response = RedirectResponse("/profile?saved=1", status_code=303)
    remember_language(request, response, language)
    return response


feature = Feature(name="account", router=router, public=public, order=0)
