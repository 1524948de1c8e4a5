"""Accounting use cases over an open unit of work (the caller commits): the chart of accounts,
the accounts posting rules use, manual entries and reversals, periods, and reading the journal.

Postings of business events go through `posting.post_event`; every entry, whatever its source,
is written by `posting.post_draft`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, exists, func, select
from sqlalchemy.orm import selectinload

from services.accounting import domain
from services.accounting.domain import (
    AccountType,
    Dimensions,
    DraftLine,
    EntryType,
    JournalDraft,
    PostingRole,
    UnbalancedEntry,
)
from services.accounting.models import (
    Account,
    AccountDayBalance,
    JournalEntry,
    JournalLine,
    LedgerSetting,
    Period,
    PostingAccount,
)
from services.accounting.posting import (
    PLANT_TIMEZONE,
    PeriodClosed,
    Provenance,
    lock_year,
    post_draft,
)
from services.accounting.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    EntryTypeOut,
    JournalEntryOut,
    JournalEntrySummaryOut,
    ManualEntryCreate,
    PeriodOut,
    PostingAccountOut,
    ReversalCreate,
)
from shared import context
from shared.audit import record_change
from shared.db import dialect_insert
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound


def seed_chart_of_accounts(uow: UnitOfWork, settings: Settings) -> None:
    """Reference data: the standard chart's missing accounts, the default account of each
    posting role not set yet, and the plant's time zone (which dates events) as of this start.
    What an accountant changed is left as is."""
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
    uow.session.flush()
    set_roles = set(uow.session.scalars(select(PostingAccount.role)))
    for role, code in domain.DEFAULT_POSTING_ACCOUNTS.items():
        if role not in set_roles:
            uow.session.add(PostingAccount(role=str(role), account_code=str(code)))
    stmt = dialect_insert(uow.session, cast(Table, LedgerSetting.__table__)).values(
        name=PLANT_TIMEZONE, value=settings.plant_timezone
    )
    uow.session.execute(
        stmt.on_conflict_do_update(index_elements=["name"], set_={"value": settings.plant_timezone})
    )


def _user() -> str:
    caller = context.get_current_user()
    return caller.user if caller else "system"


# --------------------------------------------------------------------------------------------
# Accounts and posting accounts
# --------------------------------------------------------------------------------------------


def _account_out(row: Account) -> AccountOut:
    out = AccountOut.model_validate(row)
    out.normal_side = domain.normal_side(AccountType(row.account_type))
    return out


def create_account(uow: UnitOfWork, body: AccountCreate) -> AccountOut:
    if uow.session.get(Account, body.code) is not None:
        raise Conflict(
            _("an account numbered '{code}' exists already", code=body.code), field="code"
        )
    row = Account(
        code=body.code,
        name=body.name,
        account_type=str(body.account_type),
        subtype=body.subtype,
        active=True,
        quickbooks_account_id=body.quickbooks_account_id,
    )
    uow.session.add(row)
    uow.session.flush()
    out = _account_out(row)
    record_change(uow, "accounting.accounts.create", "account", row.code, None, out)
    return out


def update_account(uow: UnitOfWork, code: str, body: AccountUpdate) -> AccountOut:
    row = uow.session.get(Account, code, with_for_update=True)
    if row is None:
        raise NotFound(_("no account numbered '{code}'", code=code), field="code")
    before = _account_out(row)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("active") is False and row.active:
        _check_can_deactivate(uow, row)
    for name, value in changes.items():
        if name in ("name", "active") and value is None:
            raise InvalidInput(_("{field} cannot be empty", field=name), field=name)
        setattr(row, name, value)
    uow.session.flush()
    out = _account_out(row)
    record_change(uow, "accounting.accounts.update", "account", row.code, before, out)
    return out


def _check_can_deactivate(uow: UnitOfWork, row: Account) -> None:
    """An account a posting rule uses, or with a balance, stays active."""
    role = uow.session.scalar(
        select(PostingAccount.role).where(PostingAccount.account_code == row.code)
    )
    if role is not None:
        raise Conflict(
            _(
                "account {code} is the {role} account of the posting rules; set another first",
                code=row.code,
                role=role,
            ),
            field="active",
        )
    debit, credit = uow.session.execute(
        select(
            func.coalesce(func.sum(AccountDayBalance.debit), 0),
            func.coalesce(func.sum(AccountDayBalance.credit), 0),
        ).where(AccountDayBalance.account_code == row.code)
    ).one()
    if Decimal(debit) != Decimal(credit):
        raise Conflict(
            _(
                "account {code} has a balance of {balance}; it can be deactivated at zero",
                code=row.code,
                balance=Decimal(debit) - Decimal(credit),
            ),
            field="active",
        )


def list_posting_accounts(uow: UnitOfWork) -> list[PostingAccountOut]:
    rows = uow.session.execute(
        select(PostingAccount.role, PostingAccount.account_code, Account.name)
        .join(Account, Account.code == PostingAccount.account_code)
        .order_by(PostingAccount.role)
    ).all()
    return [
        PostingAccountOut(role=PostingRole(role), account_code=code, account_name=name)
        for role, code, name in rows
    ]


def set_posting_account(uow: UnitOfWork, role: str, account_code: str) -> PostingAccountOut:
    try:
        posting_role = PostingRole(role)
    except ValueError:
        raise NotFound(_("no posting role '{role}'", role=role), field="role") from None
    account = uow.session.get(Account, account_code)
    if account is None or not account.active:
        raise InvalidInput(
            _("'{code}' is not an active account", code=account_code), field="account_code"
        )
    row = uow.session.get(PostingAccount, str(posting_role), with_for_update=True)
    before = None
    if row is None:
        row = PostingAccount(role=str(posting_role), account_code=account_code)
        uow.session.add(row)
    else:
        before = {"account_code": row.account_code}
        row.account_code = account_code
    uow.session.flush()
    record_change(
        uow,
        "accounting.posting_accounts.set",
        "posting_account",
        str(posting_role),
        before,
        {"account_code": account_code},
    )
    return PostingAccountOut(
        role=posting_role, account_code=account_code, account_name=account.name
    )


# --------------------------------------------------------------------------------------------
# Manual entries and reversals
# --------------------------------------------------------------------------------------------


def post_manual_entry(uow: UnitOfWork, body: ManualEntryCreate) -> JournalEntryOut:
    """The accountant's entry: active accounts only, into an open period, balanced."""
    _check_open(uow, body.entry_date, "entry_date")
    _check_active_accounts(
        uow, [line.account_code for line in body.lines], "lines.{index}.account_code"
    )
    draft = JournalDraft(
        entry_date=body.entry_date,
        entry_type=EntryType.MANUAL,
        lines=tuple(
            _draft_line(line.account_code, line.debit, line.credit, line.memo, line)
            for line in body.lines
        ),
        memo=body.memo,
        document_type=body.document_type,
        document_ref=body.document_ref,
    )
    _check_balanced(draft)
    entry = _post_for_user(uow, draft, Provenance(posted_by=_user()))
    record_change(uow, "accounting.journal.post", "journal_entry", entry.number, None, entry)
    return entry


