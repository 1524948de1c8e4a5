"""RFC 9457 problem details: the errors services raise, and how every one becomes a response.

Domain rules and use cases raise `PortalError` subclasses without knowing about HTTP. The
handlers installed by `install_problem_handlers` render those, FastAPI's validation errors,
routing errors and anything unexpected as `application/problem+json` with a clear `detail`,
plus the extension members `field`, `code` and `request_id` when they are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared import context

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://portal.example/problems/"


def problem_type_uri(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


class PortalError(Exception):
    """A request the portal refuses, with a message meant for the person who sent it."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str] = "bad-request"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.code = code

    @property
    def headers(self) -> dict[str, str]:
        return {}


class NotFound(PortalError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(PortalError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class InvalidInput(PortalError):
    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class Unauthorized(PortalError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(PortalError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str | None = None,
    type_uri: str = "about:blank",
    field: str | None = None,
    code: str | None = None,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": type_uri,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "field": field,
        "code": code,
        "request_id": context.get_request_id(),
        **(extensions or {}),
    }
    return ProblemResponse(
        {key: value for key, value in body.items() if value is not None},
        status_code=status,
        headers=dict(headers) if headers else None,
    )


def render_problem(request: Request, exc: Exception) -> ProblemResponse:
    """The problem response for any exception; unexpected ones are logged and not described."""
    if isinstance(exc, PortalError):
        return problem_response(
            request,
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            type_uri=problem_type_uri(exc.slug),
            field=exc.field,
            code=exc.code,
            headers=exc.headers,
        )
    if isinstance(exc, RequestValidationError):
        return _validation_problem(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return _http_problem(request, exc)
    log.error("request.unhandled_error", path=request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        title="Internal server error",
        detail="Something went wrong on our side; quote the request id when reporting it.",
        type_uri=problem_type_uri("internal-error"),
    )


def field_path(loc: Any) -> str:
    """('body', 'lines', 0, 'qty') -> 'lines.0.qty'; ('query', 'limit') -> 'query.limit'.

    Body fields are named as the client wrote them, the same way the services' own rules name
    them (`lines.0.qty`), so a form can put the message beside its input either way.
    """
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts)


def _validation_problem(request: Request, exc: RequestValidationError) -> ProblemResponse:
    errors = list(exc.errors())
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        reason = malformed.get("ctx", {}).get("error", "cannot be parsed")
        position = malformed["loc"][-1]
        return problem_response(
            request,
            status=400,
            title="Malformed JSON",
            detail=f"The request body is not valid JSON: {reason} (at character {position}).",
            type_uri=problem_type_uri("malformed-json"),
            code="json_invalid",
        )
    listed = [
        {"field": field_path(e["loc"]), "message": e["msg"], "type": e["type"]} for e in errors
    ]
    first_field = listed[0]["field"] if listed else None
    detail = f"{first_field}: {listed[0]['message']}" if listed else "The request is invalid."
    if len(listed) > 1:
        detail += f" (and {len(listed) - 1} more)"
    return problem_response(
        request,
        status=422,
        title=InvalidInput.title,
        detail=detail,
        type_uri=problem_type_uri(InvalidInput.slug),
        field=first_field,
        extensions={"errors": listed},
    )


def _http_problem(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    phrase = _status_phrase(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if detail is None and exc.status_code == 404:
        detail = f"There is nothing at {request.url.path}."
    elif detail is None and exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem_response(
        request,
        status=exc.status_code,
        title=phrase,
        detail=detail,
        headers=exc.headers,
    )


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _handle(request: Request, exc: Exception) -> Response:
    return render_problem(request, exc)


def install_problem_handlers(app: FastAPI) -> None:
    for exc_class in (PortalError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_class, _handle)
