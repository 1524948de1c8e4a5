"""directory users, the audit log, plant settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import make_append_only

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.alter_column("password_hash", existing_type=sa.String(200), nullable=True)
        users.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="local"))
        users.create_check_constraint("ck_users_source", "source IN ('local', 'directory')")
    op.create_index("ix_login_attempts_username_ok_at", "login_attempts", ["username", "ok", "at"])
    op.create_table(
        "audit_entries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(150), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    op.create_index("ix_audit_entries_actor_at", "audit_entries", ["actor", "at"])
    op.create_index("ix_audit_entries_entity", "audit_entries", ["entity_type", "entity_id"])
    make_append_only("audit_entries")
    op.create_table(
        "plant_settings",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_by", sa.String(150), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("plant_settings")
    op.drop_table("audit_entries")
    op.drop_index("ix_login_attempts_username_ok_at", "login_attempts")
    with op.batch_alter_table("users") as users:
        users.drop_constraint("ck_users_source", type_="check")
        users.drop_column("source")
        users.alter_column("password_hash", existing_type=sa.String(200), nullable=False)
