"""Accounting use cases. Each takes an open unit of work and leaves the commit to its caller.

Posting: a rule of `domain` proposes a draft, `_post` checks it, takes the next gapless number
of the entry's year, writes the entry and its lines, and adds JournalPosted to the outbox, all
in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal
from functools import cache
from typing import cast

from sqlalchemy import Insert, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import selectinload

from services.accounting import domain
from services.accounting.domain import AccountType, ChartAccount, JournalDraft
from services.accounting.models import Account, JournalEntry, JournalLine, JournalSequence
from services.accounting.schemas import (
    AccountOut,
    JournalEntryOut,
    JournalEntrySummaryOut,
    JournalLineOut,
    TrialBalanceOut,
    TrialBalanceRowOut,
)
from shared.counters import take_next
from shared.db import dialect_insert
from shared.events.catalogue import JournalLine as PostedLine
from shared.events.catalogue import JournalPosted, MaterialReceived
from shared.events.envelope import Envelope, utc_now
from shared.i18n import _
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, paginate
from shared.web.problems import InvalidInput, NotFound


def seed_chart_of_accounts(uow: UnitOfWork, settings: Settings | None = None) -> None:
    """Add the accounts of the standard chart that are missing; existing ones are left as is."""
    existing = set(uow.session.scalars(select(Account.code)))
    for account in domain.CHART_OF_ACCOUNTS:
        if account.code not in existing:
            uow.session.add(
                Account(
                    code=str(account.code),
                    name=account.name,
                    account_type=str(account.account_type),
                    subtype=account.subtype,
                    active=True,
                )
            )


# --------------------------------------------------------------------------------------------
# Posting
# --------------------------------------------------------------------------------------------


def post_material_received(
    uow: UnitOfWork, receipt: MaterialReceived, envelope: Envelope
) -> JournalEntryOut | None:
    """Dr Raw materials / Cr Accounts payable for the receipt's value; None if nothing posted
    (the event was posted before, or the receipt has no value)."""
    draft = domain.material_received_entry(receipt)
    if draft is None:
        return None
    return _post(uow, draft, source=envelope)


# Posting works on the tables (Core), not ORM objects: three statements per entry, built once
# (an entry only binds its values, and the compiled SQL comes from the engine's cache).
_ENTRIES = cast(Table, JournalEntry.__table__)
_LINES = cast(Table, JournalLine.__table__)
_SEQUENCES = cast(Table, JournalSequence.__table__)
_INSERT_LINES = insert(_LINES)
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


def _post(
    uow: UnitOfWork, draft: JournalDraft, *, source: Envelope | None
) -> JournalEntryOut | None:
    """Number the draft, write the entry and its lines, add JournalPosted; None when `source`
    was posted before.

    There is no SELECT first: the inbox dedupes deliveries, and the entry's unique
    source_event_id decides the rest inside the INSERT (ON CONFLICT DO NOTHING; on PostgreSQL
    a concurrent poster of the same event waits for the first and then inserts nothing). A
    replay after the inbox row was lost therefore posts nothing and raises nothing, and the
    number it took is given back, so numbering stays gapless.
    """
    draft.check_balanced()
    year = draft.entry_date.year
    number = domain.format_entry_number(year, _take_entry_number(uow, year))
    header = {
        "number": number,
        "entry_date": draft.entry_date,
        "entry_type": str(draft.entry_type),
        "source_event_id": str(source.id) if source else None,
        "source_event_type": source.type if source else None,
        "document_type": str(draft.document_type) if draft.document_type else None,
        "document_ref": draft.document_ref,
        "memo": draft.memo,
        "total_debit": draft.total_debit,
        "total_credit": draft.total_credit,
        "reverses_number": None,
        "created_at": utc_now(),
    }
    session = uow.session
    entry_id = session.execute(_insert_entry(session.get_bind().dialect.name), header).scalar()
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
            "memo": line.memo,
            **asdict(line.dimensions),
        }
        for line_no, line in enumerate(draft.lines, start=1)
    ]
    session.execute(_INSERT_LINES, lines)  # one executemany
    uow.add_event(_journal_posted(number, draft, source), key=number)
    return JournalEntryOut(**header, lines=[JournalLineOut.model_validate(line) for line in lines])


def _take_entry_number(uow: UnitOfWork, year: int) -> int:
    """The year's next number; a rollback gives it back (see shared.counters)."""
    return take_next(uow.session, _SEQUENCES, "last_number", year=year)


