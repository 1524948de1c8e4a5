"""Vendor items: what a vendor sells of an item, at what price, minimum and lead time.

One row per vendor and SKU. At most one row per SKU is the preferred one, the vendor the MRP's
suggestions buy from: the partial unique index holds that even if two requests race (the
service also locks the SKU's known item first, so two "make preferred" calls run one after the
other instead of one of them failing).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.purchasing.models import Base, Vendor
from shared.types import Amount, UtcDateTime


class VendorItem(Base):
    __tablename__ = "vendor_items"
    __table_args__ = (
        UniqueConstraint("vendor_id", "sku"),
        Index(
            "uq_vendor_items_preferred_sku",
            "sku",
            unique=True,
            sqlite_where=text("preferred"),
            postgresql_where=text("preferred"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    vendor_part_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unit_cost: Mapped[Decimal] = mapped_column(Amount())
    moq: Mapped[Decimal] = mapped_column(Amount())
    order_multiple: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    lead_time_days: Mapped[int] = mapped_column(Integer)
    preferred: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    vendor: Mapped[Vendor] = relationship(lazy="joined")
