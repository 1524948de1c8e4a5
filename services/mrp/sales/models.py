"""mrp's sales tables: customers, sales orders and their lines, and the read models the order
status follows (items, production orders made for a line, shipments applied)."""

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
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.mrp.models import Base
from shared.types import Amount, UtcDateTime


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # 1 (most important) to 5; the planner's priority score starts from it.
    priority: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KnownItem(Base):
    """Read model of inventory's items (from ItemUpserted; the newest sequence wins)."""

    __tablename__ = "known_items"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uom: Mapped[str] = mapped_column(String(16))
    item_type: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    sequence: Mapped[int] = mapped_column(BigInteger)
    # What the planner needs of an item: made or bought, supplied by the customer, its family
    # (capacity rows match it as typed) and moving-average cost (FG value cards).
    make_or_buy: Mapped[str] = mapped_column(String(8), default="buy")
    customer_supplied: Mapped[bool] = mapped_column(Boolean, default=False)
    family: Mapped[str | None] = mapped_column(String(32), nullable=True)
    average_cost: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))


class DocumentCounter(Base):
    """Gapless document numbers per kind and year (SO), taken inside the transaction."""

    __tablename__ = "document_counters"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class SalesOrder(Base):
    __tablename__ = "sales_orders"
    __table_args__ = (
        # One order per other system's number; orders taken here have none.
        Index(
            "uq_sales_orders_external_ref",
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
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(16))
    order_date: Mapped[date] = mapped_column(Date)
    business_unit: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # The contract carries a penalty for shipping late (a part of the priority score).
    contractual_penalty: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    customer: Mapped[Customer] = relationship(lazy="joined")
    lines: Mapped[list[SalesOrderLine]] = relationship(
        order_by="SalesOrderLine.line_no", lazy="selectin"
    )


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    __table_args__ = (UniqueConstraint("so_id", "line_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    so_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    qty_ordered: Mapped[Decimal] = mapped_column(Amount())
    qty_shipped: Mapped[Decimal] = mapped_column(Amount())
    # What inventory reported reserved for the line (make-to-stock), less what shipped since.
    qty_allocated: Mapped[Decimal] = mapped_column(Amount())
    unit_price: Mapped[Decimal] = mapped_column(Amount())
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    business_unit: Mapped[str | None] = mapped_column(String(32), nullable=True)


class LinkedProductionOrder(Base):
    """Read model of production's orders (from ProductionOrderChanged; the newest sequence
    wins): those made for a sales-order line and the reprints in their chains, whose status the
    order follows (a reprint may name only its root: it counts for the root's line), and
    make-to-stock orders, whose open quantity and line the planner counts."""

    __tablename__ = "linked_production_orders"

    order_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    so_number: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    so_line_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    root_order_code: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    reprint_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sku: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    qty_ordered: Mapped[Decimal] = mapped_column(Amount())
    qty_passed: Mapped[Decimal] = mapped_column(Amount())
    qty_failed: Mapped[Decimal] = mapped_column(Amount())
    sequence: Mapped[int] = mapped_column(BigInteger)
    qty_to_make: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    qty_good: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    line_code: Mapped[str | None] = mapped_column(String(32), nullable=True)


class CustomerPayment(Base):
    """A payment received against a sales order (PaymentReceived; never changed)."""

    __tablename__ = "customer_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(32), unique=True)
    so_number: Mapped[str] = mapped_column(String(20), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount())
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class AppliedShipment(Base):
    """Each OrderShipped applied once, by its shipment id, whatever envelope brings it."""

    __tablename__ = "applied_shipments"

    shipment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    so_number: Mapped[str] = mapped_column(String(20))
    shipped_at: Mapped[datetime] = mapped_column(UtcDateTime())
