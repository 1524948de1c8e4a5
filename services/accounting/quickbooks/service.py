"""Use cases of the QuickBooks feed. Each takes an open unit of work and leaves the commit to
its caller, except the worker's steps (`queue_new_entries`, `claim_due_deliveries`,
`record_attempt`), which are whole transactions of their own.

Queueing follows the journal by id, per subscription, under a row lock of the subscription
(SELECT … FOR UPDATE on PostgreSQL; SQLite has one writer at a time), and the unique
(subscription_id, entry_id) is the last guard: two replicas cannot queue an entry twice.
Claiming takes due deliveries with FOR UPDATE SKIP LOCKED on PostgreSQL, so replicas share the
work, and pushes their `next_attempt_at` past the request's timeout before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    Select,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import selectinload

from services.accounting.models import Account, JournalEntry
from services.accounting.quickbooks import domain
from services.accounting.quickbooks.domain import DeliveryConfig, FeedEntry, FeedLine
from services.accounting.quickbooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from services.accounting.quickbooks.schemas import (
    DeliveryStatus,
    ReplayOut,
    ReplayRange,
    WebhookAttemptOut,
    WebhookDeliveryDetailOut,
    WebhookDeliveryOut,
    WebhookSubscriptionCreate,
    WebhookSubscriptionOut,
    WebhookSubscriptionUpdate,
)
from shared.db import dialect_insert
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, paginate
from shared.web.problems import InvalidInput, NotFound

PENDING = DeliveryStatus.PENDING.value
DELIVERED = DeliveryStatus.DELIVERED.value
FAILED = DeliveryStatus.FAILED.value


# --------------------------------------------------------------------------------------------
# Subscriptions
# --------------------------------------------------------------------------------------------


def create_subscription(
    uow: UnitOfWork, body: WebhookSubscriptionCreate, user: str, now: datetime
) -> WebhookSubscriptionOut:
    """A new subscription starts after the last entry posted so far: older ones go by replay."""
    last_entry = uow.session.scalar(select(func.max(JournalEntry.id))) or 0
    subscription = WebhookSubscription(
        name=body.name,
        url=body.url,
        secret=body.secret or domain.new_secret(),
        active=body.active,
        entry_types=",".join(body.entry_types),
        created_at=now,
        created_by=user,
        start_after_entry_id=last_entry,
    )
    uow.session.add(subscription)
    uow.session.flush()
    return _subscription_out(subscription, show_secret=True)


def list_subscriptions(uow: UnitOfWork, *, show_secret: bool) -> list[WebhookSubscriptionOut]:
    rows = uow.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
    counts = _open_counts(uow)
    return [
        _subscription_out(row, show_secret=show_secret, counts=counts.get(row.id)) for row in rows
    ]


def get_subscription(
    uow: UnitOfWork, subscription_id: int, *, show_secret: bool
) -> WebhookSubscriptionOut:
    subscription = _subscription(uow, subscription_id)
    counts = _open_counts(uow, subscription_id)
    return _subscription_out(
        subscription, show_secret=show_secret, counts=counts.get(subscription_id)
    )


def update_subscription(
    uow: UnitOfWork, subscription_id: int, body: WebhookSubscriptionUpdate, user: str, now: datetime
) -> WebhookSubscriptionOut:
    """Change the fields given. Paused (`active` false), nothing is queued or sent for it; made
    active again, it catches up on the entries posted meanwhile (its cursor waited)."""
    subscription = _subscription(uow, subscription_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    for name in ("name", "url", "secret", "active"):
        if changes.get(name) is not None:
            setattr(subscription, name, changes[name])
    if changes.get("entry_types") is not None:
        subscription.entry_types = ",".join(changes["entry_types"])
    subscription.updated_at = now
    subscription.updated_by = user
    uow.session.flush()
    return get_subscription(uow, subscription_id, show_secret=True)


def _subscription(
    uow: UnitOfWork, subscription_id: int, *, lock: bool = False
) -> WebhookSubscription:
    query = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    found = uow.session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(
            _("There is no webhook subscription {id}.", id=subscription_id),
            field="subscription_id",
        )
    return found


def _open_counts(uow: UnitOfWork, subscription_id: int | None = None) -> dict[int, dict[str, int]]:
    """Pending and failed deliveries per subscription."""
    query = (
        select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.status.in_((PENDING, FAILED)))
        .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)
    )
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    counts: dict[int, dict[str, int]] = {}
    for owner, status, number in uow.session.execute(query):
        counts.setdefault(owner, {})[status] = number
    return counts


def _subscription_out(
    row: WebhookSubscription, *, show_secret: bool, counts: dict[str, int] | None = None
) -> WebhookSubscriptionOut:
    counts = counts or {}
    return WebhookSubscriptionOut(
        id=row.id,
        name=row.name,
        url=row.url,
        active=row.active,
        entry_types=row.entry_type_list,
        secret=row.secret if show_secret else None,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        start_after_entry_id=row.start_after_entry_id,
        pending=counts.get(PENDING, 0),
        failed=counts.get(FAILED, 0),
    )


# --------------------------------------------------------------------------------------------
# Deliveries: the log and replays
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryFilters:
    subscription_id: int | None = None
    status: DeliveryStatus | None = None
    entry_number: str | None = None


# What a delivery list may be sorted by (?sort=-created_at).
DELIVERY_SORTS = {
    "id": WebhookDelivery.id,
    "created_at": WebhookDelivery.created_at,
    "entry_number": WebhookDelivery.entry_number,
    "status": WebhookDelivery.status,
    "attempts": WebhookDelivery.attempts,
    "next_attempt_at": WebhookDelivery.next_attempt_at,
    "last_attempt_at": WebhookDelivery.last_attempt_at,
}


def list_deliveries(
    uow: UnitOfWork, page: PageParams, filters: DeliveryFilters, sort: str | None = None
) -> Page[WebhookDeliveryOut]:
    query = select(WebhookDelivery)
    if filters.subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == filters.subscription_id)
    if filters.status is not None:
        query = query.where(WebhookDelivery.status == filters.status.value)
    if filters.entry_number:
        query = query.where(WebhookDelivery.entry_number == filters.entry_number)
    ordered = apply_sort(
        query, sort, DELIVERY_SORTS, default="-id", tiebreak=WebhookDelivery.id.desc()
    )
    return paginate(uow.session, ordered, page, WebhookDeliveryOut.model_validate)


def get_delivery(uow: UnitOfWork, delivery_id: int) -> WebhookDeliveryDetailOut:
    delivery = _delivery(uow, delivery_id)
    attempts = uow.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.attempt_no, WebhookAttempt.id)
    )
    return WebhookDeliveryDetailOut(
        **WebhookDeliveryOut.model_validate(delivery).model_dump(),
        attempt_log=[WebhookAttemptOut.model_validate(attempt) for attempt in attempts],
    )


def replay_delivery(uow: UnitOfWork, delivery_id: int, now: datetime) -> WebhookDeliveryOut:
    """Due now, pending, at the start of the retry schedule; its webhook id stays the same, so
    a receiver that already has it drops it. A paused subscription's replay waits for it."""
    delivery = _delivery(uow, delivery_id, lock=True)
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.backoff_step = 0
    delivery.delivered_at = None
    uow.session.flush()
    return WebhookDeliveryOut.model_validate(delivery)


