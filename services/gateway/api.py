"""The gateway's auth API under /api/auth, and `SignedInUser`, the session check of every route.

The browser holds a `portal_session` cookie (HttpOnly, SameSite=Lax); the gateway keeps the
session. The services never see the cookie: `proxy.py` calls them with a signed token instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from services.gateway import domain, service
from services.gateway.domain import SESSION_COOKIE, SessionEnd
from services.gateway.plant_settings import IdleTimeoutCache
from services.gateway.schemas import LoginRequest, UserOut
from services.gateway.session_cache import SessionCache
from shared.auth.permissions import DESCRIPTIONS, Action, allowed
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.commands import new_uow
from shared.web.problems import Forbidden, Unauthorized, problem_responses

CSRF_HEADER = "X-CSRF-Token"
# Sent by the pages' script on requests a live page makes by itself (server-sent event or tick):
# they read, but do not keep an unattended screen's session alive.
BACKGROUND_HEADER = "X-Portal-Background"
JSON_MEDIA_TYPES = ("application/json", "application/problem+json")


async def csrf_token_or_json(request: Request) -> None:
    """Dependency of the JSON API: a change carries the CSRF token, or a JSON body.

    `async` although it awaits nothing: FastAPI runs a plain `def` dependency in its
    threadpool, and that hop cost more than the check itself on every forwarded call.

    Pages and their scripts send the token (`X-CSRF-Token`, given at sign-in and on every
    page). A JSON body is accepted without it: another site's page cannot send one with the
    user's cookie, since that needs a CORS preflight the gateway never grants. An empty or
    form-encoded body without the token is refused.
    """
    if request.method in domain.SAFE_METHODS:
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in JSON_MEDIA_TYPES:
        return
    if domain.csrf_matches(
        request.app.state.token_secret,
        request.cookies.get(SESSION_COOKIE),
        request.headers.get(CSRF_HEADER),
    ):
        return
    raise Forbidden(
        _("Send the X-CSRF-Token header you were given at sign-in, or a JSON body."),
        code="csrf_failed",
    )


async def same_site_only(request: Request) -> None:
    """Dependency of every gateway route that changes something: refuse cross-site requests.

    `async` for the same reason as `csrf_token_or_json`: no threadpool hop per request."""
    reason = domain.cross_site_reason(
        request.method,
        request.headers.get("host"),
        request.headers.get("origin"),
        request.headers.get("sec-fetch-site"),
    )
    if reason is not None:
        raise Forbidden(
            _("Cross-site request refused ({reason}).", reason=reason), code="cross_site_request"
        )


router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[Depends(same_site_only)])


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def idle_timeout(request: Request, uow: UnitOfWork) -> timedelta:
    """The idle timeout in force: the admin's plant setting, else PORTAL_SESSION_IDLE_MINUTES."""
    cache = getattr(request.app.state, "idle_timeout_cache", None)
    if cache is None:
        cache = request.app.state.idle_timeout_cache = IdleTimeoutCache()
    return cache.get(uow, settings_of(request))


def session_cache(request: Request) -> SessionCache:
    cache: SessionCache | None = getattr(request.app.state, "session_cache", None)
    if cache is None:
        cache = request.app.state.session_cache = SessionCache()
    return cache


def forget_sessions(request: Request, username: str) -> None:
    """After a change to a user or their sessions: the next request asks the database.

    `username` as typed (an admin page's URL may say 'MARIA'): the cache holds it normalised."""
    session_cache(request).forget_user(domain.normalise_username(username))


