"""ledger: day balances, periods, posting accounts, the item read model, ledger settings; the
QuickBooks account mapping, an entry's event date and poster, one reversal per entry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 03:30:00

Columns are added with plain ADD COLUMN (no batch copy), so the append-only triggers of
journal_entries on SQLite stay in place. Existing entries get day balances from their lines.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = shared.types.DecimalType(precision=18, scale=4)


def upgrade() -> None:
    op.add_column("accounts", sa.Column("quickbooks_account_id", sa.String(64), nullable=True))
    op.add_column("journal_entries", sa.Column("event_date", sa.Date(), nullable=True))
    op.add_column("journal_entries", sa.Column("posted_by", sa.String(64), nullable=True))
    op.create_index(
        "uq_journal_entries_reverses_number", "journal_entries", ["reverses_number"], unique=True
    )
    op.create_index("ix_journal_lines_entry_id", "journal_lines", ["entry_id"])
    op.create_table(
        "account_day_balances",
        sa.Column("account_code", sa.String(10), sa.ForeignKey("accounts.code"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("debit", AMOUNT, nullable=False),
        sa.Column("credit", AMOUNT, nullable=False),
        sa.PrimaryKeyConstraint("account_code", "day"),
    )
    op.create_table(
        "periods",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_periods_status"),
        sa.PrimaryKeyConstraint("period"),
    )
    op.create_table(
        "posting_accounts",
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("account_code", sa.String(10), sa.ForeignKey("accounts.code"), nullable=False),
        sa.PrimaryKeyConstraint("role"),
    )
    op.create_table(
        "ledger_items",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("make_or_buy", sa.String(4), nullable=False),
        sa.Column("item_type", sa.String(16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_table(
        "ledger_settings",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute(
        "INSERT INTO account_day_balances (account_code, day, debit, credit) "
        "SELECT l.account_code, e.entry_date, SUM(l.debit), SUM(l.credit) "
        "FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id "
        "GROUP BY l.account_code, e.entry_date"
    )


def downgrade() -> None:
    op.drop_table("ledger_settings")
    op.drop_table("ledger_items")
    op.drop_table("posting_accounts")
    op.drop_table("periods")
    op.drop_table("account_day_balances")
    op.drop_index("ix_journal_lines_entry_id", "journal_lines")
    op.drop_index("uq_journal_entries_reverses_number", "journal_entries")
    op.drop_column("journal_entries", "posted_by")
    op.drop_column("journal_entries", "event_date")
    op.drop_column("accounts", "quickbooks_account_id")