def _draft_line(
    account_code: str, debit: Decimal, credit: Decimal, memo: str | None, dims: Any
) -> DraftLine:
    """A line from anything carrying the five dimensions (a request line, a stored line)."""
    return DraftLine(
        account_code,
        debit=debit,
        credit=credit,
        memo=memo,
        dimensions=Dimensions(
            item_sku=dims.item_sku,
            location=dims.location,
            production_order=dims.production_order,
            sales_order=dims.sales_order,
            purchase_order=dims.purchase_order,
        ),
    )


def _check_active_accounts(uow: UnitOfWork, codes: Sequence[str], field: str) -> None:
    """Every account exists and is active, read FOR SHARE so a deactivation cannot commit
    between this check and the posting. `field` names the offending line ('{index}')."""
    rows = uow.session.execute(
        select(Account.code, Account.active)
        .where(Account.code.in_(set(codes)))
        .with_for_update(read=True)
    ).all()
    known = {code: bool(active) for code, active in rows}
    for index, code in enumerate(codes):
        if code not in known:
            raise InvalidInput(
                _("no account numbered '{code}'", code=code), field=field.format(index=index)
            )
        if not known[code]:
            raise InvalidInput(
                _("account {code} is inactive", code=code), field=field.format(index=index)
            )


def _post_for_user(uow: UnitOfWork, draft: JournalDraft, provenance: Provenance) -> JournalEntryOut:
    """Post a user's entry; a period closed meanwhile refuses it (409 on entry_date)."""
    try:
        entry = post_draft(uow, draft, provenance)
    except PeriodClosed as exc:
        raise _closed(exc.period, draft.entry_date) from exc
    assert entry is not None  # no source event: nothing to have been posted before
    return entry


