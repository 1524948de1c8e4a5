"""The ops API every service serves under /api/v1/ops: its dead letters, and how its messaging is.

- `GET  /api/v1/ops/dead-letters` a page of dead letters (open, replayed or all), newest first;
- `POST /api/v1/ops/dead-letters/{id}/replay` applies one again through the consumer's own path
  (`DeadLetters.replay_one`, the same as `portal events replay-dead`): the inbox dedupes it, a
  replayed letter is marked and a second replay does nothing;
- `GET  /api/v1/ops/status` outbox backlog (unpublished rows, age of the oldest), dead-letter
  counts, consumer lag per queue where the bus knows it, and whether this relay is the leader.

`ServiceRuntime` adds this router to every service's app, so no service writes it itself. The
gateway's ops page reads it (`services/gateway/ops.py`); `service_status` is also called there
directly for the gateway's own figures. Reads need `ops.dashboard.read`, a replay
`ops.dead_letters.replay` (shared/auth/permissions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from shared.audit import record_change
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.events.envelope import utc_now
from shared.events.routing import consumed_by
from shared.i18n import _
from shared.messaging.dead_letters import DeadLetter, ReplayOutcome
from shared.web.pagination import Page, PageParams, page_params
from shared.web.problems import (
    Conflict,
    NotFound,
    PortalError,
    problem_response,
    problem_type_uri,
)
from shared.web.security import require_permission

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/ops", tags=["ops"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.OPS_READ))]
Replayer = Annotated[TokenClaims, Depends(require_permission(Action.DEAD_LETTERS_REPLAY))]
Pages = Annotated[PageParams, Depends(page_params)]

PAYLOAD_EXCERPT_CHARS = 400
ERROR_DETAIL_CHARS = 8000
QUEUE_DEPTH_TIMEOUT_SECONDS = 2.0
MAX_LETTER_ID = 2**62


class DatabaseUnavailable(PortalError):
    status = 503
    title = _("Service Unavailable")
    slug = "database-unavailable"


class LetterStatus(StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    ALL = "all"


class DeadLetterOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    source: str  # the service that published the event
    consumer: str  # the service whose handler failed
    queue: str  # the consumer's queue on the bus
    key: str
    correlation_id: str | None
    error: str  # the last line of the error, for a table cell
    error_detail: str  # the traceback the consumer recorded
    attempts: int
    failed_at: datetime
    replayed_at: datetime | None
    status: LetterStatus
    payload_excerpt: str


class ReplayOut(BaseModel):
    outcome: ReplayOutcome
    detail: str
    dead_letter: DeadLetterOut


class OutboxStatus(BaseModel):
    backlog: int | None  # unpublished rows; None when the database did not answer
    oldest_created_at: datetime | None
    oldest_age_seconds: float | None


class DeadLetterCounts(BaseModel):
    open: int | None
    replayed: int | None


class QueueStatus(BaseModel):
    queue: str
    event_types: list[str]
    lag: int | None  # events waiting in the queue; None when the bus cannot tell now


class RelayStatus(BaseModel):
    leader: bool
    published_since_start: int


class OpsStatus(BaseModel):
    service: str
    checked_at: datetime
    outbox: OutboxStatus
    dead_letters: DeadLetterCounts
    queues: list[QueueStatus]
    relay: RelayStatus
    errors: list[str]  # readings that failed (e.g. "outbox: database unavailable")


@router.get("/dead-letters", response_model=Page[DeadLetterOut])
def list_dead_letters(
    request: Request,
    _: Reader,
    page: Pages,
    status: Annotated[LetterStatus, Query(description="open, replayed or all")] = (
        LetterStatus.OPEN
    ),
) -> Page[DeadLetterOut]:
    runtime = _runtime(request)
    with _database_errors(runtime.name):
        letters, total = runtime.dead_letters.page(
            status=status.value, limit=page.limit, offset=page.offset
        )
    return Page(
        items=[dead_letter_out(runtime, letter) for letter in letters],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/dead-letters/{letter_id}/replay",
    response_model=ReplayOut,
    responses={404: {"description": "No such letter"}, 409: {"description": "Not applied"}},
)
def replay_dead_letter(
    request: Request,
    claims: Replayer,
    letter_id: Annotated[int, Path(ge=1, le=MAX_LETTER_ID)],
) -> Any:
    runtime = _runtime(request)
    with _database_errors(runtime.name):
        result = runtime.dead_letters.replay_one(letter_id)
    if result is None:
        raise NotFound(
            _(
                "{service} has no dead letter {letter_id}.",
                service=runtime.name,
                letter_id=letter_id,
            ),
            code="dead_letter_not_found",
        )
    letter = dead_letter_out(runtime, result.letter)
    _audit_replay(runtime, letter_id, letter, result.outcome)
    log.info(
        "dead_letter.replay",
        service=runtime.name,
        letter_id=letter_id,
        event_id=letter.event_id,
        outcome=result.outcome.value,
        user=claims.user,
    )
    if result.outcome is ReplayOutcome.STILL_FAILING:
        return _not_applied(
            request,
            result.outcome,
            letter,
            f"Dead letter {letter_id} ({letter.event_type}) failed again: {letter.error}",
            code="replay_failed",
        )
    if result.outcome is ReplayOutcome.WAITING_FOR_EARLIER:
        return _not_applied(
            request,
            result.outcome,
            letter,
            f"Dead letter {result.blocked_by} has the same key ({letter.key}) and died "
            f"earlier; replay it first so the events of the key keep their order.",
            code="earlier_dead_letter_open",
            blocked_by=result.blocked_by,
        )
    return ReplayOut(
        outcome=result.outcome, detail=_REPLAY_DETAILS[result.outcome], dead_letter=letter
    )


@router.get("/status", response_model=OpsStatus)
async def ops_status(request: Request, _: Reader) -> OpsStatus:
    return await service_status(_runtime(request))


async def service_status(runtime: ServiceRuntime) -> OpsStatus:
    """How the service's messaging is now; a reading that fails is None and named in `errors`."""
    errors: list[str] = []
    now = utc_now()
    outbox = OutboxStatus(backlog=None, oldest_created_at=None, oldest_age_seconds=None)
    try:
        backlog, oldest = await asyncio.to_thread(runtime.relay.backlog_with_oldest)
        outbox = OutboxStatus(
            backlog=backlog,
            oldest_created_at=oldest,
            oldest_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else None,
        )
    except SQLAlchemyError:
        log.warning("ops.outbox_unreadable", service=runtime.name, exc_info=True)
        errors.append("outbox: database unavailable")
    counts = DeadLetterCounts(open=None, replayed=None)
    try:
        open_, replayed = await asyncio.to_thread(runtime.dead_letters.counts)
        counts = DeadLetterCounts(open=open_, replayed=replayed)
    except SQLAlchemyError:
        log.warning("ops.dead_letters_unreadable", service=runtime.name, exc_info=True)
        errors.append("dead_letters: database unavailable")
    return OpsStatus(
        service=runtime.name,
        checked_at=now,
        outbox=outbox,
        dead_letters=counts,
        queues=await _queues(runtime),
        relay=RelayStatus(
            leader=runtime.relay.is_leader, published_since_start=runtime.relay.published_total
        ),
        errors=errors,
    )


