"""The posting engine: a checked draft becomes a numbered entry, its lines, its day balances
and its JournalPosted event, all in the caller's transaction.

`post_event` is how a business event reaches the books: its rule (`rules.RULES`) proposes a
draft from the accounts set in `posting_accounts`, dated on the plant-local day of the event,
or on the first day of the next open period when that day's month is closed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Insert, Table, bindparam, insert, literal, select, union_all, update

from services.accounting import domain
from services.accounting.domain import JournalDraft
from services.accounting.models import (
    AccountDayBalance,
    JournalEntry,
    JournalLine,
    JournalSequence,
    LedgerItem,
    LedgerSetting,
    Period,
    PostingAccount,
)
from services.accounting.rules import RULES, PostingAccounts, UnknownItem
from services.accounting.schemas import JournalEntryOut, JournalLineOut
from shared.counters import take_next
from shared.db import dialect_insert
from shared.events.catalogue import ItemUpserted, JournalPosted
from shared.events.catalogue import JournalLine as PostedLine
from shared.events.envelope import Envelope, utc_now
from shared.uow import UnitOfWork

PLANT_TIMEZONE = "plant_timezone"


class NotReady(Exception):
    """An event that cannot post yet (an item accounting has not heard of): the consumer
    retries it, and dead-letters it if it never can, to be replayed from the ops page."""


@dataclass(frozen=True)
class Provenance:
    """Where an entry came from, beyond its draft: the event, the user, the entry it reverses,
    and the event's own date when a closed period moved the entry."""

    source: Envelope | None = None
    posted_by: str | None = None
    reverses_number: str | None = None
    event_date: date | None = None


def post_event(uow: UnitOfWork, envelope: Envelope) -> JournalEntryOut | None:
    """Post a business event by its rule; None when it moves no value or was posted before."""
    rule = RULES[envelope.type]
    event = rule.payload.model_validate(envelope.payload)
    context = PostingContext.load(uow)
    day = rule.business_date(event) or rule.moment(event).astimezone(context.zone).date()
    try:
        draft = rule.post(event, context.accounts(uow), day)
    except UnknownItem as exc:
        raise NotReady(str(exc)) from exc
    if draft is None:
        return None
    posting_day = domain.open_posting_date(day, context.closed_periods)
    if posting_day == day:
        return post_draft(uow, draft, Provenance(source=envelope))
    note = (
        f" [dated {day.isoformat()}, in closed period {domain.period_of(day)}: "
        f"posted on {posting_day.isoformat()}]"
    )
    moved = replace(
        draft, entry_date=posting_day, memo=_clipped(draft.memo, MEMO_LENGTH - len(note)) + note
    )
    return post_draft(uow, moved, Provenance(source=envelope, event_date=day))


@dataclass(frozen=True)
class PostingContext:
    """What every posting reads besides its items: the account of each role, the plant's time
    zone and the closed periods, in one statement (three small tables, read on the hot path)."""

    roles: dict[str, str]
    zone: ZoneInfo
    closed_periods: frozenset[str]

    @classmethod
    def load(cls, uow: UnitOfWork) -> PostingContext:
        rows = uow.session.execute(_CONTEXT).all()
        roles = {key: value for kind, key, value in rows if kind == "role"}
        settings = {key: value for kind, key, value in rows if kind == "setting"}
        closed = frozenset(key for kind, key, _ in rows if kind == "closed")
        return cls(roles, ZoneInfo(settings.get(PLANT_TIMEZONE, "UTC")), closed)

    def accounts(self, uow: UnitOfWork) -> PostingAccounts:
        """The rule's accounts; an item's make/buy is read when the rule first asks for it."""
        known: dict[str, bool | None] = {}

        def made(sku: str) -> bool | None:
            if sku not in known:
                item = uow.session.get(LedgerItem, sku)
                known[sku] = None if item is None else item.make_or_buy == "make"
            return known[sku]

        return PostingAccounts(roles=self.roles, made_items=made)