def _check_balanced(draft: JournalDraft) -> None:
    """The domain's checks, as a 422 that names the line or the lines."""
    for index, line in enumerate(draft.lines):
        if (line.debit > 0) == (line.credit > 0):
            raise InvalidInput(
                _("each line needs an amount on exactly one side, debit or credit"),
                field=f"lines.{index}.debit",
            )
    if draft.total_debit != draft.total_credit:
        raise InvalidInput(
            _(
                "the entry does not balance: debits {debit}, credits {credit}",
                debit=draft.total_debit,
                credit=draft.total_credit,
            ),
            field="lines",
        )
    if draft.total_debit >= MAX_ENTRY_TOTAL:
        raise InvalidInput(
            _("the entry's total must be below {limit}", limit=MAX_ENTRY_TOTAL), field="lines"
        )
    try:
        draft.check_balanced()
    except UnbalancedEntry as exc:
        raise InvalidInput(str(exc), field="lines") from exc


# Numeric(18, 4): 14 digits before the point.
MAX_ENTRY_TOTAL = Decimal(10) ** 14


def reverse_entry(
    uow: UnitOfWork, number: str, body: ReversalCreate, today: date
) -> JournalEntryOut:
    """Post the mirror of an entry, linked to it; an entry is reversed once, a reversal never,
    on active accounts, not dated before the entry it reverses."""
    entry = uow.session.scalar(
        select(JournalEntry)
        .where(JournalEntry.number == number)
        .options(selectinload(JournalEntry.lines))
        .with_for_update()
    )
    if entry is None:
        raise NotFound(_("no journal entry numbered '{number}'", number=number), field="number")
    if entry.reverses_number is not None:
        raise Conflict(
            _(
                "{number} is itself a reversal (of {original}); post a new entry instead",
                number=number,
                original=entry.reverses_number,
            ),
            field="number",
        )
    already = _reversed_by(uow, number)
    if already is not None:
        raise Conflict(
            _("{number} was reversed already, by {reversal}", number=number, reversal=already),
            field="number",
        )
    entry_date = body.entry_date or max(today, entry.entry_date)
    if entry_date < entry.entry_date:
        raise InvalidInput(
            _(
                "a reversal cannot be dated before the entry it reverses ({day})",
                day=entry.entry_date,
            ),
            field="entry_date",
        )
    _check_open(uow, entry_date, "entry_date")
    _check_active_accounts(uow, [line.account_code for line in entry.lines], "number")
    original = JournalDraft(
        entry_date=entry.entry_date,
        entry_type=entry.entry_type,
        document_type=entry.document_type,
        document_ref=entry.document_ref,
        lines=tuple(
            _draft_line(line.account_code, line.debit, line.credit, line.memo, line)
            for line in entry.lines
        ),
    )
    draft = domain.reversal_of(original, number, entry_date, body.memo)
    reversal = _post_for_user(uow, draft, Provenance(posted_by=_user(), reverses_number=number))
    record_change(uow, "accounting.journal.reverse", "journal_entry", number, None, reversal)
    return reversal


