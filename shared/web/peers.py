"""Calling another service now, as the user whose request this is.

DESIGN §2: a command that needs an answer at once (reserve this material, allocate that stock)
goes over HTTP; everything else travels as events. The call carries the caller's own signed
token, so the other service enforces its permissions on the same user, and the request and
correlation ids, so one user action can be followed across services.

`app.state.upstreams[<service>]` holds the clients: in memory (ASGI) in embedded mode, HTTP to
PORTAL_<SERVICE>_URL in a deployment (`services/standalone.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import Request

from shared import context
from shared.i18n import _
from shared.web.app import CORRELATION_ID_HEADER, REQUEST_ID_HEADER
from shared.web.problems import PortalError, ServiceUnavailable

PEER_TIMEOUT_SECONDS = 15.0


class PeerProblem(PortalError):
    """The other service refused the call: its problem, passed on with its status and members."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        known = {"type", "title", "status", "detail", "instance", "field", "code", "request_id"}
        super().__init__(
            str(body.get("detail") or body.get("title") or status),
            field=body.get("field"),
            code=body.get("code"),
            extensions={k: v for k, v in body.items() if k not in known},
        )
        self.status = status  # type: ignore[misc]
        self.title = str(body.get("title") or "")  # type: ignore[misc]


async def call_peer(
    request: Request,
    service: str,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Any:
    """Call `service` at `path` (`/api/v1/...`) and return its JSON answer.

    A 4xx answer is raised as `PeerProblem` (the caller's user sees the other service's own
    explanation); no answer, a timeout or a 5xx is `ServiceUnavailable`.
    """
    upstreams: Mapping[str, httpx.AsyncClient] = getattr(request.app.state, "upstreams", {})
    client = upstreams.get(service)
    if client is None:
        raise ServiceUnavailable(
            _("The {service} service is not configured here.", service=service), code="no_peer"
        )
    headers = {
        REQUEST_ID_HEADER: context.get_request_id() or "",
        CORRELATION_ID_HEADER: context.get_correlation_id() or "",
    }
    for name in ("authorization", "accept-language"):
        if value := request.headers.get(name):
            headers[name] = value
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    try:
        # wait_for as well as httpx's timeout: the in-memory ASGI transport ignores the latter.
        response = await asyncio.wait_for(
            client.request(method, path, json=json, params=params, headers=headers),
            PEER_TIMEOUT_SECONDS,
        )
    except (TimeoutError, httpx.TransportError) as exc:
        raise ServiceUnavailable(
            _("The {service} service did not answer; try again.", service=service),
            code="peer_unavailable",
        ) from exc
    if response.status_code >= 500:
        raise ServiceUnavailable(
            _("The {service} service failed; try again.", service=service),
            code="peer_failed",
        )
    body = response.json() if response.content else None
    if response.status_code >= 400:
        raise PeerProblem(response.status_code, body if isinstance(body, dict) else {})
    return body
