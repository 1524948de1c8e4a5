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
from sqlalchemy.exc import DataError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared import context
from shared.i18n import Text, _, translate

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://portal.example/problems/"


def shown(message: str | Text | None) -> str | None:
    """A message in the reader's language; a plain string is looked up as a message id."""
    return (
        message.render() if isinstance(message, Text) else translate(message) if message else None
    )


def problem_type_uri(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


class PortalError(Exception):
    """A request the portal refuses, with a message meant for the person who sent it."""

    status: ClassVar[int] = 400
    title: ClassVar[str | Text] = _("Bad request")
    slug: ClassVar[str] = "bad-request"

    def __init__(
        self,
        detail: str | Text,
        *,
        field: str | None = None,
        code: str | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.field = field
        self.code = code
        # More members of the problem body, JSON-ready (a refused start lists its shortages).
        self.extensions = dict(extensions or {})

    @property
    def headers(self) -> dict[str, str]:
        return {}


class NotFound(PortalError):
    status = 404
    title = _("Not found")
    slug = "not-found"


class Conflict(PortalError):
    status = 409
    title = _("Conflict")
    slug = "conflict"


class InvalidInput(PortalError):
    status = 422
    title = _("Invalid input")
    slug = "invalid-input"


class Unauthorized(PortalError):
    status = 401
    title = _("Unauthorized")
    slug = "unauthorized"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(PortalError):
    status = 403
    title = _("Forbidden")
    slug = "forbidden"


class ServiceUnavailable(PortalError):
    """Another service this request needs did not answer (it is down or too slow)."""

    status = 503
    title = _("Service unavailable")
    slug = "service-unavailable"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


# The problem body as the OpenAPI documents it: RFC 9457 members plus ours; `errors` lists every
# invalid field of a 422. Other members may follow (a 503 names its failing checks).
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "type"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
_PROBLEM_MEANINGS = {
    400: "Malformed request (e.g. the body is not JSON)",
    401: "No valid service token",
    403: "The caller's role may not do this",
    404: "Not found",
    409: "Conflicts with the current state (a duplicate, a document in the wrong status)",
    422: "Invalid input; `field` names the first invalid field, `errors` lists them all",
    429: "Too many attempts; Retry-After says when to try again",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` documenting each status as an application/problem+json body."""
    return {
        status: {
            "description": _PROBLEM_MEANINGS.get(status) or _status_phrase(status),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


# Every API route may answer these (create_app documents them on every router).
PROBLEM_RESPONSES = problem_responses(400, 401, 403, 404, 409, 422)


def problem_response(
    request: Request,
    *,
    status: int,
    title: str | Text,
    detail: str | Text | None = None,
    type_uri: str = "about:blank",
    field: str | None = None,
    code: str | None = None,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": type_uri,
        "title": shown(title),
        "status": status,
        "detail": shown(detail),
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
            extensions=exc.extensions,
            headers=exc.headers,
        )
    if isinstance(exc, RequestValidationError):
        return _validation_problem(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return _http_problem(request, exc)
    if isinstance(exc, DataError):
        # A value the database refuses that the request's checks let through (a NUL in a
        # text on PostgreSQL, a figure beyond its column): the caller's input, not our fault.
        log.info("request.data_refused", path=request.url.path, error=str(exc.orig))
        return problem_response(
            request,
            status=422,
            title=_("Invalid input"),
            detail=_(
                "A value cannot be stored: a text holds a character that is not allowed, or a "
                "number is too large."
            ),
            type_uri=problem_type_uri("invalid-input"),
            code="value_not_storable",
        )
    if isinstance(exc, PoolTimeout):
        log.warning("request.database_busy", path=request.url.path)
        return problem_response(
            request,
            status=503,
            title=_("Service unavailable"),
            detail=_("The service is busy. Try again in a few seconds."),
            type_uri=problem_type_uri("busy"),
            code="database_busy",
            headers={"Retry-After": "2"},
        )
    log.error("request.unhandled_error", path=request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        title=_("Internal server error"),
        detail=_("Something went wrong on our side; quote the request id when reporting it."),
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
            title=_("Malformed JSON"),
            detail=_(
                "The request body is not valid JSON: {reason} (at character {position}).",
                reason=reason,
                position=position,
            ),
            type_uri=problem_type_uri("malformed-json"),
            code="json_invalid",
        )
    listed = [
        {
            "field": field_path(e["loc"]),
            "message": shown(validation_message(e["type"], e.get("ctx") or {}, e["msg"])),
            "type": e["type"],
        }
        for e in errors
    ]
    first_field = listed[0]["field"] if listed else None
    detail: str | Text = (
        _("{field}: {message}", field=first_field, message=listed[0]["message"])
        if listed
        else _("The request is invalid.")
    )
    if len(listed) > 1:
        detail = _("{first} (and {count} more)", first=detail, count=len(listed) - 1)
    return problem_response(
        request,
        status=422,
        title=InvalidInput.title,
        detail=detail,
        type_uri=problem_type_uri(InvalidInput.slug),
        field=first_field,
        extensions={"errors": listed},
    )


# Pydantic's error types -> the message a person reads beside the field, in their language.
_VALIDATION_MESSAGES: dict[str, Text] = {
    "missing": _("This field is required."),
    "string_too_short": _("Enter at least {min_length} characters."),
    "string_too_long": _("Enter at most {max_length} characters."),
    "too_short": _("Needs at least {min_length} entries."),
    "too_long": _("Takes at most {max_length} entries."),
    "greater_than": _("Must be greater than {gt}."),
    "greater_than_equal": _("Must be at least {ge}."),
    "less_than": _("Must be less than {lt}."),
    "less_than_equal": _("Must be at most {le}."),
    "decimal_parsing": _("Enter a number."),
    "decimal_type": _("Enter a number."),
    "float_parsing": _("Enter a number."),
    "int_parsing": _("Enter a whole number."),
    "int_from_float": _("Enter a whole number."),
    "int_type": _("Enter a whole number."),
    "decimal_max_places": _("Use at most {decimal_places} decimal places."),
    "decimal_max_digits": _("Use at most {max_digits} digits."),
    "decimal_whole_digits": _("Use at most {whole_digits} digits before the decimal point."),
    "finite_number": _("Enter a finite number."),
    "string_pattern_mismatch": _("Does not have the expected format."),
    "string_type": _("Enter text."),
    "enum": _("Choose one of: {expected}."),
    "literal_error": _("Choose one of: {expected}."),
    "bool_parsing": _("Enter yes or no."),
    "bool_type": _("Enter yes or no."),
    "date_parsing": _("Enter a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": _("Enter a date (YYYY-MM-DD)."),
    "date_type": _("Enter a date (YYYY-MM-DD)."),
    "datetime_parsing": _("Enter a date and time."),
    "datetime_from_date_parsing": _("Enter a date and time."),
    "datetime_type": _("Enter a date and time."),
    "timezone_aware": _("Give the time with its time zone."),
    "extra_forbidden": _("This field is not allowed here."),
    "list_type": _("Must be a list."),
    "dict_type": _("Must be an object."),
    "model_type": _("Must be an object."),
    "model_attributes_type": _("Must be an object."),
    "uuid_parsing": _("Enter a valid UUID."),
    "json_type": _("Must be JSON."),
}


def validation_message(kind: str, ctx: Mapping[str, Any], fallback: str) -> str | Text:
    """What to say about one invalid field; a custom rule's own message is kept as written."""
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        error = ctx["error"]
        text = error.args[0] if error.args else fallback
        return text if isinstance(text, Text) else str(text)
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        return _VALIDATION_MESSAGES["missing"]
    template = _VALIDATION_MESSAGES.get(kind)
    if template is None:
        return fallback
    try:
        return Text(template.msgid, {key: str(value) for key, value in ctx.items()})
    except (TypeError, ValueError):
        return fallback


def _http_problem(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    phrase = _status_phrase(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    message: str | Text | None = detail
    if detail is None and exc.status_code == 404:
        message = _("There is nothing at {path}.", path=request.url.path)
    elif detail is None and exc.status_code == 405:
        message = _(
            "{method} is not allowed on {path}.", method=request.method, path=request.url.path
        )
    return problem_response(
        request,
        status=exc.status_code,
        title=phrase,
        detail=message,
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
    handled = (PortalError, RequestValidationError, StarletteHTTPException, DataError, Exception)
    for exc_class in handled:
        app.add_exception_handler(exc_class, _handle)
