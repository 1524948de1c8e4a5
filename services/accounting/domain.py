"""Accounting rules on plain values: the chart of accounts, a journal draft and its balance check,
the posting rule of each event, entry numbers, and the trial balance arithmetic.

No database here; `service.py` turns a draft into rows, numbers it and stores it. Accounting
never computes a cost: a posting rule moves the value the event carries (DESIGN §3), so the
inventory sub-ledger and the general ledger agree by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from shared.values import FOUR_PLACES

ENTRY_NUMBER_DIGITS = 5


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"


class NormalSide(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


def normal_side(account_type: AccountType) -> NormalSide:
    """Assets and expenses grow with debits; liabilities, equity and revenue with credits."""
    if account_type in (AccountType.ASSET, AccountType.EXPENSE):
        return NormalSide.DEBIT
    return NormalSide.CREDIT


class AccountCode(StrEnum):
    CASH = "1000"
    ACCOUNTS_RECEIVABLE = "1100"
    RAW_MATERIALS = "1200"
    WORK_IN_PROGRESS = "1210"
    FINISHED_GOODS = "1220"
    ACCOUNTS_PAYABLE = "2000"
    OWNERS_EQUITY = "3000"
    RETAINED_EARNINGS = "3100"
    OPENING_BALANCE_EQUITY = "3900"
    REVENUE = "4000"
    COST_OF_GOODS_SOLD = "5000"
    SCRAP = "5400"
    INVENTORY_ADJUSTMENTS = "5500"


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    account_type: AccountType
    subtype: str

    @property
    def normal_side(self) -> NormalSide:
        return normal_side(self.account_type)


# DESIGN §3: the accounts the posting rules of the business events use.
CHART_OF_ACCOUNTS: tuple[ChartAccount, ...] = (
    ChartAccount(AccountCode.CASH, "Cash", AccountType.ASSET, "cash"),
    ChartAccount(
        AccountCode.ACCOUNTS_RECEIVABLE, "Accounts receivable", AccountType.ASSET, "receivable"
    ),
    ChartAccount(
        AccountCode.RAW_MATERIALS, "Raw materials inventory", AccountType.ASSET, "inventory"
    ),
    ChartAccount(AccountCode.WORK_IN_PROGRESS, "Work in progress", AccountType.ASSET, "inventory"),
    ChartAccount(AccountCode.FINISHED_GOODS, "Finished goods", AccountType.ASSET, "inventory"),
    ChartAccount(
        AccountCode.ACCOUNTS_PAYABLE, "Accounts payable", AccountType.LIABILITY, "payable"
    ),
    ChartAccount(AccountCode.OWNERS_EQUITY, "Owner's equity", AccountType.EQUITY, "capital"),
    ChartAccount(
        AccountCode.RETAINED_EARNINGS, "Retained earnings", AccountType.EQUITY, "retained_earnings"
    ),
    # What the stock a plant brought into the portal was worth (inventory's opening_balance
    # adjustments); the accountant clears it into capital once the opening balances are in.
    ChartAccount(
        AccountCode.OPENING_BALANCE_EQUITY,
        "Opening balance equity",
        AccountType.EQUITY,
        "opening_balance",
    ),
    ChartAccount(AccountCode.REVENUE, "Revenue", AccountType.REVENUE, "sales"),
    ChartAccount(
        AccountCode.COST_OF_GOODS_SOLD, "Cost of goods sold", AccountType.EXPENSE, "cost_of_sales"
    ),
    ChartAccount(AccountCode.SCRAP, "Scrap", AccountType.EXPENSE, "production_loss"),
    ChartAccount(
        AccountCode.INVENTORY_ADJUSTMENTS,
        "Inventory adjustments",
        AccountType.EXPENSE,
        "inventory_adjustment",
    ),
)


class EntryType(StrEnum):
    MATERIAL_RECEIPT = "material_receipt"
    MATERIAL_ISSUE = "material_issue"
    MATERIAL_RETURN = "material_return"
    PRODUCTION_OUTPUT = "production_output"
    QC_SCRAP = "qc_scrap"
    STOCK_ADJUSTMENT = "stock_adjustment"
    SHIPMENT = "shipment"
    CUSTOMER_PAYMENT = "customer_payment"
    VENDOR_PAYMENT = "vendor_payment"
    MANUAL = "manual"
    REVERSAL = "reversal"


class DocumentType(StrEnum):
    PURCHASE_ORDER = "purchase_order"
    PRODUCTION_ORDER = "production_order"
    SALES_ORDER = "sales_order"
    ADJUSTMENT = "adjustment"
    VENDOR_BILL = "vendor_bill"


class PostingRole(StrEnum):
    """What a posting rule needs an account for; the account of each is a setting
    (`posting_accounts`), seeded with the standard chart's."""

    RAW_MATERIALS = "raw_materials"
    WORK_IN_PROGRESS = "work_in_progress"
    FINISHED_GOODS = "finished_goods"
    ACCOUNTS_PAYABLE = "accounts_payable"
    ACCOUNTS_RECEIVABLE = "accounts_receivable"
    CASH = "cash"
    REVENUE = "revenue"
    COST_OF_GOODS_SOLD = "cost_of_goods_sold"
    SCRAP = "scrap"
    INVENTORY_ADJUSTMENTS = "inventory_adjustments"
    OPENING_BALANCE_EQUITY = "opening_balance_equity"