def _reversed_by(uow: UnitOfWork, number: str) -> str | None:
    return uow.session.scalar(
        select(JournalEntry.number).where(JournalEntry.reverses_number == number)
    )


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


def _check_open(uow: UnitOfWork, day: date, field: str) -> None:
    period = domain.period_of(day)
    row = uow.session.get(Period, period)
    if row is not None and row.status == "closed":
        raise _closed(period, day, field)


def _closed(period: str, day: date, field: str = "entry_date") -> Conflict:
    return Conflict(
        _("period {period} is closed; nothing can be posted on {day}", period=period, day=day),
        field=field,
    )


def list_periods(uow: UnitOfWork, year: int) -> list[PeriodOut]:
    """The twelve months of `year`, each open unless closed, with its number of entries."""
    rows = {
        row.period: row
        for row in uow.session.scalars(select(Period).where(Period.period.like(f"{year:04d}-%")))
    }
    counts = dict(
        uow.session.execute(
            select(func.extract("month", JournalEntry.entry_date), func.count())
            .where(JournalEntry.entry_date.between(date(year, 1, 1), date(year, 12, 31)))
            .group_by(func.extract("month", JournalEntry.entry_date))
        ).all()
    )
    result = []
    for month in range(1, 13):
        first = date(year, month, 1)
        period = domain.period_of(first)
        row = rows.get(period)
        result.append(
            PeriodOut(
                period=period,
                first_day=first,
                last_day=domain.first_day_of_next_period(first) - timedelta(days=1),
                status=row.status if row else "open",
                changed_at=row.changed_at if row else None,
                changed_by=row.changed_by if row else None,
                entries=int(counts.get(month, 0) or 0),
            )
        )
    return result


def set_period_status(uow: UnitOfWork, period: str, status: str) -> PeriodOut:
    try:
        first = domain.parse_period(period)
    except ValueError:
        raise InvalidInput(
            _("'{period}' is not a period written YYYY-MM", period=period), field="period"
        ) from None
    lock_year(uow, first.year)  # postings of the year in flight finish first (posting.py)
    row = uow.session.get(Period, period, with_for_update=True)
    before = {"status": row.status if row else "open"}
    if before["status"] == status:
        raise Conflict(
            _("period {period} is {status} already", period=period, status=status),
            field="period",
        )
    if row is None:
        row = Period(period=period, status=status, changed_at=utc_now(), changed_by=_user())
        uow.session.add(row)
    else:
        row.status, row.changed_at, row.changed_by = status, utc_now(), _user()
    uow.session.flush()
    record_change(
        uow,
        f"accounting.periods.{'close' if status == 'closed' else 'reopen'}",
        "period",
        period,
        before,
        {"status": status},
    )
    return next(p for p in list_periods(uow, first.year) if p.period == period)


ENTRY_TYPE_LABELS = {
    EntryType.MATERIAL_RECEIPT: _("Material receipt"),
    EntryType.MATERIAL_ISSUE: _("Material issue to WIP"),
    EntryType.MATERIAL_RETURN: _("Material return from WIP"),
    EntryType.PRODUCTION_OUTPUT: _("Production output"),
    EntryType.QC_SCRAP: _("QC scrap"),
    EntryType.STOCK_ADJUSTMENT: _("Stock adjustment"),
    EntryType.SHIPMENT: _("Shipment"),
    EntryType.CUSTOMER_PAYMENT: _("Customer payment"),
    EntryType.VENDOR_PAYMENT: _("Vendor payment"),
    EntryType.MANUAL: _("Manual entry"),
    EntryType.REVERSAL: _("Reversal"),
}


