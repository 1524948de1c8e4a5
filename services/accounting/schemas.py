"""Request and response bodies of accounting's ledger API: accounts, posting accounts, journal
entries (manual ones and reversals), periods."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.accounting.domain import (
    FIRST_YEAR,
    LAST_YEAR,
    AccountType,
    DocumentType,
    NormalSide,
    PostingRole,
)
from shared.values import Amount4

AccountCodeIn = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=10, pattern=r"^[0-9A-Za-z.-]+$"
    ),
]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
Memo = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
# A day of the books' years (domain.FIRST_YEAR to LAST_YEAR).
BookDate = Annotated[date, Field(ge=date(FIRST_YEAR, 1, 1), le=date(LAST_YEAR, 12, 31))]


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    account_type: AccountType
    subtype: str | None
    active: bool
    quickbooks_account_id: str | None = None
    normal_side: NormalSide | None = None


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
    event_date: date | None = None
    posted_by: str | None = None


class JournalEntryOut(JournalEntrySummaryOut):
    reversed_by_number: str | None = None
    lines: list[JournalLineOut]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: AccountCodeIn
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    account_type: AccountType
    subtype: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    quickbooks_account_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    subtype: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    active: bool | None = None
    quickbooks_account_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class PostingAccountOut(BaseModel):
    role: PostingRole
    account_code: str
    account_name: str


class PostingAccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_code: AccountCodeIn


class ManualLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_code: AccountCodeIn
    debit: Money = Decimal(0)
    credit: Money = Decimal(0)
    memo: Memo | None = None
    item_sku: Reference | None = None
    location: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] | None
    ) = None
    production_order: Reference | None = None
    sales_order: Reference | None = None
    purchase_order: Reference | None = None


class ManualEntryCreate(BaseModel):
    """POST /api/v1/journal-entries: an accountant's entry; the same checks as any posting."""

    model_config = ConfigDict(extra="forbid")

    entry_date: BookDate
    memo: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    document_type: DocumentType | None = None
    document_ref: Reference | None = None
    lines: Annotated[list[ManualLineIn], Field(min_length=2, max_length=200)]


class ReversalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry_date: BookDate | None = None
    memo: Memo | None = None


class PeriodOut(BaseModel):
    period: str
    first_day: date
    last_day: date
    status: str
    changed_at: datetime | None = None
    changed_by: str | None = None
    entries: int = 0


class EntryTypeOut(BaseModel):
    entry_type: str
    label: str