_CONTEXT = union_all(
    select(literal("role"), PostingAccount.role, PostingAccount.account_code),
    select(literal("setting"), LedgerSetting.name, LedgerSetting.value),
    select(literal("closed"), Period.period, Period.status).where(Period.status == "closed"),
)


def remember_item(uow: UnitOfWork, item: ItemUpserted, sequence: int) -> None:
    """Keep accounting's copy of an item's make/buy; an older or repeated event changes
    nothing."""
    known = uow.session.get(LedgerItem, item.sku, with_for_update=True)
    if known is None:
        uow.session.add(
            LedgerItem(
                sku=item.sku,
                make_or_buy=item.make_or_buy,
                item_type=item.item_type,
                sequence=sequence,
            )
        )
    elif sequence > known.sequence:
        known.make_or_buy, known.item_type, known.sequence = (
            item.make_or_buy,
            item.item_type,
            sequence,
        )


# Posting works on the tables (Core), not ORM objects: a few statements per entry, built once
# (an entry only binds its values, and the compiled SQL comes from the engine's cache).
_ENTRIES = cast(Table, JournalEntry.__table__)
_LINES = cast(Table, JournalLine.__table__)
_SEQUENCES = cast(Table, JournalSequence.__table__)
_DAY_BALANCES = cast(Table, AccountDayBalance.__table__)
_INSERT_LINES = insert(_LINES)
_PERIOD_STATUS = select(Period.status).where(Period.period == bindparam("period"))
MEMO_LENGTH = 500  # journal_entries.memo and journal_lines.memo
_GIVE_BACK_NUMBER = (
    update(_SEQUENCES)
    .where(_SEQUENCES.c.year == bindparam("entry_year"))
    .values(last_number=_SEQUENCES.c.last_number - 1)
)


@cache
def _insert_entry(dialect: str) -> Insert:
    """INSERT … ON CONFLICT (source_event_id) DO NOTHING RETURNING id, for the dialect: no row
    back when the source event was posted before."""
    return (
        dialect_insert(dialect, _ENTRIES)
        .on_conflict_do_nothing(index_elements=[_ENTRIES.c.source_event_id])
        .returning(_ENTRIES.c.id)
    )


@cache
def _add_to_day_balance(dialect: str) -> Insert:
    """Upsert one account's day row, adding to its debits and credits."""
    stmt = dialect_insert(dialect, _DAY_BALANCES)
    return stmt.on_conflict_do_update(
        index_elements=[_DAY_BALANCES.c.account_code, _DAY_BALANCES.c.day],
        set_={
            "debit": _DAY_BALANCES.c.debit + stmt.excluded.debit,
            "credit": _DAY_BALANCES.c.credit + stmt.excluded.credit,
        },
    )


def post_draft(
    uow: UnitOfWork, draft: JournalDraft, provenance: Provenance | None = None
) -> JournalEntryOut | None:
    """Number the draft, write the entry, its lines and day balances, add JournalPosted; None
    when the source event was posted before.

    There is no SELECT first: the inbox dedupes deliveries, and the entry's unique
    source_event_id decides the rest inside the INSERT (ON CONFLICT DO NOTHING; on PostgreSQL
    a concurrent poster of the same event waits for the first and then inserts nothing). A
    replay after the inbox row was lost therefore posts nothing and raises nothing, and the
    number it took is given back, so numbering stays gapless.
    """
    posted = provenance or Provenance()
    draft.check_balanced()
    year = draft.entry_date.year
    number = domain.format_entry_number(year, _take_entry_number(uow, year))
    _check_still_open(uow, draft.entry_date)
    source = posted.source
    header = {
        "number": number,
        "entry_date": draft.entry_date,
        "entry_type": str(draft.entry_type),
        "source_event_id": str(source.id) if source else None,
        "source_event_type": source.type if source else None,
        "document_type": str(draft.document_type) if draft.document_type else None,
        "document_ref": draft.document_ref,
        "memo": _clipped(draft.memo, MEMO_LENGTH),
        "total_debit": draft.total_debit,
        "total_credit": draft.total_credit,
        "reverses_number": posted.reverses_number,
        "created_at": utc_now(),
        "event_date": posted.event_date,
        "posted_by": posted.posted_by,
    }
    session = uow.session
    dialect = session.get_bind().dialect.name
    entry_id = session.execute(_insert_entry(dialect), header).scalar()
    if entry_id is None:
        _give_back_entry_number(uow, year)
        return None
    lines = [
        {
            "entry_id": entry_id,
            "line_no": line_no,
            "account_code": str(line.account_code),
            "debit": line.debit,
            "credit": line.credit,
            "memo": None if line.memo is None else _clipped(line.memo, MEMO_LENGTH),
            **asdict(line.dimensions),
        }
        for line_no, line in enumerate(draft.lines, start=1)
    ]
    session.execute(_INSERT_LINES, lines)  # one executemany
    session.execute(_add_to_day_balance(dialect), _day_totals(draft))
    uow.add_event(_journal_posted(number, draft, posted), key=number)
    return JournalEntryOut(
        **header,
        reversed_by_number=None,
        lines=[JournalLineOut.model_validate(line) for line in lines],
    )


