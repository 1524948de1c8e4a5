"""The gateway's auth API under /api/auth, and `SignedInUser`, the session check of every route.

The browser holds a `portal_session` cookie (HttpOnly, SameSite=Lax); the gateway keeps the
session. The services never see the cookie: `proxy.py` calls them with a signed token instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.gateway import domain, service
from services.gateway.domain import SESSION_COOKIE, SessionEnd
from services.gateway.schemas import LoginRequest, UserOut
from shared.events.envelope import utc_now
from shared.settings import Settings
from shared.web.commands import new_uow
from shared.web.problems import Forbidden, Unauthorized


def same_site_only(request: Request) -> None:
    """Dependency of every gateway route that changes something: refuse cross-site requests."""
    reason = domain.cross_site_reason(
        request.method,
        request.headers.get("host"),
        request.headers.get("origin"),
        request.headers.get("sec-fetch-site"),
    )
    if reason is not None:
        raise Forbidden(f"Cross-site request refused ({reason}).", code="cross_site_request")


router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[Depends(same_site_only)])


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def idle_timeout(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.session_idle_minutes)


def session_or_reason(request: Request) -> UserOut | SessionEnd:
    """The signed-in user of this request, or why there is none (pages show the reason)."""
    with new_uow(request) as uow:
        outcome = service.resume_session(
            uow,
            request.cookies.get(SESSION_COOKIE),
            idle_timeout(settings_of(request)),
            utc_now(),
        )
        uow.commit()
    return outcome


def signed_in_user(request: Request) -> UserOut:
    """Dependency: the user of a live session; 401 explaining why otherwise."""
    outcome = session_or_reason(request)
    if isinstance(outcome, SessionEnd):
        detail = domain.why_session_ended(outcome, settings_of(request).session_idle_minutes)
        raise Unauthorized(detail, code=f"session_{outcome.value}")
    return outcome


SignedInUser = Annotated[UserOut, Depends(signed_in_user)]


def client_of(request: Request) -> service.Client:
    return service.Client(
        ip=request.client.host if request.client else "unknown",
        user_agent=request.headers.get("user-agent"),
    )


@router.post("/login", response_model=UserOut)
def login(body: LoginRequest, request: Request, response: Response) -> UserOut:
    settings = settings_of(request)
    with new_uow(request) as uow:
        signed_in = service.sign_in(
            uow, body, client_of(request), idle_timeout(settings), utc_now(), settings=settings
        )
        uow.commit()
    if signed_in is None:
        raise Unauthorized(domain.INVALID_CREDENTIALS, code="invalid_credentials")
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return signed_in.user


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response) -> None:
    with new_uow(request) as uow:
        service.sign_out(uow, request.cookies.get(SESSION_COOKIE), utc_now())
        uow.commit()
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
        path="/",
    )


@router.get("/me", response_model=UserOut)
def me(user: SignedInUser) -> UserOut:
    return user