def _give_back_entry_number(uow: UnitOfWork, year: int) -> None:
    """Undo `_take_entry_number` when no entry was written with the number. The year's row is
    still locked by this transaction (see shared.counters), so nobody took a later number."""
    uow.session.execute(_GIVE_BACK_NUMBER, {"entry_year": year})


def _journal_posted(number: str, draft: JournalDraft, source: Envelope | None) -> JournalPosted:
    return JournalPosted(
        entry_number=number,
        entry_date=draft.entry_date,
        entry_type=str(draft.entry_type),
        memo=draft.memo,
        source_event_id=source.id if source else None,
        document_ref=draft.document_ref,
        reverses_entry_number=None,
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


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def list_journal_entries(
    uow: UnitOfWork,
    page: PageParams,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    entry_type: str | None = None,
    document_ref: str | None = None,
    sort: str | None = None,
) -> Page[JournalEntrySummaryOut]:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(
            _(
                "date_from {date_from} is after date_to {date_to}",
                date_from=date_from,
                date_to=date_to,
            ),
            field="date_from",
        )
    query = select(JournalEntry)
    if date_from is not None:
        query = query.where(JournalEntry.entry_date >= date_from)
    if date_to is not None:
        query = query.where(JournalEntry.entry_date <= date_to)
    if entry_type:
        query = query.where(JournalEntry.entry_type == entry_type)
    if document_ref:
        query = query.where(JournalEntry.document_ref == document_ref)
    ordered = apply_sort(
        query,
        sort,
        JOURNAL_SORTS,
        default="-entry_date",
        tiebreak=JournalEntry.id.desc(),
    )
    return paginate(uow.session, ordered, page, JournalEntrySummaryOut.model_validate)


# What a journal list may be sorted by (?sort=-entry_date).
JOURNAL_SORTS = {
    "entry_date": JournalEntry.entry_date,
    "number": JournalEntry.number,
    "entry_type": JournalEntry.entry_type,
    "document_ref": JournalEntry.document_ref,
    "total_debit": JournalEntry.total_debit,
}


def get_journal_entry(uow: UnitOfWork, number: str) -> JournalEntryOut:
    entry = uow.session.scalar(
        select(JournalEntry)
        .where(JournalEntry.number == number)
        .options(selectinload(JournalEntry.lines))
    )
    if entry is None:
        raise NotFound(_("no journal entry numbered '{number}'", number=number), field="number")
    return JournalEntryOut.model_validate(entry)


def list_accounts(uow: UnitOfWork) -> list[AccountOut]:
    rows = uow.session.scalars(select(Account).order_by(Account.code))
    return [AccountOut.model_validate(row) for row in rows]


def trial_balance(uow: UnitOfWork, as_of: date) -> TrialBalanceOut:
    """Debits, credits and balance of every account from the entries dated up to `as_of`."""
    activity = _account_activity(uow, as_of)
    accounts = [
        ChartAccount(a.code, a.name, AccountType(a.account_type), a.subtype or "")
        for a in uow.session.scalars(select(Account))
        if a.active or a.code in activity
    ]
    result = domain.trial_balance(accounts, activity)
    return TrialBalanceOut(
        as_of=as_of,
        rows=[TrialBalanceRowOut.model_validate(row) for row in result.rows],
        total_debit=result.total_debit,
        total_credit=result.total_credit,
        balanced=result.balanced,
    )


def _account_activity(uow: UnitOfWork, as_of: date) -> dict[str, tuple[Decimal, Decimal]]:
    rows = uow.session.execute(
        select(JournalLine.account_code, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.entry_date <= as_of)
        .group_by(JournalLine.account_code)
    ).all()
    return {code: (Decimal(debit), Decimal(credit)) for code, debit, credit in rows}