def replay_range(uow: UnitOfWork, body: ReplayRange, now: datetime) -> ReplayOut:
    """Queue the entries dated in the range that the subscription takes: a new delivery for an
    entry never queued for it, the existing one made due now for the others."""
    if body.date_from > body.date_to:
        raise InvalidInput(
            _(
                "date_from {date_from} is after date_to {date_to}",
                date_from=body.date_from,
                date_to=body.date_to,
            ),
            field="date_to",
        )
    subscription = _subscription(uow, body.subscription_id, lock=True)
    entries = select(JournalEntry.id).where(
        JournalEntry.entry_date >= body.date_from,
        JournalEntry.entry_date <= body.date_to,
        *_type_filter(subscription),
    )
    requeued = _changed_rows(
        uow,
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription.id,
            WebhookDelivery.entry_id.in_(entries.scalar_subquery()),
        )
        .values(status=PENDING, next_attempt_at=now, backoff_step=0, delivered_at=None)
        .execution_options(synchronize_session=False),
    )
    missing = uow.session.execute(
        select(JournalEntry.id, JournalEntry.number)
        .where(
            JournalEntry.id.in_(entries.scalar_subquery()),
            ~_queued_for(subscription.id),
        )
        .order_by(JournalEntry.id)
    ).all()
    queued = _insert_deliveries(uow, subscription.id, missing, now)
    return ReplayOut(
        subscription_id=subscription.id,
        date_from=body.date_from,
        date_to=body.date_to,
        queued=queued,
        requeued=requeued,
    )


