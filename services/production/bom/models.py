"""Production's BOM tables: one row per version of a product's BOM, and its lines.

One released version per product is a rule of the database, not only of the code: a partial
unique index on the product where the status is 'released' (PostgreSQL and SQLite both have
partial indexes), so two concurrent releases cannot both succeed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.production.models import Base
from shared.types import Amount, UtcDateTime

Id = BigInteger().with_variant(Integer(), "sqlite")


class BomVersion(Base):
    """One version of one product's BOM: its header (how many units the lines make, in what
    unit) and who changed it when."""

    __tablename__ = "boms"
    __table_args__ = (
        UniqueConstraint("product_sku", "version", name="uq_boms_product_version"),
        CheckConstraint("status IN ('draft', 'released', 'obsolete')", name="ck_boms_status"),
        CheckConstraint("version > 0", name="ck_boms_version"),
        CheckConstraint("output_qty > 0", name="ck_boms_output_qty"),
        Index(
            "uq_boms_one_released",
            "product_sku",
            unique=True,
            postgresql_where=text("status = 'released'"),
            sqlite_where=text("status = 'released'"),
        ),
        Index("ix_boms_status", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    product_sku: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    output_qty: Mapped[Decimal] = mapped_column(Amount())
    uom: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(150))
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    obsoleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    obsoleted_by: Mapped[str | None] = mapped_column(String(150), nullable=True)

    lines: Mapped[list[BomLineRow]] = relationship(
        order_by="BomLineRow.line_no",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class BomLineRow(Base):
    """One component of a BOM version: `qty_per` of it makes the version's `output_qty`,
    plus `scrap_pct` percent lost in making."""

    __tablename__ = "bom_lines"
    __table_args__ = (
        CheckConstraint("qty_per > 0", name="ck_bom_lines_qty_per"),
        CheckConstraint("scrap_pct >= 0", name="ck_bom_lines_scrap_pct"),
        Index("ix_bom_lines_component_sku", "component_sku"),
    )

    bom_id: Mapped[int] = mapped_column(
        Id, ForeignKey("boms.id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    component_sku: Mapped[str] = mapped_column(String(64))
    qty_per: Mapped[Decimal] = mapped_column(Amount())
    uom: Mapped[str] = mapped_column(String(16))
    scrap_pct: Mapped[Decimal] = mapped_column(Amount())
    notes: Mapped[str | None] = mapped_column(String(500), nullable=True)


class BomRevision(Base):
    """One row counting changes to the set of released BOMs: every release and every obsolete
    adds one, in its own transaction. A process keeps the released BOMs it has read, tagged
    with the revision it read first, and reads them again only when the count has moved."""

    __tablename__ = "bom_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger)
