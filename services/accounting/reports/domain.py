"""Report arithmetic on plain values: balances on an account's normal side, the trial balance,
running balances, profit and loss, the balance sheet, COGS by item, the ledger check, and the
reconciliation of the inventory accounts with inventory's valuation.

No database here; `service.py` sums the kept day balances (or, for a dimension such as the
item, the lines) and asks these functions. Every amount is a `Decimal`: nothing is rounded,
because every figure in the ledger already has its four decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.accounting import domain as ledger_domain
from services.accounting.domain import (
    AccountType,
    ChartAccount,
    NormalSide,
    PostingRole,
    normal_side,
)

ZERO = Decimal(0)
# A reconciliation difference above this is flagged (issue 7).
TOLERANCE = Decimal("0.01")

Totals = tuple[Decimal, Decimal]  # (debits, credits)
NO_ACTIVITY: Totals = (ZERO, ZERO)


class InventoryClass(StrEnum):
    """Inventory's valuation classes (its `GET /api/v1/valuation`), one per inventory role."""

    RAW = "raw"
    WIP = "wip"
    FINISHED = "finished"


# The posting roles whose accounts hold inventory, and the class of inventory's valuation each
# holds (the posting rules' own table, typed).
INVENTORY_ROLES: dict[PostingRole, InventoryClass] = {
    role: InventoryClass(kind) for role, kind in ledger_domain.INVENTORY_ROLES.items()
}


def role_accounts(configured: Mapping[str, str]) -> dict[PostingRole, str]:
    """The account of each posting role: the configured one, else the standard chart's."""
    return {
        role: configured.get(role, default)
        for role, default in ledger_domain.DEFAULT_POSTING_ACCOUNTS.items()
    }


def account_balance(account_type: AccountType, debit: Decimal, credit: Decimal) -> Decimal:
    """The balance on the account's normal side (negative when it sits on the other side)."""
    if normal_side(account_type) is NormalSide.DEBIT:
        return debit - credit
    return credit - debit


# --------------------------------------------------------------------------------------------
# Trial balance
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    account_type: AccountType
    normal_side: NormalSide
    total_debit: Decimal
    total_credit: Decimal
    balance: Decimal


@dataclass(frozen=True)
class TrialBalance:
    rows: tuple[TrialBalanceRow, ...]
    total_debit: Decimal
    total_credit: Decimal

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


def check_known(accounts: Iterable[ChartAccount], activity: Mapping[str, Totals]) -> None:
    """An amount on an account missing from the chart is an error, never left out: a report
    that silently dropped a line would hide exactly what it exists to show."""
    unknown = sorted(set(activity) - {account.code for account in accounts})
    if unknown:
        raise ValueError(f"activity on accounts missing from the chart: {', '.join(unknown)}")


def trial_balance(accounts: Iterable[ChartAccount], activity: Mapping[str, Totals]) -> TrialBalance:
    """One row per account (in code order) from its (total debits, total credits)."""
    listed = sorted(accounts, key=lambda account: account.code)
    check_known(listed, activity)
    rows = []
    for account in listed:
        debit, credit = activity.get(account.code, NO_ACTIVITY)
        rows.append(
            TrialBalanceRow(
                code=account.code,
                name=account.name,
                account_type=account.account_type,
                normal_side=account.normal_side,
                total_debit=debit,
                total_credit=credit,
                balance=account_balance(account.account_type, debit, credit),
            )
        )
    return TrialBalance(
        rows=tuple(rows),
        total_debit=sum((row.total_debit for row in rows), ZERO),
        total_credit=sum((row.total_credit for row in rows), ZERO),
    )


# --------------------------------------------------------------------------------------------
# General ledger
# --------------------------------------------------------------------------------------------


def running_balances(
    account_type: AccountType, opening: Decimal, movements: Iterable[Totals]
) -> list[Decimal]:
    """The balance after each (debit, credit), on the account's normal side, from `opening`."""
    balance = opening
    result = []
    for debit, credit in movements:
        balance += account_balance(account_type, debit, credit)
        result.append(balance)
    return result


