"""Running a command from an HTTP request: one transaction, and Idempotency-Key honoured.

Use cases take an open unit of work and do not commit; the entrypoint owns the transaction. That
lets the first response to a request sent with an `Idempotency-Key` be stored in the same
transaction as the change it reports, so a retry of a committed request returns that response
and changes nothing more, and a request that failed left no key behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.events.envelope import utc_now
from shared.uow import UnitOfWork
from shared.web.problems import Conflict, InvalidInput

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


def runtime_of(request: Request) -> Any:
    return request.app.state.runtime


def new_uow(request: Request) -> UnitOfWork:
    uow: UnitOfWork = runtime_of(request).uow()
    return uow


def run_command(
    request: Request, action: Callable[[UnitOfWork], Any], *, status_code: int = 200
) -> JSONResponse:
    """Run `action` in a unit of work, commit, and answer with its result as JSON."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(
            f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_KEY_LENGTH} characters",
            field=IDEMPOTENCY_HEADER,
        )
    with new_uow(request) as uow:
        if key is not None:
            replay = _stored_response(uow, key, request)
            if replay is not None:
                return replay
        body = jsonable_encoder(action(uow))
        if key is not None:
            _remember(uow, key, request, status_code, body)
        try:
            uow.commit()
        except IntegrityError as exc:
            if key is not None:
                raise Conflict(
                    "another request with the same Idempotency-Key is in progress",
                    field=IDEMPOTENCY_HEADER,
                ) from exc
            raise
    return JSONResponse(body, status_code=status_code)


def _stored_response(uow: UnitOfWork, key: str, request: Request) -> JSONResponse | None:
    table = uow.tables.idempotency_keys
    row = uow.session.execute(select(table).where(table.c.key == key)).mappings().first()
    if row is None:
        return None
    if row["method"] != request.method or row["path"] != request.url.path:
        raise InvalidInput(
            f"this {IDEMPOTENCY_HEADER} was already used for {row['method']} {row['path']}",
            field=IDEMPOTENCY_HEADER,
        )
    return JSONResponse(
        json.loads(row["response_body"]),
        status_code=row["status_code"],
        headers={"Idempotent-Replayed": "true"},
    )


def _remember(uow: UnitOfWork, key: str, request: Request, status: int, body: Any) -> None:
    uow.session.execute(
        uow.tables.idempotency_keys.insert().values(
            key=key,
            method=request.method,
            path=request.url.path,
            status_code=status,
            response_body=json.dumps(body),
            created_at=utc_now(),
        )
    )
