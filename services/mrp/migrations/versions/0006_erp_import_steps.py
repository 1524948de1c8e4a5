"""erp_import_steps: the steps of each ERP import run that were not unchanged (created,
changed, held or failed), for the admin's page of a run

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # Runs logged before this one keep their counts and held/refused records in `summary`.
    op.create_table(
        "erp_import_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("named", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["erp_import_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_erp_import_steps_run_id"), "erp_import_steps", ["run_id"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_erp_import_steps_run_id"), table_name="erp_import_steps")
    op.drop_table("erp_import_steps")
