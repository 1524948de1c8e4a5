"""Report use cases: read the ledger and answer a report. Each takes an open unit of work and
only reads.

Account totals come from `account_day_balances` (kept per account and day in the posting
transaction), never from summing the journal lines, so a trial balance, a statement or an
opening balance costs the same at a million lines as at ten (docs/accounting.md). Only what
the day balances cannot say is read from the lines: one account's lines for a date range (the
general-ledger detail), the item dimension (COGS and inventory by item, the documents that
explain a reconciliation difference), and the ledger check, whose whole point is to sum them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select, type_coerce

from services.accounting.domain import AccountType, ChartAccount, PostingRole
from services.accounting.models import (
    Account,
    AccountDayBalance,
    JournalEntry,
    JournalLine,
    PostingAccount,
)
from services.accounting.reports import domain
from services.accounting.reports.domain import (
    BalanceSheetLine,
    InventoryAccount,
    PnlSection,
    Totals,
)
from services.accounting.reports.schemas import (
    AmountRowOut,
    BalanceSheetOut,
    CostsByItemOut,
    DocumentDifferenceOut,
    GeneralLedgerLineOut,
    GeneralLedgerOut,
    InventoryAccountOut,
    InventoryValuationOut,
    ItemBalanceOut,
    ItemCostsOut,
    ItemDifferenceOut,
    LedgerAccountOut,
    LedgerCheckOut,
    LedgerMismatchOut,
    OrderBalanceOut,
    PeerDocumentValues,
    PeerValuation,
    PnlSectionOut,
    ProfitAndLossOut,
    ReconciledAccountOut,
    ReconciliationOut,
    StatementSectionOut,
    TrialBalanceOut,
    TrialBalanceRowOut,
)
from shared.i18n import Text, _
from shared.types import Amount
from shared.uow import UnitOfWork
from shared.web.pagination import PageParams
from shared.web.problems import InvalidInput, NotFound

ZERO = Decimal(0)
# The document an entry without one is listed under in the reconciliation: the entry itself.
JOURNAL_ENTRY = "journal_entry"
# The reconciliation lists at most this many differing documents and items (largest first).
MAX_LISTED = 500
# A general-ledger export holds at most this many lines; a longer range is refused.
MAX_EXPORT_LINES = 100_000

SECTION_TITLES: dict[PnlSection, Text] = {
    PnlSection.REVENUE: _("Revenue"),
    PnlSection.COST_OF_GOODS_SOLD: _("Cost of goods sold"),
    PnlSection.SCRAP: _("Scrap"),
    PnlSection.OTHER_EXPENSES: _("Other expenses"),
}
EQUITY_LINES: dict[BalanceSheetLine, Text] = {
    BalanceSheetLine.CURRENT_YEAR_EARNINGS: _("Current-year earnings"),
    BalanceSheetLine.EARLIER_EARNINGS: _("Earnings of earlier years not closed"),
}


def _sum(column: Any) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(func.sum(column), 0), Amount())


# --------------------------------------------------------------------------------------------
# What every report reads: the chart, the roles, the kept day balances
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    accounts: dict[str, ChartAccount]
    active: frozenset[str]

    def shown(self, activity: Mapping[str, Totals]) -> list[ChartAccount]:
        """Every active account, and any inactive one with activity."""
        return [
            account
            for code, account in sorted(self.accounts.items())
            if code in self.active or activity.get(code, domain.NO_ACTIVITY) != domain.NO_ACTIVITY
        ]

    def name(self, code: str) -> str:
        account = self.accounts.get(code)
        return account.name if account else code


def load_chart(uow: UnitOfWork) -> Chart:
    rows = uow.session.scalars(select(Account)).all()
    return Chart(
        {
            row.code: ChartAccount(
                row.code, row.name, AccountType(row.account_type), row.subtype or ""
            )
            for row in rows
        },
        frozenset(row.code for row in rows if row.active),
    )


def load_roles(uow: UnitOfWork) -> dict[PostingRole, str]:
    rows = uow.session.execute(select(PostingAccount.role, PostingAccount.account_code))
    configured = {role: code for role, code in rows}
    return domain.role_accounts(configured)


def day_totals(
    uow: UnitOfWork,
    *,
    first: date | None = None,
    last: date | None = None,
    codes: Iterable[str] | None = None,
) -> dict[str, Totals]:
    """(debits, credits) per account over the days `first`..`last` (open ends: all)."""
    query = select(
        AccountDayBalance.account_code,
        _sum(AccountDayBalance.debit),
        _sum(AccountDayBalance.credit),
    ).group_by(AccountDayBalance.account_code)
    if first is not None:
        query = query.where(AccountDayBalance.day >= first)
    if last is not None:
        query = query.where(AccountDayBalance.day <= last)
    if codes is not None:
        query = query.where(AccountDayBalance.account_code.in_(sorted(set(codes))))
    return {code: (debit, credit) for code, debit, credit in uow.session.execute(query)}


def check_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise InvalidInput(
            _("The last day comes before the first day."),
            field="query.date_to",
            code="date_to_before_date_from",
        )


# --------------------------------------------------------------------------------------------
# Trial balance
# --------------------------------------------------------------------------------------------


def trial_balance(uow: UnitOfWork, as_of: date) -> TrialBalanceOut:
    """Debits, credits and balance of every account from the entries dated up to `as_of`."""
    activity = day_totals(uow, last=as_of)
    chart = load_chart(uow)
    result = domain.trial_balance(chart.shown(activity), activity)
    return TrialBalanceOut(
        as_of=as_of,
        rows=[TrialBalanceRowOut.model_validate(row) for row in result.rows],
        total_debit=result.total_debit,
        total_credit=result.total_credit,
        balanced=result.balanced,
    )


# --------------------------------------------------------------------------------------------
# General ledger
# --------------------------------------------------------------------------------------------


def _ledger_lines(code: str, date_from: date, date_to: date) -> Select[*tuple[Any, ...]]:
    return (
        select(
            JournalEntry.number,
            JournalEntry.entry_date,
            JournalEntry.entry_type,
            JournalEntry.document_type,
            JournalEntry.document_ref,
            func.coalesce(JournalLine.memo, JournalEntry.memo).label("memo"),
            JournalLine.debit,
            JournalLine.credit,
            JournalLine.item_sku,
            JournalLine.location,
            JournalLine.production_order,
            JournalLine.sales_order,
            JournalLine.purchase_order,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            JournalLine.account_code == code,
            JournalEntry.entry_date >= date_from,
            JournalEntry.entry_date <= date_to,
        )
        .order_by(JournalEntry.entry_date, JournalEntry.id, JournalLine.line_no)
    )


def _account(uow: UnitOfWork, code: str) -> Account:
    account = uow.session.get(Account, code)
    if account is None:
        raise NotFound(_("no account with code '{code}'", code=code), field="account_code")
    return account


def general_ledger(
    uow: UnitOfWork, code: str, date_from: date, date_to: date, page: PageParams
) -> GeneralLedgerOut:
    """One account's lines in the range, a page at a time, with running balances.

    The totals, the opening and the closing balance come from the day balances; only the
    page's lines (and, past the first page, the lines before it) are read, so a page costs
    the same however many lines the range holds. There is no count of the range's lines for
    that reason: `has_more` says whether another page follows.
    """
    check_range(date_from, date_to)
    account = _account(uow, code)
    kind = AccountType(account.account_type)
    session = uow.session
    before = day_totals(uow, last=_day_before(date_from), codes=[code]).get(code)
    opening = domain.account_balance(kind, *(before or domain.NO_ACTIVITY))
    debit, credit = day_totals(uow, first=date_from, last=date_to, codes=[code]).get(
        code, domain.NO_ACTIVITY
    )
    lines = _ledger_lines(code, date_from, date_to)
    page_start = opening
    if page.offset:
        earlier = lines.with_only_columns(JournalLine.debit, JournalLine.credit).limit(page.offset)
        skipped = earlier.subquery()
        earlier_debit, earlier_credit = session.execute(
            select(_sum(skipped.c.debit), _sum(skipped.c.credit))
        ).one()
        page_start += domain.account_balance(kind, earlier_debit, earlier_credit)
    rows = session.execute(lines.limit(page.limit + 1).offset(page.offset)).all()
    shown = rows[: page.limit]
    balances = domain.running_balances(kind, page_start, ((r.debit, r.credit) for r in shown))
    return GeneralLedgerOut(
        account=_ledger_account(account),
        date_from=date_from,
        date_to=date_to,
        opening_balance=opening,
        total_debit=debit,
        total_credit=credit,
        closing_balance=opening + domain.account_balance(kind, debit, credit),
        limit=page.limit,
        offset=page.offset,
        has_more=len(rows) > page.limit,
        lines=[_ledger_line(row, balance) for row, balance in zip(shown, balances, strict=True)],
    )


def general_ledger_export(
    uow: UnitOfWork, code: str, date_from: date, date_to: date
) -> GeneralLedgerOut:
    """Every line of the range (at most MAX_EXPORT_LINES) for the workbook."""
    every = PageParams.model_construct(limit=MAX_EXPORT_LINES, offset=0)
    report = general_ledger(uow, code, date_from, date_to, every)
    if report.has_more:
        raise InvalidInput(
            _(
                "The range holds more than {limit} lines, the most an export holds. Choose a "
                "shorter range.",
                limit=MAX_EXPORT_LINES,
            ),
            field="query.date_from",
            code="range_too_long",
        )
    return report


def _day_before(day: date) -> date | None:
    return None if day == date.min else date.fromordinal(day.toordinal() - 1)


def _ledger_account(account: Account) -> LedgerAccountOut:
    kind = AccountType(account.account_type)
    return LedgerAccountOut(
        code=account.code,
        name=account.name,
        account_type=kind,
        normal_side=domain.normal_side(kind),
        active=account.active,
    )


def _ledger_line(row: Any, balance: Decimal) -> GeneralLedgerLineOut:
    return GeneralLedgerLineOut(
        entry_number=row.number,
        entry_date=row.entry_date,
        entry_type=row.entry_type,
        document_type=row.document_type,
        document_ref=row.document_ref,
        memo=row.memo or "",
        debit=row.debit,
        credit=row.credit,
        balance=balance,
        item_sku=row.item_sku,
        location=row.location,
        production_order=row.production_order,
        sales_order=row.sales_order,
        purchase_order=row.purchase_order,
    )


# --------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------


def profit_and_loss(uow: UnitOfWork, date_from: date, date_to: date) -> ProfitAndLossOut:
    check_range(date_from, date_to)
    activity = day_totals(uow, first=date_from, last=date_to)
    chart = load_chart(uow)
    result = domain.profit_and_loss(chart.shown(activity), activity, load_roles(uow))
    return ProfitAndLossOut(
        date_from=date_from,
        date_to=date_to,
        sections=[
            PnlSectionOut(
                section=PnlSection(section.key),
                title=str(SECTION_TITLES[PnlSection(section.key)]),
                rows=[AmountRowOut.model_validate(row) for row in section.rows],
                total=section.total,
            )
            for section in result.sections
        ],
        revenue=result.revenue,
        cost_of_goods_sold=result.cost_of_goods_sold,
        gross_profit=result.gross_profit,
        scrap=result.scrap,
        other_expenses=result.other_expenses,
        net_income=result.net_income,
    )


def balance_sheet(uow: UnitOfWork, as_of: date) -> BalanceSheetOut:
    to_date = day_totals(uow, last=as_of)
    before_year = day_totals(uow, last=_day_before(date(as_of.year, 1, 1)) or date.min)
    chart = load_chart(uow)
    result = domain.balance_sheet(
        chart.shown(to_date),
        to_date,
        before_year,
        {line: str(text) for line, text in EQUITY_LINES.items()},
    )
    titles = {
        "assets": _("Assets"),
        "liabilities": _("Liabilities"),
        "equity": _("Equity"),
    }
    sections = {
        "assets": result.assets,
        "liabilities": result.liabilities,
        "equity": result.equity,
    }
    out = {
        key: StatementSectionOut(
            title=str(titles[key]),
            rows=[AmountRowOut.model_validate(row) for row in section.rows],
            total=section.total,
        )
        for key, section in sections.items()
    }
    return BalanceSheetOut(
        as_of=as_of,
        assets=out["assets"],
        liabilities=out["liabilities"],
        equity=out["equity"],
        current_year_earnings=result.current_year_earnings,
        total_assets=result.assets.total,
        total_liabilities_and_equity=result.total_liabilities_and_equity,
        balanced=result.balanced,
    )


# --------------------------------------------------------------------------------------------
# COGS by item, inventory by account and item
# --------------------------------------------------------------------------------------------


def costs_by_item(uow: UnitOfWork, date_from: date, date_to: date) -> CostsByItemOut:
    """COGS, scrap and inventory adjustments per item (the lines' item dimension)."""
    check_range(date_from, date_to)
    accounts = domain.cost_accounts(load_roles(uow))
    activity = uow.session.execute(
        select(
            JournalLine.item_sku,
            JournalLine.account_code,
            _sum(JournalLine.debit),
            _sum(JournalLine.credit),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            JournalLine.account_code.in_(sorted(accounts)),
            JournalEntry.entry_date >= date_from,
            JournalEntry.entry_date <= date_to,
        )
        .group_by(JournalLine.item_sku, JournalLine.account_code)
    )
    rows, totals = domain.costs_by_item(activity, accounts)
    return CostsByItemOut(
        date_from=date_from,
        date_to=date_to,
        accounts={str(kind): code for code, kind in accounts.items()},
        items=[ItemCostsOut.model_validate(row) for row in rows],
        totals=ItemCostsOut.model_validate(totals),
    )


def _inventory_accounts(uow: UnitOfWork) -> list[InventoryAccount]:
    return domain.inventory_accounts(load_roles(uow))


def _balances_by(
    uow: UnitOfWork, dimension: Any, codes: Sequence[str], as_of: date
) -> dict[tuple[str, str | None], Decimal]:
    """Debits less credits per (account, a line dimension) from the lines dated up to
    `as_of`, leaving out those that net to zero."""
    if not codes:
        return {}
    rows = uow.session.execute(
        select(
            JournalLine.account_code,
            dimension,
            _sum(JournalLine.debit),
            _sum(JournalLine.credit),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_code.in_(codes), JournalEntry.entry_date <= as_of)
        .group_by(JournalLine.account_code, dimension)
    )
    return {(code, key): debit - credit for code, key, debit, credit in rows if debit != credit}


def _listed(
    balances: Mapping[tuple[str, str | None], Decimal], code: str
) -> list[tuple[str | None, Decimal]]:
    """One account's balances by dimension, in key order (no key last)."""
    return sorted(
        ((key, value) for (account, key), value in balances.items() if account == code),
        key=lambda pair: (pair[0] is None, pair[0] or ""),
    )


def inventory_valuation(uow: UnitOfWork, as_of: date) -> InventoryValuationOut:
    """The GL balance of each inventory account as of the day; by item from its lines, or by
    production order for the WIP account (whose lines carry the component when issued and the
    product when relieved, so an item breakdown of WIP would mean nothing)."""
    accounts = _inventory_accounts(uow)
    codes = [account.code for account in accounts]
    itemised = domain.itemised_accounts(accounts)
    balances = day_totals(uow, last=as_of, codes=codes)
    by_item = _balances_by(uow, JournalLine.item_sku, sorted(itemised), as_of)
    by_order = _balances_by(uow, JournalLine.production_order, sorted(set(codes) - itemised), as_of)
    chart = load_chart(uow)
    listed = []
    for account in accounts:
        debit, credit = balances.get(account.code, domain.NO_ACTIVITY)
        listed.append(
            InventoryAccountOut(
                code=account.code,
                name=chart.name(account.code),
                inventory_classes=list(account.classes),
                balance=debit - credit,
                items=[
                    ItemBalanceOut(sku=sku, balance=value)
                    for sku, value in _listed(by_item, account.code)
                ],
                production_orders=[
                    OrderBalanceOut(production_order=order, balance=value)
                    for order, value in _listed(by_order, account.code)
                ],
            )
        )
    return InventoryValuationOut(
        as_of=as_of, accounts=listed, total=sum((a.balance for a in listed), ZERO)
    )


# --------------------------------------------------------------------------------------------
# Reconciliation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerSide:
    """What the GL says of inventory as of a day: its inventory accounts and their balances."""

    as_of: date
    accounts: list[InventoryAccount]
    names: dict[str, str]
    balances: dict[str, Decimal]


def ledger_side(uow: UnitOfWork, as_of: date) -> LedgerSide:
    accounts = _inventory_accounts(uow)
    codes = [account.code for account in accounts]
    totals = day_totals(uow, last=as_of, codes=codes)
    chart = load_chart(uow)
    return LedgerSide(
        as_of=as_of,
        accounts=accounts,
        names={code: chart.name(code) for code in codes},
        balances={code: debit - credit for code, (debit, credit) in totals.items()},
    )


def reconciliation(ledger: LedgerSide, valuation: PeerValuation) -> ReconciliationOut:
    """Each inventory account's balance beside inventory's value of its classes."""
    values = {row.inventory_class: row.value for row in valuation.classes}
    reconciled = domain.reconcile_accounts(ledger.accounts, ledger.balances, values)
    accounts = [
        ReconciledAccountOut(
            code=row.code,
            name=ledger.names[row.code],
            inventory_classes=list(row.classes),
            gl_balance=row.gl_balance,
            inventory_value=row.inventory_value,
            difference=row.difference,
            flagged=row.flagged,
        )
        for row in reconciled
    ]
    total_gl = sum((row.gl_balance for row in reconciled), ZERO)
    total_inventory = sum((row.inventory_value for row in reconciled), ZERO)
    return ReconciliationOut(
        as_of=ledger.as_of,
        accounts=accounts,
        total_gl=total_gl,
        total_inventory=total_inventory,
        total_difference=total_gl - total_inventory,
        flagged=any(row.flagged for row in reconciled),
        documents_checked=False,
        explained=False,
        document_count=0,
        item_count=0,
        documents=[],
        items=[],
    )


def ledger_by_document(
    uow: UnitOfWork, ledger: LedgerSide, since: date | None = None
) -> dict[domain.DocumentKey, Decimal]:
    """Debits less credits per (document, inventory account, item) from the lines dated up to
    the day (and from `since`); an entry without a document stands for itself
    (`journal_entry`, its number). This reads every such line: it runs only to explain a
    flagged difference."""
    codes = [account.code for account in ledger.accounts]
    dated = [JournalEntry.entry_date <= ledger.as_of]
    if since is not None:
        dated.append(JournalEntry.entry_date >= since)
    own = case((JournalEntry.document_type.is_(None), JournalEntry.number))
    rows = uow.session.execute(
        select(
            JournalEntry.document_type,
            JournalEntry.document_ref,
            own,
            JournalLine.account_code,
            JournalLine.item_sku,
            _sum(JournalLine.debit),
            _sum(JournalLine.credit),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_code.in_(codes), *dated)
        .group_by(
            JournalEntry.document_type,
            JournalEntry.document_ref,
            own,
            JournalLine.account_code,
            JournalLine.item_sku,
        )
    )
    result: dict[domain.DocumentKey, Decimal] = {}
    for document_type, document_ref, number, code, sku, debit, credit in rows:
        key = (document_type or JOURNAL_ENTRY, document_ref or number or "", code, sku)
        result[key] = result.get(key, ZERO) + debit - credit
    return result


def explain(
    report: ReconciliationOut,
    ledger: LedgerSide,
    by_document: Mapping[domain.DocumentKey, Decimal],
    documents: PeerDocumentValues,
) -> ReconciliationOut:
    """The report with the documents, and the items, whose GL and inventory figures differ
    over the same days (both sides' documents: inventory's value of an item is the sum of
    what its documents moved, transfers and releases netting to zero in a class)."""
    class_accounts = domain.account_of_class(ledger.accounts)
    itemised = domain.itemised_accounts(ledger.accounts)
    moved = [
        (row.document_type, row.document_ref, row.inventory_class, item.sku, item.value)
        for row in documents.documents
        for item in row.items
    ]
    differing_documents = domain.document_differences(by_document, moved, class_accounts, itemised)
    by_item: dict[tuple[str, str | None], Decimal] = {}
    for (_type, _ref, code, sku), amount in by_document.items():
        by_item[(code, sku)] = by_item.get((code, sku), ZERO) + amount
    differing_items = domain.item_differences(
        by_item,
        ((sku, kind, value) for _type, _ref, kind, sku, value in moved),
        class_accounts,
        itemised,
    )
    unexplained = {row.code: row.difference for row in report.accounts}
    for document in differing_documents:
        unexplained[document.account_code] -= document.difference
    return report.model_copy(
        update={
            "documents_checked": True,
            "explained": not any(unexplained.values()),
            "document_count": len(differing_documents),
            "item_count": len(differing_items),
            "documents": [
                DocumentDifferenceOut(
                    document_type=row.document_type,
                    document_ref=row.document_ref,
                    account_code=row.account_code,
                    gl_amount=row.gl_amount,
                    inventory_amount=row.inventory_amount,
                    difference=row.difference,
                    items=[_item_difference(item) for item in row.items],
                )
                for row in differing_documents[:MAX_LISTED]
            ],
            "items": [_item_difference(item) for item in differing_items[:MAX_LISTED]],
        }
    )


def _item_difference(item: domain.ItemDifference) -> ItemDifferenceOut:
    return ItemDifferenceOut(
        account_code=item.account_code,
        sku=item.sku,
        gl_amount=item.gl_amount,
        inventory_amount=item.inventory_amount,
        difference=item.difference,
    )


# --------------------------------------------------------------------------------------------
# Ledger check
# --------------------------------------------------------------------------------------------


def ledger_check(uow: UnitOfWork) -> LedgerCheckOut:
    """Every kept (account, day) total against the sum of the lines of that account and day."""
    session = uow.session
    kept = {
        (code, day): (debit, credit)
        for code, day, debit, credit in session.execute(
            select(
                AccountDayBalance.account_code,
                AccountDayBalance.day,
                AccountDayBalance.debit,
                AccountDayBalance.credit,
            )
        )
    }
    summed = {
        (code, day): (debit, credit)
        for code, day, debit, credit in session.execute(
            select(
                JournalLine.account_code,
                JournalEntry.entry_date,
                _sum(JournalLine.debit),
                _sum(JournalLine.credit),
            )
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .group_by(JournalLine.account_code, JournalEntry.entry_date)
        )
    }
    mismatches = domain.ledger_mismatches(kept, summed)
    keys = set(kept) | set(summed)
    return LedgerCheckOut(
        matches=not mismatches,
        accounts_checked=len({code for code, _day in keys}),
        days_checked=len(keys),
        mismatches=[LedgerMismatchOut.model_validate(row) for row in mismatches],
    )
