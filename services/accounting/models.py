"""Accounting's own tables: the chart of accounts, the journal and its gapless numbering, the
balances kept per account and day, the periods, the accounts the posting rules use, and the
read model of items (which inventory account an item's stock sits in).

Journal entries and lines are append-only (DESIGN §5): the migration adds database triggers that
refuse UPDATE and DELETE on them, and on PostgreSQL a deferred constraint trigger that refuses a
transaction leaving an entry whose lines do not balance. A correction is a reversing entry.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.messaging.tables import Id, messaging_tables
from shared.types import Amount, UtcDateTime


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
messaging = messaging_tables(metadata)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "account_type IN ('asset', 'liability', 'equity', 'revenue', 'expense')",
            name="ck_accounts_account_type",
        ),
    )

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    account_type: Mapped[str] = mapped_column(String(16))
    subtype: Mapped[str | None] = mapped_column(String(40), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The QuickBooks Online account id this account maps to in the webhook feed.
    quickbooks_account_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class JournalEntry(Base):
    """One posted entry; `source_event_id` is unique so an event can post at most once."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        CheckConstraint("total_debit = total_credit", name="ck_journal_entries_balanced"),
        CheckConstraint("total_debit > 0", name="ck_journal_entries_positive"),
        Index("ix_journal_entries_entry_date", "entry_date"),
        Index("ix_journal_entries_entry_type", "entry_type"),
        Index("ix_journal_entries_document_ref", "document_ref"),
        # An entry is reversed at most once.
        Index("uq_journal_entries_reverses_number", "reverses_number", unique=True),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    entry_date: Mapped[date] = mapped_column(Date)
    entry_type: Mapped[str] = mapped_column(String(40))
    source_event_id: Mapped[str | None] = mapped_column(String(36), unique=True, nullable=True)
    source_event_type: Mapped[str | None] = mapped_column(String(80), nullable=True)
    document_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    document_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    memo: Mapped[str] = mapped_column(String(500), default="")
    total_debit: Mapped[Decimal] = mapped_column(Amount())
    total_credit: Mapped[Decimal] = mapped_column(Amount())
    reverses_number: Mapped[str | None] = mapped_column(
        ForeignKey("journal_entries.number"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The business date of the event when it fell in a closed period (entry_date is then the
    # first day of the next open period); None when posted on its own date.
    event_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Who posted a manual entry or a reversal (the user's login); None for event postings.
    posted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    lines: Mapped[list[JournalLine]] = relationship(
        order_by="JournalLine.line_no", lazy="raise", passive_deletes="all"
    )


class JournalLine(Base):
    """One side of an entry: a positive amount on exactly one of debit or credit."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        UniqueConstraint("entry_id", "line_no", name="uq_journal_lines_entry_line"),
        CheckConstraint("debit >= 0 AND credit >= 0", name="ck_journal_lines_not_negative"),
        CheckConstraint(
            "(debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0)",
            name="ck_journal_lines_one_side",
        ),
        Index("ix_journal_lines_account_code", "account_code"),
        Index("ix_journal_lines_entry_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    account_code: Mapped[str] = mapped_column(ForeignKey("accounts.code"))
    debit: Mapped[Decimal] = mapped_column(Amount())
    credit: Mapped[Decimal] = mapped_column(Amount())
    item_sku: Mapped[str | None] = mapped_column(String(64), nullable=True)
    location: Mapped[str | None] = mapped_column(String(16), nullable=True)
    production_order: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sales_order: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purchase_order: Mapped[str | None] = mapped_column(String(64), nullable=True)
    memo: Mapped[str | None] = mapped_column(String(500), nullable=True)


class JournalSequence(Base):
    """The last entry number given per year; taken by an upsert inside the posting transaction,
    so a rollback gives the number back and concurrent posters queue on the year's row."""

    __tablename__ = "journal_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class AccountDayBalance(Base):
    """Debits and credits posted to one account on one day, kept in the posting transaction.

    A trial balance as of a date sums these rows (accounts by days), not the journal lines, so
    it does not grow with the number of lines; `GET /reports/ledger-check` proves they agree.
    """

    __tablename__ = "account_day_balances"

    account_code: Mapped[str] = mapped_column(ForeignKey("accounts.code"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    debit: Mapped[Decimal] = mapped_column(Amount())
    credit: Mapped[Decimal] = mapped_column(Amount())


class Period(Base):
    """A calendar month of the books, 'YYYY-MM'. A month without a row is open."""

    __tablename__ = "periods"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="ck_periods_status"),)

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    changed_by: Mapped[str] = mapped_column(String(64))


class PostingAccount(Base):
    """Which account a posting rule uses for each role (raw_materials -> 1200, ...)."""

    __tablename__ = "posting_accounts"

    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_code: Mapped[str] = mapped_column(ForeignKey("accounts.code"))


class LedgerItem(Base):
    """Read model of inventory's items (ItemUpserted): a made item's stock is finished goods,
    a bought item's is raw material, wherever it is stored (docs/accounting.md)."""

    __tablename__ = "ledger_items"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    make_or_buy: Mapped[str] = mapped_column(String(4))
    item_type: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(Integer)


class LedgerSetting(Base):
    """Values of the service's settings the posting rules need where no request is at hand
    (the plant's time zone, for the business date of an event); written at every start."""

    __tablename__ = "ledger_settings"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