async def _queues(runtime: ServiceRuntime) -> list[QueueStatus]:
    event_types = sorted(consumed_by(runtime.name))
    if not event_types:
        return []
    try:
        lag = await asyncio.wait_for(
            runtime.bus.queue_depth(runtime.name), QUEUE_DEPTH_TIMEOUT_SECONDS
        )
    except Exception:  # a broker that does not answer now: lag unknown, not an error page
        lag = None
    return [QueueStatus(queue=queue_name(runtime), event_types=event_types, lag=lag)]


def queue_name(runtime: ServiceRuntime) -> str:
    """The service's queue on the bus (RabbitMQ's `<prefix><service>.events`)."""
    named = getattr(runtime.bus, "events_queue_name", None)
    return str(named(runtime.name)) if callable(named) else f"{runtime.name}.events"


def dead_letter_out(runtime: ServiceRuntime, letter: DeadLetter) -> DeadLetterOut:
    envelope = letter.envelope
    return DeadLetterOut(
        id=letter.id or 0,
        event_id=letter.event_id,
        event_type=letter.event_type,
        source=envelope.producer,
        consumer=runtime.name,
        queue=queue_name(runtime),
        key=envelope.key,
        correlation_id=envelope.correlation_id,
        error=last_line(letter.error),
        error_detail=letter.error[-ERROR_DETAIL_CHARS:],
        attempts=letter.attempts,
        failed_at=datetime.fromisoformat(letter.dead_at),
        replayed_at=datetime.fromisoformat(letter.replayed_at) if letter.replayed_at else None,
        status=LetterStatus.REPLAYED if letter.replayed_at else LetterStatus.OPEN,
        payload_excerpt=excerpt(envelope.payload),
    )


def excerpt(payload: dict[str, Any], limit: int = PAYLOAD_EXCERPT_CHARS) -> str:
    text = json.dumps(payload, default=str, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_line(error: str) -> str:
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


_REPLAY_DETAILS = {
    ReplayOutcome.REPLAYED: "Applied again and marked replayed.",
    ReplayOutcome.ALREADY_REPLAYED: "It was replayed before; nothing was done.",
    ReplayOutcome.ALREADY_HANDLED: (
        "The service had already applied this event (a redelivery); marked replayed, "
        "nothing applied twice."
    ),
}


def _not_applied(
    request: Request,
    outcome: ReplayOutcome,
    letter: DeadLetterOut,
    detail: str,
    *,
    code: str,
    blocked_by: int | None = None,
) -> Any:
    extensions: dict[str, Any] = {
        "outcome": outcome.value,
        "dead_letter": letter.model_dump(mode="json"),
    }
    if blocked_by is not None:
        extensions["blocked_by"] = blocked_by
    return problem_response(
        request,
        status=409,
        title=Conflict.title,
        detail=detail,
        type_uri=problem_type_uri(Conflict.slug),
        code=code,
        extensions=extensions,
    )


def _audit_replay(
    runtime: ServiceRuntime, letter_id: int, letter: DeadLetterOut, outcome: ReplayOutcome
) -> None:
    """A replay is a user's action on the service's data: the audit log says who and what."""
    with _database_errors(runtime.name), runtime.uow() as uow:
        record_change(
            uow,
            "ops.dead_letters.replay",
            "dead_letter",
            str(letter_id),
            {"event_type": letter.event_type, "event_id": letter.event_id, "error": letter.error},
            {"outcome": outcome.value, "status": letter.status.value},
        )
        uow.commit()


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


@contextlib.contextmanager
def _database_errors(service: str) -> Iterator[None]:
    """A database that does not answer is a 503 problem naming the service, not a 500."""
    try:
        yield
    except SQLAlchemyError as exc:
        log.warning("ops.database_unavailable", service=service, exc_info=exc)
        raise DatabaseUnavailable(
            _("The {service} database did not answer; try again shortly.", service=service),
            code="database_unavailable",
        ) from exc
