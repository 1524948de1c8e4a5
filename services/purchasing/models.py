"""Purchasing's own tables: vendors, purchase orders, receipts, and its copy of the items."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.messaging.tables import messaging_tables
from shared.types import Amount, UtcDateTime


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
messaging = messaging_tables(metadata)


class Vendor(Base):
    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KnownItem(Base):
    """Read model of inventory's items (from ItemUpserted; the newest sequence wins)."""

    __tablename__ = "known_items"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uom: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    sequence: Mapped[int] = mapped_column(BigInteger)


class DocumentCounter(Base):
    """Gapless document numbers per kind and year (PO, RCV), taken inside the transaction."""

    __tablename__ = "document_counters"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        # One order per other system's number; orders made here have none.
        Index(
            "uq_purchase_orders_external_ref",
            "external_ref",
            unique=True,
            postgresql_where=text("external_ref IS NOT NULL"),
            sqlite_where=text("external_ref IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    # Another system's number for the order (the ERP's, when the import created it).
    external_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    status: Mapped[str] = mapped_column(String(12))
    order_date: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        order_by="PurchaseOrderLine.line_no", lazy="selectin"
    )


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (UniqueConstraint("po_id", "line_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    po_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    qty_ordered: Mapped[Decimal] = mapped_column(Amount())
    qty_received: Mapped[Decimal] = mapped_column(Amount())
    unit_cost: Mapped[Decimal] = mapped_column(Amount())
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class Receipt(Base):
    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    po_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_by: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    lines: Mapped[list[ReceiptLine]] = relationship(lazy="selectin", order_by="ReceiptLine.id")


class ReceiptLine(Base):
    __tablename__ = "receipt_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[Decimal] = mapped_column(Amount())
    unit_cost: Mapped[Decimal] = mapped_column(Amount())
    value: Mapped[Decimal] = mapped_column(Amount())
    lot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_status: Mapped[str] = mapped_column(String(12))


# The feature packages' tables join the metadata (migrations compare against all of it).
from services.purchasing.vendor_items import models as _vendor_item_models  # noqa: E402, F401