# --------------------------------------------------------------------------------------------
# Profit and loss, balance sheet
# --------------------------------------------------------------------------------------------


class PnlSection(StrEnum):
    REVENUE = "revenue"
    COST_OF_GOODS_SOLD = "cost_of_goods_sold"
    SCRAP = "scrap"
    OTHER_EXPENSES = "other_expenses"


def pnl_section(account: ChartAccount, roles: Mapping[PostingRole, str]) -> PnlSection | None:
    """Where an account shows on the P&L: revenue; COGS (the COGS role's account or subtype
    cost_of_sales); scrap (the scrap role's account or subtype production_loss); any other
    expense; None for balance-sheet accounts."""
    if account.account_type is AccountType.REVENUE:
        return PnlSection.REVENUE
    if account.account_type is not AccountType.EXPENSE:
        return None
    if account.code == roles[PostingRole.COST_OF_GOODS_SOLD] or account.subtype == "cost_of_sales":
        return PnlSection.COST_OF_GOODS_SOLD
    if account.code == roles[PostingRole.SCRAP] or account.subtype == "production_loss":
        return PnlSection.SCRAP
    return PnlSection.OTHER_EXPENSES


@dataclass(frozen=True)
class AmountRow:
    """An account's amount in a statement, on its normal side (`code` None for a computed
    line such as the current year's earnings)."""

    code: str | None
    name: str
    amount: Decimal


@dataclass(frozen=True)
class Section:
    key: str
    rows: tuple[AmountRow, ...]

    @property
    def total(self) -> Decimal:
        return sum((row.amount for row in self.rows), ZERO)


@dataclass(frozen=True)
class ProfitAndLoss:
    sections: tuple[Section, ...]

    def total(self, key: PnlSection) -> Decimal:
        return next(section.total for section in self.sections if section.key == key)

    @property
    def revenue(self) -> Decimal:
        return self.total(PnlSection.REVENUE)

    @property
    def cost_of_goods_sold(self) -> Decimal:
        return self.total(PnlSection.COST_OF_GOODS_SOLD)

    @property
    def gross_profit(self) -> Decimal:
        return self.revenue - self.cost_of_goods_sold

    @property
    def scrap(self) -> Decimal:
        return self.total(PnlSection.SCRAP)

    @property
    def other_expenses(self) -> Decimal:
        return self.total(PnlSection.OTHER_EXPENSES)

    @property
    def net_income(self) -> Decimal:
        return self.gross_profit - self.scrap - self.other_expenses


def profit_and_loss(
    accounts: Iterable[ChartAccount],
    activity: Mapping[str, Totals],
    roles: Mapping[PostingRole, str],
) -> ProfitAndLoss:
    """Revenue, COGS, scrap and other expenses by account, from the period's activity."""
    listed = sorted(accounts, key=lambda account: account.code)
    check_known(listed, activity)
    rows: dict[PnlSection, list[AmountRow]] = {section: [] for section in PnlSection}
    for account in listed:
        section = pnl_section(account, roles)
        if section is None:
            continue
        debit, credit = activity.get(account.code, NO_ACTIVITY)
        amount = account_balance(account.account_type, debit, credit)
        rows[section].append(AmountRow(account.code, account.name, amount))
    return ProfitAndLoss(tuple(Section(key, tuple(rows[key])) for key in PnlSection))


def earnings(accounts: Iterable[ChartAccount], activity: Mapping[str, Totals]) -> Decimal:
    """Revenue less expenses over the activity given."""
    total = ZERO
    for account in accounts:
        if account.account_type in (AccountType.REVENUE, AccountType.EXPENSE):
            debit, credit = activity.get(account.code, NO_ACTIVITY)
            total += credit - debit
    return total


class BalanceSheetLine(StrEnum):
    """Equity lines computed from the P&L accounts rather than posted to an account."""

    CURRENT_YEAR_EARNINGS = "current_year_earnings"
    EARLIER_EARNINGS = "earlier_earnings"


