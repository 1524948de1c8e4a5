"""Forwarding the browser's API calls to the services: the gateway's own business.

`/api/<service>/v1/<path>` reaches the service's `/api/v1/<path>` through
`app.state.upstreams[<service>]` (an httpx client: in memory in embedded mode, HTTP otherwise),
as the signed-in user: the session cookie stays here and the service gets a short-lived signed
token carrying the user and roles (DESIGN §7). Only the headers a service needs go through,
and only the headers a browser needs come back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import quote

import httpx
import structlog
from fastapi import APIRouter, Depends, Request, Response

from services.gateway.api import SignedInUser, csrf_token_or_json, same_site_only, settings_of
from services.gateway.schemas import UserOut
from shared import context
from shared.auth.tokens import issue_service_token
from shared.i18n import _
from shared.settings import SERVICES
from shared.web.app import CORRELATION_ID_HEADER, REQUEST_ID_HEADER
from shared.web.problems import NotFound, PortalError

log = structlog.get_logger(__name__)

router = APIRouter(
    tags=["proxy"], dependencies=[Depends(same_site_only), Depends(csrf_token_or_json)]
)

FORWARDED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
FORWARDED_REQUEST_HEADERS = ("accept", "content-type", "idempotency-key")
RETURNED_RESPONSE_HEADERS = (
    "content-type",
    "content-disposition",  # XLSX exports (DESIGN §6)
    "idempotent-replayed",
    "retry-after",
    "allow",
)


# A signed token is reused for at most this share of its life, so a service always receives one
# with at least half its TTL left (30 s of the default 60 s).
TOKEN_REUSE_SHARE = 0.5
MAX_CACHED_TOKENS = 20_000

_TokenKey = tuple[str, str, tuple[str, ...], str | None, int, str | None]


class ServiceTokens:
    """Signed service tokens, reused while young: signing one per call (HS256, a fresh `jti`,
    the claims' datetimes) was a visible share of the gateway's CPU per forwarded call.

    The key is everything the token says (secret, user, roles, display name, TTL, client
    address), so a change to any of them (new roles after an admin edit, another address) signs
    a new token at once. A token is never handed out older than TOKEN_REUSE_SHARE of its TTL.
    """

    def __init__(self) -> None:
        self._tokens: dict[_TokenKey, tuple[str, float]] = {}

    def token(
        self,
        secret: str,
        *,
        user: str,
        roles: list[str],
        name: str | None,
        ttl_seconds: int,
        ip: str | None,
    ) -> str:
        key = (secret, user, tuple(roles), name, ttl_seconds, ip)
        now = time.monotonic()
        cached = self._tokens.get(key)
        if cached is not None and now < cached[1]:
            return cached[0]
        token = issue_service_token(
            secret, user=user, roles=roles, name=name, ttl_seconds=ttl_seconds, ip=ip
        )
        if len(self._tokens) >= MAX_CACHED_TOKENS:
            self._tokens = {k: v for k, v in self._tokens.items() if now < v[1]}
            if len(self._tokens) >= MAX_CACHED_TOKENS:
                self._tokens.clear()
        self._tokens[key] = (token, now + ttl_seconds * TOKEN_REUSE_SHARE)
        return token


def service_tokens(request: Request) -> ServiceTokens:
    tokens: ServiceTokens | None = getattr(request.app.state, "service_tokens", None)
    if tokens is None:
        tokens = request.app.state.service_tokens = ServiceTokens()
    return tokens


class UpstreamUnreachable(PortalError):
    status = 502
    title = _("Bad gateway")
    slug = "upstream-unreachable"


class UpstreamTimeout(PortalError):
    status = 504
    title = _("Gateway timeout")
    slug = "upstream-timeout"


@router.api_route(
    "/api/{service}/v1/{path:path}", methods=FORWARDED_METHODS, include_in_schema=False
)
async def forward(service: str, path: str, request: Request, user: SignedInUser) -> Response:
    upstream = upstream_client(request, service)
    target = upstream_target(request, service, path)
    headers = upstream_headers(request, user)
    # The service answers (problems included) in the user's language, from their profile.
    headers["accept-language"] = user.language.value
    try:
        answer = await upstream.request(
            request.method, target, content=await request.body(), headers=headers
        )
    except httpx.TimeoutException as exc:
        log.warning("gateway.upstream_timeout", upstream=service, path=target, error=repr(exc))
        raise UpstreamTimeout(
            _("The {service} service did not answer in time.", service=service),
            code="upstream_timeout",
        ) from exc
    except httpx.TransportError as exc:
        log.warning("gateway.upstream_unreachable", upstream=service, path=target, error=repr(exc))
        raise UpstreamUnreachable(
            _("The {service} service cannot be reached.", service=service),
            code="upstream_unreachable",
        ) from exc
    return Response(
        answer.content, status_code=answer.status_code, headers=returned_headers(answer.headers)
    )


def upstream_client(request: Request, service: str) -> httpx.AsyncClient:
    upstreams: Mapping[str, httpx.AsyncClient] = getattr(request.app.state, "upstreams", {})
    client = upstreams.get(service)
    if client is not None:
        return client
    if service in SERVICES and service != "gateway":
        raise UpstreamUnreachable(
            _(
                "The gateway has no address for the {service} service: set {setting}.",
                service=service,
                setting=f"PORTAL_{service.upper()}_URL",
            ),
            code="upstream_not_configured",
        )
    known = ", ".join(sorted(upstreams))
    raise NotFound(
        _("There is no service '{service}' (known: {known}).", service=service, known=known)
        if known
        else _("There is no service '{service}'.", service=service),
        code="unknown_service",
    )


def upstream_target(request: Request, service: str, path: str) -> str:
    """The service's path and query, as the browser encoded them ('/api/v1/items/A%2F1?q=x').

    The raw path is used where it can be, so an encoded '/' inside a segment stays encoded;
    '.' and '..' segments are refused, so no path escapes the service's /api/v1.
    """
    if any(segment in (".", "..") for segment in path.split("/")):
        raise NotFound(_("There is nothing at {path}.", path=request.url.path))
    raw_path: bytes = request.scope.get("raw_path") or b""
    prefix = f"/api/{service}/v1/".encode()
    tail = (
        raw_path[len(prefix) :].decode("ascii", "replace")
        if raw_path.startswith(prefix)
        else quote(path, safe="/:@!$&'()*+,;=")
    )
    query = request.url.query
    return f"/api/v1/{tail}" + (f"?{query}" if query else "")


def upstream_headers(request: Request, user: UserOut) -> dict[str, str]:
    """What the service is told: who calls (signed), what is sent, and the ids to log."""
    token = service_tokens(request).token(
        request.app.state.token_secret,
        user=user.username,
        roles=user.roles,
        name=user.display_name,
        ttl_seconds=settings_of(request).service_token_ttl_seconds,
        ip=request.client.host if request.client else None,  # for the audit log
    )
    headers = {
        name: value
        for name in FORWARDED_REQUEST_HEADERS
        if (value := request.headers.get(name)) is not None
    }
    headers["authorization"] = f"Bearer {token}"
    # The ids this request was given (or made up) here, so one action reads as one in the logs.
    headers[REQUEST_ID_HEADER] = context.get_request_id() or ""
    headers[CORRELATION_ID_HEADER] = context.get_correlation_id() or ""
    return {name: value for name, value in headers.items() if value}


def returned_headers(upstream: httpx.Headers) -> dict[str, str]:
    return {name: value for name in RETURNED_RESPONSE_HEADERS if (value := upstream.get(name))}
