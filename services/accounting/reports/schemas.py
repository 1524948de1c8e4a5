"""Response bodies of the accounting reports, and the parts of inventory's valuation answers
the reconciliation reads (accounting imports nothing of inventory's code: DESIGN §2)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from services.accounting.domain import AccountType, NormalSide
from services.accounting.reports.domain import InventoryClass, PnlSection
from shared.values import Amount4

# --- trial balance (the fields of the first TrialBalanceOut, which the gateway page reads) ---


class TrialBalanceRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    account_type: AccountType
    normal_side: NormalSide
    total_debit: Amount4
    total_credit: Amount4
    balance: Amount4


class TrialBalanceOut(BaseModel):
    as_of: date
    rows: list[TrialBalanceRowOut]
    total_debit: Amount4
    total_credit: Amount4
    balanced: bool


# --- general ledger ---------------------------------------------------------------------------


class LedgerAccountOut(BaseModel):
    code: str
    name: str
    account_type: AccountType
    normal_side: NormalSide
    active: bool


class GeneralLedgerLineOut(BaseModel):
    entry_number: str
    entry_date: date
    entry_type: str
    document_type: str | None
    document_ref: str | None
    memo: str
    debit: Amount4
    credit: Amount4
    balance: Amount4
    item_sku: str | None
    location: str | None
    production_order: str | None
    sales_order: str | None
    purchase_order: str | None


class GeneralLedgerOut(BaseModel):
    """One account's lines dated `date_from`..`date_to`, oldest first, a page of them (`limit`
    from `offset`; `has_more` when another page follows), each with the balance after it; the
    opening balance is the account's balance at the end of the day before `date_from`, the
    closing one at the end of `date_to`, and the totals are the whole range's."""

    account: LedgerAccountOut
    date_from: date
    date_to: date
    opening_balance: Amount4
    total_debit: Amount4
    total_credit: Amount4
    closing_balance: Amount4
    limit: int
    offset: int
    has_more: bool
    lines: list[GeneralLedgerLineOut]


# --- statements ---------------------------------------------------------------------------------


class AmountRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str | None
    name: str
    amount: Amount4


class PnlSectionOut(BaseModel):
    section: PnlSection
    title: str
    rows: list[AmountRowOut]
    total: Amount4


class ProfitAndLossOut(BaseModel):
    date_from: date
    date_to: date
    sections: list[PnlSectionOut]
    revenue: Amount4
    cost_of_goods_sold: Amount4
    gross_profit: Amount4
    scrap: Amount4
    other_expenses: Amount4
    net_income: Amount4


class StatementSectionOut(BaseModel):
    title: str
    rows: list[AmountRowOut]
    total: Amount4


class BalanceSheetOut(BaseModel):
    """Equity includes the current year's earnings (and earlier years' not closed by an entry)
    as lines without an account code."""

    as_of: date
    assets: StatementSectionOut
    liabilities: StatementSectionOut
    equity: StatementSectionOut
    current_year_earnings: Amount4
    total_assets: Amount4
    total_liabilities_and_equity: Amount4
    balanced: bool


# --- COGS by item ---------------------------------------------------------------------------


class ItemCostsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str | None
    cost_of_goods_sold: Amount4
    scrap: Amount4
    inventory_adjustments: Amount4
    total: Amount4


class CostsByItemOut(BaseModel):
    date_from: date
    date_to: date
    accounts: dict[str, str]
    items: list[ItemCostsOut]
    totals: ItemCostsOut


# --- inventory accounts -----------------------------------------------------------------------


class ItemBalanceOut(BaseModel):
    sku: str | None
    balance: Amount4


class OrderBalanceOut(BaseModel):
    production_order: str | None
    balance: Amount4


class InventoryAccountOut(BaseModel):
    code: str
    name: str
    inventory_classes: list[InventoryClass]
    balance: Amount4
    items: list[ItemBalanceOut]
    production_orders: list[OrderBalanceOut]


class InventoryValuationOut(BaseModel):
    """The GL balance of each inventory account and, from its lines, per item (`sku` null for
    lines without one); the WIP account's per production order instead. Items and orders that
    net to zero are left out."""

    as_of: date
    accounts: list[InventoryAccountOut]
    total: Amount4


# --- reconciliation ---------------------------------------------------------------------------


class ReconciledAccountOut(BaseModel):
    code: str
    name: str
    inventory_classes: list[InventoryClass]
    gl_balance: Amount4
    inventory_value: Amount4
    difference: Amount4
    flagged: bool


class ItemDifferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_code: str
    sku: str | None
    gl_amount: Amount4
    inventory_amount: Amount4
    difference: Amount4


class DocumentDifferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    document_type: str
    document_ref: str
    account_code: str
    gl_amount: Amount4
    inventory_amount: Amount4
    difference: Amount4
    items: list[ItemDifferenceOut]


class ReconciliationOut(BaseModel):
    """Per inventory account, its GL balance beside inventory's value of its classes; when any
    is `flagged` (a difference above 0.01), the documents and the items whose figures differ,
    largest first (at most 500 of each; `document_count` and `item_count` say how many differ).

    `documents_checked` says the documents were compared (when flagged, unless `explain=false`);
    `explained` that the documents' differences add up to every account's difference (a
    difference no document accounts for would mean the kept day balances and the lines part:
    see the ledger check)."""

    as_of: date
    accounts: list[ReconciledAccountOut]
    total_gl: Amount4
    total_inventory: Amount4
    total_difference: Amount4
    flagged: bool
    documents_checked: bool
    explained: bool
    document_count: int
    item_count: int
    documents: list[DocumentDifferenceOut]
    items: list[ItemDifferenceOut]


# --- ledger check -----------------------------------------------------------------------------


class LedgerMismatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    kept_debit: Amount4
    kept_credit: Amount4
    lines_debit: Amount4
    lines_credit: Amount4
    days: list[date]


class LedgerCheckOut(BaseModel):
    """The kept day balances against a straight sum of the lines, per account and day."""

    matches: bool
    accounts_checked: int
    days_checked: int
    mismatches: list[LedgerMismatchOut]


# --- inventory's answers, as the reconciliation reads them -----------------------------------


class PeerClassValue(BaseModel):
    inventory_class: InventoryClass
    value: Amount4


class PeerValuation(BaseModel):
    classes: list[PeerClassValue]


class PeerDocumentItem(BaseModel):
    sku: str
    value: Amount4


class PeerDocumentValue(BaseModel):
    document_type: str
    document_ref: str
    inventory_class: InventoryClass
    items: list[PeerDocumentItem]


class PeerDocumentValues(BaseModel):
    documents: list[PeerDocumentValue]