@dataclass(frozen=True)
class BalanceSheet:
    assets: Section
    liabilities: Section
    equity: Section
    current_year_earnings: Decimal
    earlier_earnings: Decimal

    @property
    def total_liabilities_and_equity(self) -> Decimal:
        return self.liabilities.total + self.equity.total

    @property
    def balanced(self) -> bool:
        return self.assets.total == self.total_liabilities_and_equity


def balance_sheet(
    accounts: Iterable[ChartAccount],
    to_date: Mapping[str, Totals],
    before_year: Mapping[str, Totals],
    line_names: Mapping[BalanceSheetLine, str],
) -> BalanceSheet:
    """Assets, liabilities and equity as of a day, from the activity up to it (`to_date`) and
    up to the end of the year before (`before_year`).

    The books are not closed into retained earnings by an entry, so the revenue and expense
    accounts still hold every year's result: equity shows this year's earnings as a line, and
    earlier years' as another when any are left (an accountant who posts the year-end closing
    entry brings that one to zero). Assets then equal liabilities plus equity whenever the
    trial balance balances.
    """
    listed = sorted(accounts, key=lambda account: account.code)
    check_known(listed, to_date)
    sections: dict[AccountType, list[AmountRow]] = {
        AccountType.ASSET: [],
        AccountType.LIABILITY: [],
        AccountType.EQUITY: [],
    }
    for account in listed:
        if account.account_type in sections:
            debit, credit = to_date.get(account.code, NO_ACTIVITY)
            sections[account.account_type].append(
                AmountRow(
                    account.code, account.name, account_balance(account.account_type, debit, credit)
                )
            )
    earlier = earnings(listed, before_year)
    current = earnings(listed, to_date) - earlier
    equity = sections[AccountType.EQUITY]
    if earlier != 0:
        equity.append(AmountRow(None, line_names[BalanceSheetLine.EARLIER_EARNINGS], earlier))
    equity.append(AmountRow(None, line_names[BalanceSheetLine.CURRENT_YEAR_EARNINGS], current))
    return BalanceSheet(
        assets=Section(AccountType.ASSET, tuple(sections[AccountType.ASSET])),
        liabilities=Section(AccountType.LIABILITY, tuple(sections[AccountType.LIABILITY])),
        equity=Section(AccountType.EQUITY, tuple(equity)),
        current_year_earnings=current,
        earlier_earnings=earlier,
    )


# --------------------------------------------------------------------------------------------
# COGS by item
# --------------------------------------------------------------------------------------------


class CostKind(StrEnum):
    COST_OF_GOODS_SOLD = "cost_of_goods_sold"
    SCRAP = "scrap"
    INVENTORY_ADJUSTMENTS = "inventory_adjustments"


COST_ROLES: dict[PostingRole, CostKind] = {
    PostingRole.COST_OF_GOODS_SOLD: CostKind.COST_OF_GOODS_SOLD,
    PostingRole.SCRAP: CostKind.SCRAP,
    PostingRole.INVENTORY_ADJUSTMENTS: CostKind.INVENTORY_ADJUSTMENTS,
}


def cost_accounts(roles: Mapping[PostingRole, str]) -> dict[str, CostKind]:
    """The account of each kind of cost (the first role wins if two share an account)."""
    result: dict[str, CostKind] = {}
    for role, kind in COST_ROLES.items():
        result.setdefault(roles[role], kind)
    return result


@dataclass(frozen=True)
class ItemCosts:
    sku: str | None
    cost_of_goods_sold: Decimal = ZERO
    scrap: Decimal = ZERO
    inventory_adjustments: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.cost_of_goods_sold + self.scrap + self.inventory_adjustments