def entry_types() -> list[EntryTypeOut]:
    return [
        EntryTypeOut(entry_type=str(t), label=str(label)) for t, label in ENTRY_TYPE_LABELS.items()
    ]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def list_journal_entries(
    uow: UnitOfWork, page: PageParams, filters: JournalFilters, sort: str | None = None
) -> Page[JournalEntrySummaryOut]:
    ordered = apply_sort(
        journal_query(filters),
        sort,
        JOURNAL_SORTS,
        default="-entry_date",
        tiebreak=JournalEntry.id.desc(),
    )
    return paginate(uow.session, ordered, page, JournalEntrySummaryOut.model_validate)


@dataclass(frozen=True)
class JournalFilters:
    date_from: date | None = None
    date_to: date | None = None
    entry_type: str | None = None
    account_code: str | None = None
    document_type: str | None = None
    document_ref: str | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidInput(
                _(
                    "date_from {date_from} is after date_to {date_to}",
                    date_from=self.date_from,
                    date_to=self.date_to,
                ),
                field="date_from",
            )


def journal_query(filters: JournalFilters) -> Select[Any]:
    query = select(JournalEntry)
    if filters.date_from is not None:
        query = query.where(JournalEntry.entry_date >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(JournalEntry.entry_date <= filters.date_to)
    if filters.entry_type:
        query = query.where(JournalEntry.entry_type == filters.entry_type)
    if filters.document_type:
        query = query.where(JournalEntry.document_type == filters.document_type)
    if filters.document_ref:
        query = query.where(JournalEntry.document_ref == filters.document_ref)
    if filters.account_code:
        query = query.where(
            exists().where(
                JournalLine.entry_id == JournalEntry.id,
                JournalLine.account_code == filters.account_code,
            )
        )
    return query


# What a journal list may be sorted by (?sort=-entry_date).
JOURNAL_SORTS = {
    "entry_date": JournalEntry.entry_date,
    "number": JournalEntry.number,
    "entry_type": JournalEntry.entry_type,
    "document_ref": JournalEntry.document_ref,
    "total_debit": JournalEntry.total_debit,
}

EXPORT_LIMIT = 100_000


def journal_export_rows(
    uow: UnitOfWork, filters: JournalFilters, sort: str | None
) -> Sequence[Sequence[Any]]:
    """One row per line of the entries the list shows (at most EXPORT_LIMIT lines)."""
    entries = apply_sort(
        journal_query(filters),
        sort,
        JOURNAL_SORTS,
        default="-entry_date",
        tiebreak=JournalEntry.id.desc(),
    ).subquery()
    rows = uow.session.execute(
        select(
            entries.c.number,
            entries.c.entry_date,
            entries.c.entry_type,
            entries.c.document_type,
            entries.c.document_ref,
            entries.c.memo,
            JournalLine.line_no,
            JournalLine.account_code,
            Account.name,
            JournalLine.debit,
            JournalLine.credit,
            JournalLine.item_sku,
            JournalLine.location,
            JournalLine.production_order,
            JournalLine.sales_order,
            JournalLine.purchase_order,
            JournalLine.memo,
            entries.c.reverses_number,
            entries.c.source_event_type,
            entries.c.source_event_id,
        )
        .join(JournalLine, JournalLine.entry_id == entries.c.id)
        .join(Account, Account.code == JournalLine.account_code)
        .order_by(entries.c.entry_date.desc(), entries.c.id.desc(), JournalLine.line_no)
        .limit(EXPORT_LIMIT)
    ).all()
    return [tuple(row) for row in rows]


def get_journal_entry(uow: UnitOfWork, number: str) -> JournalEntryOut:
    entry = uow.session.scalar(
        select(JournalEntry)
        .where(JournalEntry.number == number)
        .options(selectinload(JournalEntry.lines))
    )
    if entry is None:
        raise NotFound(_("no journal entry numbered '{number}'", number=number), field="number")
    out = JournalEntryOut.model_validate(entry)
    out.reversed_by_number = _reversed_by(uow, number)
    return out


def list_accounts(uow: UnitOfWork, active: bool | None = None) -> list[AccountOut]:
    query = select(Account).order_by(Account.code)
    if active is not None:
        query = query.where(Account.active == active)
    return [_account_out(row) for row in uow.session.scalars(query)]
