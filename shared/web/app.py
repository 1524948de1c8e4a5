"""The app factory every service uses: same errors, ids, probes and metrics everywhere.

`create_app` adds to a service's routers the parts every service shares: problem+json errors,
the request-context middleware (request and correlation ids, latency histogram, access log) and
the `/healthz`, `/readyz` and `/metrics` endpoints, which live outside `/api` (DESIGN §6). The
routers carry their own `/api/v1` prefixes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from shared import context
from shared.i18n import LANGUAGES, language_scope, negotiate
from shared.settings import Settings
from shared.web.metrics import ServiceMetrics
from shared.web.problems import (
    PROBLEM_RESPONSES,
    install_problem_handlers,
    problem_response,
    render_problem,
)

try:  # FastAPI >= 0.165 includes routers lazily; scope["route"] then lacks the router prefixes.
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI copies routes with their full path
    iter_route_contexts = None  # type: ignore[assignment]

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"
# Ids from outside are echoed into logs and headers: accept only short, plain ones.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
READINESS_TIMEOUT_SECONDS = 5.0
UNMATCHED_ROUTE = "unmatched"

Readiness = Callable[[], Awaitable[dict[str, bool]]]


def _portal_version() -> str:
    try:
        return version("production-portal")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0.0.0"


def create_app(
    *,
    service: str,
    settings: Settings,
    routers: Sequence[APIRouter],
    metrics: ServiceMetrics,
    readiness: Readiness,
    lifespan: Lifespan[FastAPI] | None = None,
    token_secret: str,
) -> FastAPI:
    # No /docs or /redoc: FastAPI's pages load Swagger UI from a CDN, and nothing here is
    # fetched from the internet at run time. The OpenAPI document stays at /openapi.json.
    app = FastAPI(
        title=f"Production Portal: {service}",
        version=_portal_version(),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.token_secret = token_secret
    app.state.metrics = metrics
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=service, metrics=metrics)
    app.include_router(_probes(service, metrics, readiness))
    for router in routers:
        # Every route documents the problem answers it may give (DESIGN §6).
        app.include_router(router, responses=PROBLEM_RESPONSES)
    return app


def _probes(service: str, metrics: ServiceMetrics, readiness: Readiness) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/readyz")
    async def readyz(request: Request) -> Any:
        try:
            checks = await asyncio.wait_for(readiness(), READINESS_TIMEOUT_SECONDS)
        except Exception:
            log.warning("readiness.check_failed", service=service, exc_info=True)
            checks = {"readiness": False}
        if all(checks.values()):
            return {"status": "ready", "service": service, "checks": checks}
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem_response(
            request,
            status=503,
            title="Service Unavailable",
            detail=f"{service} is not ready; failing checks: {failing}.",
            extensions={"service": service, "checks": checks},
        )

    # Plain def: backlog callbacks query the database, so scrape in the threadpool.
    @router.get("/metrics")
    def metrics_text() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return router


class RequestContextMiddleware:
    """Pure ASGI: ids into the context and the response, one latency sample and one log line.

    It also turns an unexpected exception into the 500 problem itself: Starlette renders those
    outside every middleware, where the ids, the echo headers and the status sample would be lost.
    """

    def __init__(self, app: ASGIApp, *, service: str, metrics: ServiceMetrics) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self._templates: dict[int, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = _safe_id(headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        correlation_id = _safe_id(headers.get(CORRELATION_ID_HEADER)) or request_id
        status = 500
        started_response = False

        async def send_with_ids(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                response_headers = MutableHeaders(scope=message)
                response_headers[REQUEST_ID_HEADER] = request_id
                response_headers[CORRELATION_ID_HEADER] = correlation_id
            await send(message)

        start = time.perf_counter()
        with (
            context.request_scope(request_id, correlation_id),
            language_scope(request_language(headers)),
            structlog.contextvars.bound_contextvars(service=self.service),
        ):
            try:
                await self.app(scope, receive, send_with_ids)
            except Exception as exc:
                if started_response:
                    raise
                await render_problem(Request(scope), exc)(scope, receive, send_with_ids)
            finally:
                self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = self._route_template(scope)
        self.metrics.observe_request(scope["method"], route, status, seconds)
        path = scope["path"]
        log.log(
            logging.DEBUG if path in _PROBES else logging.INFO,  # probes would drown the log
            "http.request",
            method=scope["method"],
            path=path,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 1),
        )

    def _route_template(self, scope: Scope) -> str:
        """The matched route's path template ("/api/v1/items/{item_id}"), never the raw path."""
        route = scope.get("route")
        if route is None:
            return UNMATCHED_ROUTE
        template = self._templates.get(id(route))
        if template is None:
            if iter_route_contexts is not None:
                # Built on first use, so routes added after create_app are known too.
                self._templates = {
                    id(ctx.original_route): ctx.path_format
                    for ctx in iter_route_contexts(scope["app"].router.routes)
                    if ctx.path_format
                }
            fallback = getattr(route, "path_format", None) or UNMATCHED_ROUTE
            template = self._templates.setdefault(id(route), fallback)
        return template


LANGUAGE_COOKIE = "portal_lang"


def request_language(headers: Headers) -> str:
    """The gateway's language cookie (the user's profile choice), else Accept-Language.

    Services get no cookies: the gateway sends them Accept-Language from the user's profile.
    """
    chosen = cookie_parser(headers.get("cookie", "")).get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return negotiate(headers.get("accept-language"))


def _safe_id(value: str | None) -> str | None:
    return value if value is not None and _SAFE_ID.fullmatch(value) else None