class PeriodClosed(Exception):
    """The entry's period was closed after the posting checked it (a close that committed
    meanwhile). An event is retried by its consumer and then posts in the next open period; a
    user's entry is refused."""

    def __init__(self, period: str) -> None:
        super().__init__(f"period {period} was closed meanwhile")
        self.period = period


def _check_still_open(uow: UnitOfWork, day: date) -> None:
    """Re-read the period under the year's counter lock. Closing a period takes the same lock
    (`lock_year`), so a close and a posting into its month cannot both commit unseen."""
    period = domain.period_of(day)
    if uow.session.scalar(_PERIOD_STATUS, {"period": period}) == "closed":
        raise PeriodClosed(period)


def lock_year(uow: UnitOfWork, year: int) -> None:
    """Wait for the postings of `year` in flight, and hold later ones until this transaction
    ends: the counter row every posting of the year locks (created at 0 when missing)."""
    session = uow.session
    stmt = dialect_insert(session.get_bind().dialect.name, _SEQUENCES).values(
        year=year, last_number=0
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[_SEQUENCES.c.year],
            set_={"last_number": _SEQUENCES.c.last_number},
        )
    )


def _clipped(text: str, length: int) -> str:
    """At most `length` characters (a memo column's size), marked with … when cut."""
    return text if len(text) <= length else text[: max(length - 1, 0)] + "…"


def _day_totals(draft: JournalDraft) -> list[dict[str, object]]:
    """One row per account of the draft: what it adds to the account's day balance."""
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for line in draft.lines:
        totals[str(line.account_code)][0] += line.debit
        totals[str(line.account_code)][1] += line.credit
    return [
        {"account_code": code, "day": draft.entry_date, "debit": debit, "credit": credit}
        for code, (debit, credit) in sorted(totals.items())
    ]


def _take_entry_number(uow: UnitOfWork, year: int) -> int:
    """The year's next number; a rollback gives it back (see shared.counters)."""
    return take_next(uow.session, _SEQUENCES, "last_number", year=year)


def _give_back_entry_number(uow: UnitOfWork, year: int) -> None:
    """Undo `_take_entry_number` when no entry was written with the number. The year's row is
    still locked by this transaction (see shared.counters), so nobody took a later number."""
    uow.session.execute(_GIVE_BACK_NUMBER, {"entry_year": year})


def _journal_posted(number: str, draft: JournalDraft, posted: Provenance) -> JournalPosted:
    return JournalPosted(
        entry_number=number,
        entry_date=draft.entry_date,
        entry_type=str(draft.entry_type),
        memo=draft.memo,
        source_event_id=posted.source.id if posted.source else None,
        document_ref=draft.document_ref,
        reverses_entry_number=posted.reverses_number,
        lines=tuple(
            PostedLine(
                account_code=str(line.account_code),
                debit=line.debit,
                credit=line.credit,
                description=line.memo,
                dimensions=line.dimensions.as_dict(),
            )
            for line in draft.lines
        ),
    )