DEFAULT_POSTING_ACCOUNTS: dict[PostingRole, str] = {
    PostingRole.RAW_MATERIALS: AccountCode.RAW_MATERIALS,
    PostingRole.WORK_IN_PROGRESS: AccountCode.WORK_IN_PROGRESS,
    PostingRole.FINISHED_GOODS: AccountCode.FINISHED_GOODS,
    PostingRole.ACCOUNTS_PAYABLE: AccountCode.ACCOUNTS_PAYABLE,
    PostingRole.ACCOUNTS_RECEIVABLE: AccountCode.ACCOUNTS_RECEIVABLE,
    PostingRole.CASH: AccountCode.CASH,
    PostingRole.REVENUE: AccountCode.REVENUE,
    PostingRole.COST_OF_GOODS_SOLD: AccountCode.COST_OF_GOODS_SOLD,
    PostingRole.SCRAP: AccountCode.SCRAP,
    PostingRole.INVENTORY_ADJUSTMENTS: AccountCode.INVENTORY_ADJUSTMENTS,
    PostingRole.OPENING_BALANCE_EQUITY: AccountCode.OPENING_BALANCE_EQUITY,
}

# The roles whose accounts hold inventory, and the class inventory's valuation calls each.
INVENTORY_ROLES: dict[PostingRole, str] = {
    PostingRole.RAW_MATERIALS: "raw",
    PostingRole.WORK_IN_PROGRESS: "wip",
    PostingRole.FINISHED_GOODS: "finished",
}


class UnbalancedEntry(ValueError):
    """A journal draft that must not be posted: unequal sides, or a line that moves nothing."""


@dataclass(frozen=True)
class Dimensions:
    """What a line is about, for reports: the item, place and orders behind the amount."""

    item_sku: str | None = None
    location: str | None = None
    production_order: str | None = None
    sales_order: str | None = None
    purchase_order: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The dimensions that are set, by name (the JournalPosted line's `dimensions`)."""
        values = {
            "item_sku": self.item_sku,
            "location": self.location,
            "production_order": self.production_order,
            "sales_order": self.sales_order,
            "purchase_order": self.purchase_order,
        }
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class DraftLine:
    account_code: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    dimensions: Dimensions = field(default_factory=Dimensions)
    memo: str | None = None


@dataclass(frozen=True)
class JournalDraft:
    """An entry before it has a number: what a posting rule proposes and the service stores."""

    entry_date: date
    entry_type: str
    lines: tuple[DraftLine, ...]
    memo: str = ""
    document_type: str | None = None
    document_ref: str | None = None

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal(0))

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal(0))

    def check_balanced(self) -> None:
        """Raise `UnbalancedEntry` unless every line moves a positive amount on exactly one side,
        at most four decimals, and debits equal credits."""
        if len(self.lines) < 2:
            raise UnbalancedEntry("a journal entry needs at least two lines")
        for number, line in enumerate(self.lines, start=1):
            _check_line(number, line)
        if self.total_debit != self.total_credit:
            raise UnbalancedEntry(
                f"entry does not balance: debits {self.total_debit} != credits {self.total_credit}"
            )


def _check_line(number: int, line: DraftLine) -> None:
    where = f"line {number} ({line.account_code})"
    if line.debit < 0 or line.credit < 0:
        raise UnbalancedEntry(f"{where} has a negative amount")
    if (line.debit > 0) == (line.credit > 0):
        raise UnbalancedEntry(f"{where} must have exactly one of debit or credit above zero")
    amount = line.debit or line.credit
    if amount.quantize(FOUR_PLACES) != amount:
        # The producer rounds its values; the ledger stores them as sent or not at all.
        raise UnbalancedEntry(f"{where} amount {amount} has more than 4 decimals")


def format_entry_number(year: int, number: int) -> str:
    """JE-2026-00001: the year of the entry date and its gapless number within that year."""
    if not 1 <= year <= 9999:
        raise ValueError(f"year {year} is out of range")
    if number < 1:
        raise ValueError("entry numbers start at 1")
    return f"JE-{year:04d}-{number:0{ENTRY_NUMBER_DIGITS}d}"


# --------------------------------------------------------------------------------------------
# Periods and reversals
# --------------------------------------------------------------------------------------------


def period_of(day: date) -> str:
    """'2026-11': the month of the books a day belongs to."""
    return f"{day.year:04d}-{day.month:02d}"


def first_day_of_next_period(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


# The years the books take: entries, periods and reports (a year outside is a typing error).
FIRST_YEAR, LAST_YEAR = 2000, 2999
_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)


def parse_period(text: str) -> date:
    """The first day of a 'YYYY-MM' period of the books' years; ValueError when it is not
    one."""
    found = _PERIOD.fullmatch(text)
    if found is None or not FIRST_YEAR <= int(found[1]) <= LAST_YEAR:
        raise ValueError(f"'{text}' is not a period written YYYY-MM")
    return date(int(found[1]), int(found[2]), 1)


def open_posting_date(day: date, closed: Iterable[str]) -> date:
    """`day` if its period is open, else the first day of the next open period after it."""
    closed_periods = set(closed)
    while period_of(day) in closed_periods:
        day = first_day_of_next_period(day)
    return day


def reversal_of(
    original: JournalDraft, number: str, entry_date: date, memo: str | None = None
) -> JournalDraft:
    """The mirror entry: every line on the other side, the same dimensions and document."""
    return JournalDraft(
        entry_date=entry_date,
        entry_type=EntryType.REVERSAL,
        document_type=original.document_type,
        document_ref=original.document_ref,
        memo=memo or f"Reversal of {number}",
        lines=tuple(
            DraftLine(
                line.account_code,
                debit=line.credit,
                credit=line.debit,
                dimensions=line.dimensions,
                memo=line.memo,
            )
            for line in original.lines
        ),
    )


def plain_number(value: Decimal) -> str:
    """A quantity as people write it: 100, 2.5 (no exponent, no trailing zeros)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
