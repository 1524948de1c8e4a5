"""Indexes for the reports' date ranges, and the line a run was made on

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 00:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("production_runs", sa.Column("line_code", sa.String(32), nullable=True))
    op.create_index("ix_production_runs_completed_at", "production_runs", ["completed_at"])
    op.create_index("ix_qc_records_inspected_at", "qc_records", ["inspected_at"])
    op.create_index("ix_production_orders_created_at", "production_orders", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_production_orders_created_at", "production_orders")
    op.drop_index("ix_qc_records_inspected_at", "qc_records")
    op.drop_index("ix_production_runs_completed_at", "production_runs")
    op.drop_column("production_runs", "line_code")
