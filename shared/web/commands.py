"""Running a command from an HTTP request: one transaction, and Idempotency-Key honoured.

Use cases take an open unit of work and do not commit; the entrypoint owns the transaction. That
lets the first response to a request sent with an `Idempotency-Key` be stored in the same
transaction as the change it reports, so a retry of a committed request returns that response
and changes nothing more, and a request that failed left no key behind.

A key belongs to the caller who sent it (the verified token's user): the same key from another
user is another key. It is claimed first, before the use case runs, with
`INSERT … ON CONFLICT DO NOTHING`. On PostgreSQL a second request with the same key blocks on
that insert until the first one's transaction ends: if it committed, the row is there and its
response is replayed; if it rolled back, the second request gets the claim and runs. (SQLite
serialises writers with BEGIN IMMEDIATE, so there the second request simply comes after.) The
claim stores the method, path and a SHA-256 of the request (query string and body); the key
reused for a different request is refused with 422 rather than answered with another request's
response.

The database has the last word on uniqueness: a unique constraint hit by a concurrent request
(two clerks creating vendor ACME at once) is a 409 asking to reload and retry, never a 500.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, StatementError

from shared import context
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.problems import Conflict, InvalidInput

log = structlog.get_logger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
REPLAYED_HEADER = "Idempotent-Replayed"
# Stored for a key sent without a verified caller (no command endpoint allows that today).
ANONYMOUS = ""
CONCURRENT_CHANGE = _(
    "The data this request changes was changed by another request at the same moment; "
    "reload and retry."
)


def runtime_of(request: Request) -> Any:
    return request.app.state.runtime


def new_uow(request: Request) -> UnitOfWork:
    uow: UnitOfWork = runtime_of(request).uow()
    return uow


def run_command(
    request: Request, action: Callable[[UnitOfWork], Any], *, status_code: int = 200
) -> JSONResponse:
    """Run `action` in a unit of work, commit, and answer with its result as JSON."""
    key = _idempotency_key(request)
    with new_uow(request) as uow:
        try:
            if key is not None:
                replay = _claim(uow, key, request)
                if replay is not None:
                    return replay
            body = jsonable_encoder(action(uow))
            if key is not None:
                _remember(uow, key, status_code, body)
            uow.commit()
        except IntegrityError as exc:
            log.info("command.concurrent_change", path=request.url.path, error=str(exc.orig))
            raise Conflict(CONCURRENT_CHANGE, code="concurrent_change") from exc
        except StatementError as exc:
            if isinstance(exc.orig, ValueError):
                raise InvalidInput(
                    _("A value cannot be stored: {reason}.", reason=exc.orig)
                ) from exc
            raise
    return JSONResponse(body, status_code=status_code)


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(
            _(
                "{header} must be 1 to {max_length} characters",
                header=IDEMPOTENCY_HEADER,
                max_length=MAX_KEY_LENGTH,
            ),
            field=IDEMPOTENCY_HEADER,
        )
    return key


def _caller() -> str:
    claims = context.get_current_user()
    return claims.user if claims is not None else ANONYMOUS


def request_hash(request: Request) -> str:
    """SHA-256 of what, besides method and path, makes a request: its query string and body.

    The body is the one FastAPI already read to parse the endpoint's parameters (Starlette
    caches it on the request); an endpoint that takes no body has none that matters.
    """
    body: bytes = getattr(request, "_body", b"")
    digest = hashlib.sha256()
    digest.update(request.url.query.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def _claim(uow: UnitOfWork, key: str, request: Request) -> JSONResponse | None:
    """Claim `key` for this request (None), or the stored response of the request that did."""
    table = uow.tables.idempotency_keys
    caller = _caller()
    fingerprint = request_hash(request)
    dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
    claim = (
        dialect.insert(table)
        .values(
            caller=caller,
            key=key,
            method=request.method,
            path=request.url.path,
            request_hash=fingerprint,
            status_code=None,
            response_body=None,
            created_at=utc_now(),
        )
        .on_conflict_do_nothing(index_elements=[table.c.caller, table.c.key])
        .returning(table.c.key)
    )
    if uow.session.execute(claim).first() is not None:
        return None
    row = (
        uow.session.execute(select(table).where(table.c.caller == caller, table.c.key == key))
        .mappings()
        .one()
    )
    if row["method"] != request.method or row["path"] != request.url.path:
        raise InvalidInput(
            _(
                "this {header} was already used for {method} {path}",
                header=IDEMPOTENCY_HEADER,
                method=row["method"],
                path=row["path"],
            ),
            field=IDEMPOTENCY_HEADER,
        )
    if row["request_hash"] != fingerprint:
        raise InvalidInput(
            _(
                "this {header} was already used for {method} {path} with a different request "
                "body; use a new key for a new request",
                header=IDEMPOTENCY_HEADER,
                method=row["method"],
                path=row["path"],
            ),
            field=IDEMPOTENCY_HEADER,
        )
    if row["status_code"] is None:  # not reachable while claims commit with their response
        raise Conflict(
            _("a request with the same {header} is still in progress", header=IDEMPOTENCY_HEADER),
            field=IDEMPOTENCY_HEADER,
        )
    return JSONResponse(
        json.loads(row["response_body"]),
        status_code=row["status_code"],
        headers={REPLAYED_HEADER: "true"},
    )


def _remember(uow: UnitOfWork, key: str, status: int, body: Any) -> None:
    """Store the response on the claimed key, in the transaction of the change it reports."""
    table = uow.tables.idempotency_keys
    uow.session.execute(
        update(table)
        .where(and_(table.c.caller == _caller(), table.c.key == key))
        .values(status_code=status, response_body=json.dumps(body))
    )
