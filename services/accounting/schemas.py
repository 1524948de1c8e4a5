"""Response bodies of accounting's API (it has no commands yet: postings come from events)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from services.accounting.domain import AccountType, NormalSide
from shared.values import Amount4


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    account_type: AccountType
    subtype: str | None
    active: bool


class JournalLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    account_code: str
    debit: Amount4
    credit: Amount4
    item_sku: str | None
    location: str | None
    production_order: str | None
    sales_order: str | None
    purchase_order: str | None
    memo: str | None


class JournalEntrySummaryOut(BaseModel):
    """An entry in a list: its header, without the lines."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    entry_date: date
    entry_type: str
    source_event_id: str | None
    source_event_type: str | None
    document_type: str | None
    document_ref: str | None
    memo: str
    total_debit: Amount4
    total_credit: Amount4
    reverses_number: str | None
    created_at: datetime


class JournalEntryOut(JournalEntrySummaryOut):
    lines: list[JournalLineOut]


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
