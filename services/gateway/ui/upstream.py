"""Pages ask the services for their data as the signed-in user, through the same door as the API.

The call carries the same signed token and ids that `proxy.py` gives a forwarded request, and the
user's language, so a refusal comes back as a problem already in that language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import Request

from services.gateway.proxy import UpstreamTimeout, UpstreamUnreachable, upstream_client
from services.gateway.proxy import upstream_headers as signed_headers
from services.gateway.schemas import UserOut
from shared.i18n import _
from shared.web.problems import PortalError

# A list value repeats the parameter: {"order": ["A", "B"]} -> ?order=A&order=B.
Params = Mapping[str, str | int | list[str] | None]


class UpstreamProblem(PortalError):
    """A service refused a page's call: its problem+json, carried to the page as it came."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        super().__init__(
            str(problem.get("detail") or problem.get("title") or status),
            field=problem.get("field"),
            code=problem.get("code"),
        )
        self.status = status  # type: ignore[misc]  # the service's own status, passed on
        # The service's own title, already in the user's language ("No encontrado").
        self.title = str(problem.get("title") or self.title)  # type: ignore[misc]
        self.problem = dict(problem)

    @property
    def field_errors(self) -> dict[str, str]:
        """field path -> message, for showing each message beside its input."""
        listed = self.problem.get("errors") or []
        errors = {str(e.get("field")): str(e.get("message")) for e in listed if e.get("field")}
        if not errors and self.field:
            errors[self.field] = str(self.detail)
        return errors


async def call(
    request: Any,
    user: UserOut,
    service: str,
    method: str,
    path: str,
    *,
    params: Params | None = None,
    json: Any = None,
    idempotency_key: str | None = None,
) -> httpx.Response:
    """`method /api/v1/<path>` of `service` as `user`; transport failures become problems."""
    headers = signed_headers(request, user)
    # The page's own request body type (a form) is not what goes on: httpx sets the JSON one.
    headers.pop("content-type", None)
    headers["accept-language"] = user.language.value
    headers["accept"] = "application/json"
    if idempotency_key:
        headers["idempotency-key"] = idempotency_key
    query = {
        key: [str(each) for each in value] if isinstance(value, list) else str(value)
        for key, value in (params or {}).items()
        if value not in (None, "", [])
    }
    try:
        return await upstream_client(request, service).request(
            method, f"/api/v1/{path.lstrip('/')}", params=query, json=json, headers=headers
        )
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(
            _("The {service} service did not answer in time.", service=service),
            code="upstream_timeout",
        ) from exc
    except httpx.TransportError as exc:
        raise UpstreamUnreachable(
            _("The {service} service cannot be reached.", service=service),
            code="upstream_unreachable",
        ) from exc


async def get_json(
    request: Any, user: UserOut, service: str, path: str, params: Params | None = None
) -> Any:
    answer = await call(request, user, service, "GET", path, params=params)
    return checked(answer)


def checked(answer: httpx.Response) -> Any:
    """The JSON of a 2xx answer; anything else raises the service's problem."""
    if answer.is_success:
        return answer.json() if answer.content else None
    try:
        problem = answer.json()
    except ValueError:
        problem = {"title": answer.reason_phrase, "status": answer.status_code}
    raise UpstreamProblem(answer.status_code, problem if isinstance(problem, dict) else {})


def form_status(request: Request, problem: UpstreamProblem) -> int:
    """A refused plain form answers with the service's 4xx; an htmx swap needs a 200."""
    if request.headers.get("hx-request"):
        return 200
    return problem.status if 400 <= problem.status < 500 else 422