async def idle_minutes_in_force(request: Request) -> int:
    """The idle timeout in minutes, for telling a user why their session ended."""

    def read() -> int:
        with new_uow(request) as uow:
            return int(idle_timeout(request, uow).total_seconds() // 60)

    return await run_in_threadpool(read)


def session_or_reason(request: Request) -> UserOut | SessionEnd:
    """The signed-in user of this request, or why there is none (pages show the reason)."""
    token = request.cookies.get(SESSION_COOKIE)
    background = request.headers.get(BACKGROUND_HEADER) == "1"
    with new_uow(request) as uow:
        outcome = service.resume_session(
            uow,
            token,
            idle_timeout(request, uow),
            utc_now(),
            max_age=timedelta(hours=settings_of(request).session_max_hours),
            touch=not background,
        )
        uow.commit()
    # Only a request that restarted the idle clock is remembered: otherwise a click served from
    # the cache right after a background refresh would never restart it.
    if isinstance(outcome, UserOut) and not background:
        session_cache(request).put(token, outcome)
    return outcome


async def live_session_or_reason(request: Request) -> UserOut | SessionEnd:
    """As `session_or_reason`, from the cache of recently confirmed sessions when it can."""
    cached = session_cache(request).get(request.cookies.get(SESSION_COOKIE))
    if cached is not None:
        return cached
    return await run_in_threadpool(session_or_reason, request)


async def signed_in_user(request: Request) -> UserOut:
    """Dependency: the user of a live session; 401 explaining why otherwise."""
    outcome = await live_session_or_reason(request)
    if isinstance(outcome, SessionEnd):
        detail = domain.why_session_ended(outcome, await idle_minutes_in_force(request))
        raise Unauthorized(detail, code=f"session_{outcome.value}")
    return outcome


SignedInUser = Annotated[UserOut, Depends(signed_in_user)]


def user_permitted(action: Action) -> Callable[[UserOut], UserOut]:
    """A dependency passing signed-in users whose roles the permission matrix allows `action`
    (the session-side twin of `shared.web.security.require_permission`)."""

    def permitted(user: SignedInUser) -> UserOut:
        if allowed(user.roles, action):
            return user
        raise Forbidden(
            _("Your role may not {what} ({action}).", what=DESCRIPTIONS[action], action=action),
            code="permission_required",
        )

    return permitted


def client_of(request: Request) -> service.Client:
    return service.Client(
        ip=request.client.host if request.client else "unknown",
        user_agent=request.headers.get("user-agent"),
    )


@router.post("/login", response_model=UserOut, responses=problem_responses(429, 503))
def login(body: LoginRequest, request: Request, response: Response) -> UserOut:
    signed_in = sign_in_with_password(request, body)
    if signed_in is None:
        raise Unauthorized(domain.INVALID_CREDENTIALS, code="invalid_credentials")
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        httponly=True,
        samesite="lax",
        secure=behind_tls(request),
        path="/",
    )
    response.headers[CSRF_HEADER] = domain.csrf_token(
        request.app.state.token_secret, signed_in.token
    )
    return signed_in.user


# Password checks at once: argon2 takes ~150 ms of CPU and 64 MiB each, and a sign-in holds a
# database connection meanwhile; more at once would only queue on the CPU and drain the pool.
SIGN_IN_SLOTS = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))


def sign_in_with_password(request: Request, credentials: LoginRequest) -> service.SignedIn | None:
    """A new session for these credentials (None when wrong); the user's other sessions end."""
    with SIGN_IN_SLOTS, new_uow(request) as uow:
        signed_in = service.sign_in(
            uow,
            credentials,
            client_of(request),
            idle_timeout(request, uow),
            utc_now(),
            settings=settings_of(request),
        )
        uow.commit()
    if signed_in is not None:
        forget_sessions(request, signed_in.user.username)
    return signed_in


@router.post("/logout", status_code=204, dependencies=[Depends(csrf_token_or_json)])
def logout(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    with new_uow(request) as uow:
        service.sign_out(uow, token, utc_now())
        uow.commit()
    session_cache(request).forget_token(token)
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=behind_tls(request),
        path="/",
    )


@router.get("/me", response_model=UserOut)
def me(user: SignedInUser, request: Request, response: Response) -> UserOut:
    response.headers[CSRF_HEADER] = domain.csrf_token(
        request.app.state.token_secret, request.cookies.get(SESSION_COOKIE)
    )
    return user


def behind_tls(request: Request) -> bool:
    """Secure cookies: when configured, or when the request came over https (also through a
    proxy that says so in X-Forwarded-Proto)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    return settings_of(request).secure_cookies or "https" in (request.url.scheme, forwarded)