def _delivery(uow: UnitOfWork, delivery_id: int, *, lock: bool = False) -> WebhookDelivery:
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    found = uow.session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(_("There is no webhook delivery {id}.", id=delivery_id), field="delivery_id")
    return found


def _type_filter(subscription: WebhookSubscription) -> list[ColumnElement[bool]]:
    kinds = subscription.entry_type_list
    return [JournalEntry.entry_type.in_(kinds)] if kinds else []


def _queued_for(subscription_id: int) -> Any:
    return exists().where(
        WebhookDelivery.subscription_id == subscription_id,
        WebhookDelivery.entry_id == JournalEntry.id,
    )


def _insert_deliveries(
    uow: UnitOfWork, subscription_id: int, entries: Sequence[Any], now: datetime
) -> int:
    """New pending deliveries, due now, for (id, number) rows; an entry already queued for the
    subscription (by a concurrent step) is skipped by the unique constraint."""
    if not entries:
        return 0
    table = WebhookDelivery.__table__
    rows = [
        {
            "subscription_id": subscription_id,
            "entry_id": entry_id,
            "entry_number": number,
            "webhook_id": domain.new_webhook_id(),
            "status": PENDING,
            "attempts": 0,
            "backoff_step": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for entry_id, number in entries
    ]
    statement = dialect_insert(uow.session, table).on_conflict_do_nothing(
        index_elements=["subscription_id", "entry_id"]
    )
    inserted = 0
    for row in rows:  # one at a time: executemany does not count the conflicts skipped
        inserted += _changed_rows(uow, statement, row)
    return inserted


def _changed_rows(uow: UnitOfWork, statement: Executable, params: Any = None) -> int:
    result = cast("CursorResult[Any]", uow.session.execute(statement, params))
    return result.rowcount or 0


# --------------------------------------------------------------------------------------------
# The worker's steps
# --------------------------------------------------------------------------------------------


def subscriptions_to_queue_for(uow: UnitOfWork, now: datetime, config: DeliveryConfig) -> list[int]:
    """The active subscriptions `queue_new_entries` has work for: one read, so an idle worker
    takes no write lock (on SQLite, the whole database's)."""
    settled_before = now - timedelta(seconds=config.settle_seconds)
    queued = (
        exists()
        .where(
            WebhookDelivery.subscription_id == WebhookSubscription.id,
            WebhookDelivery.entry_id == JournalEntry.id,
        )
        .correlate_except(WebhookDelivery)  # both outer queries, not only the nearest
    )
    behind = exists().where(
        JournalEntry.id > WebhookSubscription.start_after_entry_id,
        or_(~queued, JournalEntry.created_at <= settled_before),
    )
    return list(
        uow.session.scalars(
            select(WebhookSubscription.id)
            .where(WebhookSubscription.active.is_(True), behind)
            .order_by(WebhookSubscription.id)
        )
    )


def any_delivery_due(uow: UnitOfWork, now: datetime) -> bool:
    """Whether `claim_due_deliveries` would find something (a read, no lock)."""
    return bool(uow.session.scalar(select(_due(now).exists())))


def _due(now: datetime) -> Select[int, int]:
    return (
        select(WebhookDelivery.id, WebhookDelivery.entry_id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
        )
    )


def queue_new_entries(
    uow: UnitOfWork, subscription_id: int, now: datetime, config: DeliveryConfig
) -> bool:
    """Queue, for one subscription, the entries posted after its cursor that its entry types
    take, and move the cursor on; True when more are left for another round.

    The cursor moves only over entries at least `settle_seconds` old, so an entry whose posting
    commits after a later-numbered one's (two years' numbers are taken independently) is still
    found by a later round; the entries of that window already queued are told apart by the
    NOT EXISTS (and, against a concurrent step, by the unique constraint). Everything is read
    in ONE statement, one snapshot: under READ COMMITTED a second statement could see an entry
    committed after the first one looked, and move the cursor past it unqueued.
    """
    subscription = uow.session.scalar(
        select(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .with_for_update()
    )
    if subscription is None or not subscription.active:
        return False
    cursor = subscription.start_after_entry_id
    settled_before = now - timedelta(seconds=config.settle_seconds)
    queued = _queued_for(subscription.id)
    # Entries not yet queued, and the settled ones the cursor may pass (queued or not).
    rows = uow.session.execute(
        select(
            JournalEntry.id,
            JournalEntry.number,
            JournalEntry.entry_type,
            JournalEntry.created_at,
            queued.label("queued"),
        )
        .where(JournalEntry.id > cursor, or_(~queued, JournalEntry.created_at <= settled_before))
        .order_by(JournalEntry.id)
        .limit(config.queue_batch_size)
    ).all()
    kinds = set(subscription.entry_type_list)
    wanted = [
        (row.id, row.number)
        for row in rows
        if not row.queued and (not kinds or row.entry_type in kinds)
    ]
    _insert_deliveries(uow, subscription.id, wanted, now)
    settled = [row.id for row in rows if row.created_at <= settled_before]
    if settled:
        subscription.start_after_entry_id = max(settled)
    return len(rows) == config.queue_batch_size


@dataclass(frozen=True)
class Claim:
    """A delivery this worker is sending: attempt number `attempt_no`, the body to POST."""

    delivery_id: int
    attempt_no: int
    webhook_id: str
    url: str
    secret: str
    body: str


def claim_due_deliveries(uow: UnitOfWork, now: datetime, config: DeliveryConfig) -> list[Claim]:
    """Take up to `batch_size` due deliveries of active subscriptions, oldest due first: count
    the attempt and push `next_attempt_at` past the request's timeout, so no other worker
    takes them while this one sends, and they are due again if this process dies."""
    due = uow.session.execute(
        _due(now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(config.batch_size)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    if not due:
        return []
    ids = [delivery_id for delivery_id, _entry in due]
    uow.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=now + timedelta(seconds=config.claim_seconds),
            last_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    bodies = {
        entry.number: domain.webhook_body(entry)
        for entry in load_feed_entries(uow, JournalEntry.id.in_({e for _d, e in due}))
    }
    rows = uow.session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.attempts,
            WebhookDelivery.webhook_id,
            WebhookDelivery.entry_number,
            WebhookSubscription.url,
            WebhookSubscription.secret,
        )
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    ).all()
    return [
        Claim(
            delivery_id=row.id,
            attempt_no=row.attempts,
            webhook_id=row.webhook_id,
            url=row.url,
            secret=row.secret,
            body=bodies[row.entry_number],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Outcome:
    """What one POST came to: the receiver's status and answer, or the error that stopped it."""

    attempted_at: datetime
    finished_at: datetime
    status_code: int | None = None
    response_text: str | None = None
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status_code is not None and domain.is_accepted(self.status_code)

    @property
    def duration_ms(self) -> int:
        return max(0, round((self.finished_at - self.attempted_at).total_seconds() * 1000))


def record_attempt(
    uow: UnitOfWork, claim: Claim, outcome: Outcome, config: DeliveryConfig
) -> str | None:
    """Log the attempt and move the delivery on: delivered on a 2xx; otherwise due again after
    the schedule's next wait, or failed when the schedule is spent. Returns the new status, or
    None when the delivery was no longer this claim's (replayed and claimed again meanwhile):
    the attempt is logged all the same."""
    # The row lock first: the attempt's foreign key takes a share lock on the delivery, and two
    # transactions both holding that and then asking for FOR UPDATE would deadlock.
    delivery = uow.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == claim.delivery_id).with_for_update()
    )
    uow.session.add(
        WebhookAttempt(
            delivery_id=claim.delivery_id,
            attempt_no=claim.attempt_no,
            attempted_at=outcome.attempted_at,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_excerpt=domain.excerpt(outcome.response_text),
            error=domain.excerpt(outcome.error),
        )
    )
    if delivery is None or delivery.status != PENDING or delivery.attempts != claim.attempt_no:
        return None
    delivery.last_status_code = outcome.status_code
    delivery.last_response_excerpt = domain.excerpt(outcome.response_text)
    delivery.last_error = domain.excerpt(outcome.error)
    if outcome.accepted:
        delivery.status = DELIVERED
        delivery.delivered_at = outcome.finished_at
        delivery.next_attempt_at = None
        return DELIVERED
    wait = config.retry_delay(delivery.backoff_step)
    if wait is None:
        delivery.status = FAILED
        delivery.next_attempt_at = None
        return FAILED
    delivery.backoff_step += 1
    delivery.next_attempt_at = outcome.finished_at + wait
    return PENDING


# --------------------------------------------------------------------------------------------
# The journal as the feed sends it, and the exports
# --------------------------------------------------------------------------------------------


def load_feed_entries(uow: UnitOfWork, *criteria: ColumnElement[bool]) -> list[FeedEntry]:
    """The entries matching `criteria`, by date then number, with their lines and accounts."""
    accounts = {account.code: account for account in uow.session.scalars(select(Account))}
    entries = uow.session.scalars(
        select(JournalEntry)
        .where(*criteria)
        .order_by(JournalEntry.entry_date, JournalEntry.id)
        .options(selectinload(JournalEntry.lines))
    )
    return [_feed_entry(entry, accounts) for entry in entries]


def _feed_entry(entry: JournalEntry, accounts: dict[str, Account]) -> FeedEntry:
    return FeedEntry(
        number=entry.number,
        entry_date=entry.entry_date,
        entry_type=entry.entry_type,
        memo=entry.memo,
        source_event_id=entry.source_event_id,
        source_event_type=entry.source_event_type,
        document_type=entry.document_type,
        document_ref=entry.document_ref,
        reverses_number=entry.reverses_number,
        lines=tuple(
            FeedLine(
                line_no=line.line_no,
                account_code=line.account_code,
                account_name=accounts[line.account_code].name,
                quickbooks_account_id=accounts[line.account_code].quickbooks_account_id,
                debit=line.debit,
                credit=line.credit,
                memo=line.memo,
                dimensions={name: getattr(line, name) for name in domain.DIMENSIONS},
            )
            for line in entry.lines
        ),
    )


def journal_export(
    uow: UnitOfWork,
    date_from: date | None,
    date_to: date | None,
    render: Callable[[Iterable[FeedEntry]], str],
) -> str:
    """The entries dated in the range (either end open), rendered as IIF or CSV."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(
            _(
                "date_from {date_from} is after date_to {date_to}",
                date_from=date_from,
                date_to=date_to,
            ),
            field="query.date_to",
        )
    criteria = []
    if date_from is not None:
        criteria.append(JournalEntry.entry_date >= date_from)
    if date_to is not None:
        criteria.append(JournalEntry.entry_date <= date_to)
    return render(load_feed_entries(uow, *criteria))