def costs_by_item(
    activity: Iterable[tuple[str | None, str, Decimal, Decimal]], accounts: Mapping[str, CostKind]
) -> tuple[list[ItemCosts], ItemCosts]:
    """Per item (SKU order, lines without an item last) and in total, from (sku, account,
    debits, credits): an expense grows with debits, so a gain found by a count is negative."""
    figures: dict[str | None, dict[CostKind, Decimal]] = {}
    for sku, code, debit, credit in activity:
        kind = accounts.get(code)
        if kind is None:
            continue
        by_kind = figures.setdefault(sku, dict.fromkeys(CostKind, ZERO))
        by_kind[kind] += debit - credit
    ordered = sorted(figures.items(), key=lambda pair: (pair[0] is None, pair[0] or ""))
    rows = [ItemCosts(sku, *(by_kind[kind] for kind in CostKind)) for sku, by_kind in ordered]
    total = ItemCosts(
        None,
        *(sum((getattr(row, str(kind)) for row in rows), ZERO) for kind in CostKind),
    )
    return rows, total


# --------------------------------------------------------------------------------------------
# Inventory accounts and the reconciliation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryAccount:
    """An account that holds inventory and the valuation classes it holds (one, unless the
    posting accounts give two roles the same account)."""

    code: str
    classes: tuple[InventoryClass, ...]


def inventory_accounts(roles: Mapping[PostingRole, str]) -> list[InventoryAccount]:
    """The distinct inventory accounts, in role order (raw, WIP, finished)."""
    classes: dict[str, list[InventoryClass]] = {}
    for role, kind in INVENTORY_ROLES.items():
        classes.setdefault(roles[role], []).append(kind)
    return [InventoryAccount(code, tuple(kinds)) for code, kinds in classes.items()]


def account_of_class(accounts: Sequence[InventoryAccount]) -> dict[InventoryClass, str]:
    return {kind: account.code for account in accounts for kind in account.classes}


@dataclass(frozen=True)
class ReconciledAccount:
    code: str
    classes: tuple[InventoryClass, ...]
    gl_balance: Decimal
    inventory_value: Decimal

    @property
    def difference(self) -> Decimal:
        return self.gl_balance - self.inventory_value

    @property
    def flagged(self) -> bool:
        return abs(self.difference) > TOLERANCE


def reconcile_accounts(
    accounts: Sequence[InventoryAccount],
    gl_balances: Mapping[str, Decimal],
    class_values: Mapping[InventoryClass, Decimal],
) -> list[ReconciledAccount]:
    """Each inventory account's GL balance (debit side) beside inventory's value of its
    classes."""
    return [
        ReconciledAccount(
            account.code,
            account.classes,
            gl_balances.get(account.code, ZERO),
            sum((class_values.get(kind, ZERO) for kind in account.classes), ZERO),
        )
        for account in accounts
    ]


@dataclass(frozen=True)
class Difference:
    """One figure both sides should agree on: the GL's (debits less credits on the account)
    and inventory's (value in less value out of the class)."""

    gl_amount: Decimal
    inventory_amount: Decimal

    @property
    def difference(self) -> Decimal:
        return self.gl_amount - self.inventory_amount


@dataclass(frozen=True)
class ItemDifference(Difference):
    account_code: str
    sku: str | None


@dataclass(frozen=True)
class DocumentDifference(Difference):
    document_type: str
    document_ref: str
    account_code: str
    items: tuple[ItemDifference, ...] = field(default=())


DocumentKey = tuple[str, str, str, str | None]  # (document type, document, account, sku)


def itemised_accounts(accounts: Sequence[InventoryAccount]) -> frozenset[str]:
    """The inventory accounts whose item dimension means what inventory's items mean: every
    one but WIP's. A WIP line carries the component when it is issued and the product when
    the order's output relieves it, while inventory's WIP is by component, so WIP compares by
    document (the production order) only."""
    return frozenset(
        account.code for account in accounts if InventoryClass.WIP not in account.classes
    )


