"""Production's copy of the item master: what it needs to know of a product or component to
plan and make it (from ItemUpserted; inventory owns the item, the newest sequence wins)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from services.production.models import Base


class KnownItem(Base):
    """Read model of inventory's items (from ItemUpserted; the newest sequence wins)."""

    __tablename__ = "known_items"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uom: Mapped[str] = mapped_column(String(16))
    item_type: Mapped[str] = mapped_column(String(16))
    make_or_buy: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean)
    requires_qc: Mapped[bool] = mapped_column(Boolean)
    sequence: Mapped[int] = mapped_column(BigInteger)
