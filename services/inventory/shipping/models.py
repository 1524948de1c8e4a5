"""Shipping's tables in inventory's database: the read model of mrp's sales orders (from
SalesOrderChanged, the newest sequence wins), the shipments and their lines (one row per sales
order line and lot), and the gapless shipment numbers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.inventory.models import Base
from shared.types import Amount, UtcDateTime


class KnownSalesOrder(Base):
    """mrp's sales order as its last SalesOrderChanged told it (mrp owns it)."""

    __tablename__ = "known_sales_orders"

    so_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    order_date: Mapped[date] = mapped_column(Date)
    business_unit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sequence: Mapped[int] = mapped_column(BigInteger)

    lines: Mapped[list[KnownSalesOrderLine]] = relationship(
        order_by="KnownSalesOrderLine.line_no",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class KnownSalesOrderLine(Base):
    __tablename__ = "known_sales_order_lines"

    so_number: Mapped[str] = mapped_column(
        ForeignKey("known_sales_orders.so_number"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    qty_ordered: Mapped[Decimal] = mapped_column(Amount())
    unit_price: Mapped[Decimal] = mapped_column(Amount())
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    business_unit: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ShipmentCounter(Base):
    """Gapless shipment numbers per year (SHP-YYYY-NNNNN), taken inside the transaction."""

    __tablename__ = "shipment_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(32), unique=True)
    so_number: Mapped[str] = mapped_column(String(64), index=True)
    customer_code: Mapped[str] = mapped_column(String(64), index=True)
    business_unit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    shipped_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The plant-local day of the shipment (the date filter and the books use it).
    ship_date: Mapped[date] = mapped_column(Date, index=True)
    shipped_by: Mapped[str] = mapped_column(String(150))
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    lines: Mapped[list[ShipmentLine]] = relationship(order_by="ShipmentLine.id", lazy="selectin")


class ShipmentLine(Base):
    """What one lot gave to one sales order line, at its cost and the line's price."""

    __tablename__ = "shipment_lines"
    __table_args__ = (
        UniqueConstraint("shipment_pk", "line_no", "lot"),
        Index("ix_shipment_lines_so_line", "so_number", "line_no"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_pk: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    so_number: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    lot: Mapped[str] = mapped_column(String(64))
    qty: Mapped[Decimal] = mapped_column(Amount())
    unit_cost: Mapped[Decimal] = mapped_column(Amount())
    unit_price: Mapped[Decimal] = mapped_column(Amount())
    cost_value: Mapped[Decimal] = mapped_column(Amount())
    sales_value: Mapped[Decimal] = mapped_column(Amount())