def document_differences(
    gl: Mapping[DocumentKey, Decimal],
    inventory: Iterable[tuple[str, str, InventoryClass, str, Decimal]],
    class_accounts: Mapping[InventoryClass, str],
    itemised: frozenset[str],
) -> list[DocumentDifference]:
    """The documents whose value on an inventory account differs between the GL (per
    document, account and item) and inventory (per document, class and item; a class is read
    as its account), each with the items that differ on an `itemised` account; largest
    difference first."""
    inventory_by_key: dict[DocumentKey, Decimal] = {}
    for doc_type, doc_ref, kind, item_sku, value in inventory:
        key: DocumentKey = (doc_type, doc_ref, class_accounts[kind], item_sku)
        inventory_by_key[key] = inventory_by_key.get(key, ZERO) + value
    documents: dict[tuple[str, str, str], list[ItemDifference]] = {}
    for key in set(gl) | set(inventory_by_key):
        document_type, document_ref, code, sku = key
        item = ItemDifference(
            gl.get(key, ZERO), inventory_by_key.get(key, ZERO), account_code=code, sku=sku
        )
        documents.setdefault((document_type, document_ref, code), []).append(item)
    result = []
    for (document_type, document_ref, code), items in documents.items():
        gl_amount = sum((item.gl_amount for item in items), ZERO)
        inventory_amount = sum((item.inventory_amount for item in items), ZERO)
        if gl_amount == inventory_amount:
            continue
        differing = tuple(
            sorted(
                (item for item in items if item.difference != 0),
                key=lambda item: (item.sku is None, item.sku or ""),
            )
        )
        result.append(
            DocumentDifference(
                gl_amount,
                inventory_amount,
                document_type=document_type,
                document_ref=document_ref,
                account_code=code,
                items=differing if code in itemised else (),
            )
        )
    result.sort(key=lambda d: (-abs(d.difference), d.document_type, d.document_ref, d.account_code))
    return result


def item_differences(
    gl: Mapping[tuple[str, str | None], Decimal],
    inventory: Iterable[tuple[str, InventoryClass, Decimal]],
    class_accounts: Mapping[InventoryClass, str],
    itemised: frozenset[str],
) -> list[ItemDifference]:
    """The items whose balance on an `itemised` inventory account differs from inventory's
    value of them in the account's classes; largest difference first."""
    inventory_by_key: dict[tuple[str, str | None], Decimal] = {}
    for sku, kind, value in inventory:
        key = (class_accounts[kind], sku)
        inventory_by_key[key] = inventory_by_key.get(key, ZERO) + value
    differing = [
        ItemDifference(gl.get(key, ZERO), inventory_by_key.get(key, ZERO), key[0], key[1])
        for key in set(gl) | set(inventory_by_key)
        if key[0] in itemised
    ]
    return sorted(
        (item for item in differing if item.difference != 0),
        key=lambda d: (-abs(d.difference), d.account_code, d.sku is None, d.sku or ""),
    )


# --------------------------------------------------------------------------------------------
# Ledger check
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerMismatch:
    """An account whose kept day balances differ from its lines, and the days that differ."""

    code: str
    kept_debit: Decimal
    kept_credit: Decimal
    lines_debit: Decimal
    lines_credit: Decimal
    days: tuple[date, ...]


def ledger_mismatches(
    kept: Mapping[tuple[str, date], Totals], lines: Mapping[tuple[str, date], Totals]
) -> list[LedgerMismatch]:
    """Compare the kept (account, day) totals with the lines' (account, day) sums; the
    accounts with any day that differs, in code order, each with its totals and those days."""
    days: dict[str, list[date]] = {}
    for key in set(kept) | set(lines):
        if kept.get(key, NO_ACTIVITY) != lines.get(key, NO_ACTIVITY):
            days.setdefault(key[0], []).append(key[1])
    result = []
    for code in sorted(days):
        kept_debit = sum((d for (c, _day), (d, _c) in kept.items() if c == code), ZERO)
        kept_credit = sum((cr for (c, _day), (_d, cr) in kept.items() if c == code), ZERO)
        lines_debit = sum((d for (c, _day), (d, _c) in lines.items() if c == code), ZERO)
        lines_credit = sum((cr for (c, _day), (_d, cr) in lines.items() if c == code), ZERO)
        result.append(
            LedgerMismatch(
                code,
                kept_debit,
                kept_credit,
                lines_debit,
                lines_credit,
                tuple(sorted(days[code])),
            )
        )
    return result
