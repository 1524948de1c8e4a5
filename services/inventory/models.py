"""Inventory's own tables: items, locations, lots, balances, the stock-transaction ledger,
reservations, and the per-order work in progress (the `wip` package's tables).

Every stock movement goes through `services.inventory.stock`; the WIP tables say which order a
balance in WIP belongs to and what became of it (issued, returned, relieved), each effect keyed
by its business id with a unique constraint so a duplicate changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.messaging.tables import Id, messaging_tables
from shared.types import Amount, UtcDateTime


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
messaging = messaging_tables(metadata)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    uom: Mapped[str] = mapped_column(String(16))
    item_type: Mapped[str] = mapped_column(String(16))
    make_or_buy: Mapped[str] = mapped_column(String(8))
    customer_supplied: Mapped[bool] = mapped_column(Boolean, default=False)
    reorder_point: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    reorder_qty: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    average_cost: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A made item's output waits in the QC hold; False sends it straight to FG.
    requires_qc: Mapped[bool] = mapped_column(Boolean, default=True)
    # The product family a line's capacity can be given for (downtime), matched by MRP later.
    family: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Location(Base):
    __tablename__ = "locations"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("item_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    code: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Where the lot came from, for genealogy: a purchased lot's vendor, PO and receipt, a
    # finished lot's production order.
    vendor_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    po_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    receipt_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    order_code: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class StockBalance(Base):
    """Quantity and value of one item at one location, lot and status (lot '' when none)."""

    __tablename__ = "stock_balances"
    __table_args__ = (UniqueConstraint("item_id", "location_code", "lot", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    qty: Mapped[Decimal] = mapped_column(Amount())
    value: Mapped[Decimal] = mapped_column(Amount())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StockTransaction(Base):
    """The append-only ledger: every movement of stock, never updated or deleted."""

    __tablename__ = "stock_transactions"
    __table_args__ = (
        # The genealogy and recall searches: a lot's movements, a document's movements.
        Index("ix_stock_transactions_item_lot", "item_id", "lot"),
        Index("ix_stock_transactions_reference", "reference_type", "reference"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    txn_type: Mapped[str] = mapped_column(String(24))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    qty: Mapped[Decimal] = mapped_column(Amount())
    unit_cost: Mapped[Decimal] = mapped_column(Amount())
    value: Mapped[Decimal] = mapped_column(Amount())
    reference_type: Mapped[str] = mapped_column(String(24))
    reference: Mapped[str] = mapped_column(String(64))
    reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Reservation(Base):
    """Stock held for a production order (components) or a sales order line (finished goods).

    Open remaining = qty_reserved - qty_issued - qty_released; available stock is approved RAW
    and FG on hand minus the open remaining of every open reservation of the item. `line_no` is
    0 for a production order's lines and the sales order line number for a sales order.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        UniqueConstraint("reference_type", "reference", "item_id", "line_no"),
        Index("ix_reservations_item_status", "item_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference_type: Mapped[str] = mapped_column(String(24))
    reference: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int] = mapped_column(Integer, default=0)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    qty_required: Mapped[Decimal] = mapped_column(Amount())
    qty_available: Mapped[Decimal] = mapped_column(Amount())
    qty_reserved: Mapped[Decimal] = mapped_column(Amount())
    qty_issued: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    qty_released: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OrderWip(Base):
    """A production order's material in WIP, written when its ProductionStarted is applied.

    The values are the order's own (what its components cost when issued), so relieving the
    order's WIP leaves exactly zero whatever other orders hold in the same WIP balances.
    """

    __tablename__ = "order_wip"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_code: Mapped[str] = mapped_column(String(64), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    so_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    so_line_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    qty_to_make: Mapped[Decimal] = mapped_column(Amount())
    qty_good: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    qty_bad: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    qty_passed: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    qty_failed: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    value_issued: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    value_returned: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    value_relieved: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    started_event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WipComponent(Base):
    """One component lot issued to an order: what went in, came back, and was consumed."""

    __tablename__ = "wip_components"
    __table_args__ = (UniqueConstraint("order_code", "item_id", "lot", "from_location"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_code: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    from_location: Mapped[str] = mapped_column(String(16))
    qty_issued: Mapped[Decimal] = mapped_column(Amount())
    value_issued: Mapped[Decimal] = mapped_column(Amount())
    qty_returned: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    value_returned: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    qty_relieved: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    value_relieved: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))


class RunReceipt(Base):
    """A run's output booked out of WIP (PrintCompleted applied once per run)."""

    __tablename__ = "run_receipts"
    __table_args__ = (UniqueConstraint("order_code", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_code: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(64))
    final_run: Mapped[bool] = mapped_column(Boolean)
    qty_good: Mapped[Decimal] = mapped_column(Amount())
    qty_bad: Mapped[Decimal] = mapped_column(Amount())
    value_good: Mapped[Decimal] = mapped_column(Amount())
    value_bad: Mapped[Decimal] = mapped_column(Amount())
    unit_cost: Mapped[Decimal] = mapped_column(Amount())
    to_status: Mapped[str] = mapped_column(String(16))
    scrap_reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source_event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QcDecision(Base):
    """A QC decision on output held in QC (QCPassed applied once per QC record)."""

    __tablename__ = "qc_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    qc_record_id: Mapped[str] = mapped_column(String(64), unique=True)
    order_code: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    qty_passed: Mapped[Decimal] = mapped_column(Amount())
    qty_failed: Mapped[Decimal] = mapped_column(Amount())
    value_passed: Mapped[Decimal] = mapped_column(Amount())
    value_failed: Mapped[Decimal] = mapped_column(Amount())
    unit_cost: Mapped[Decimal] = mapped_column(Amount())
    reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source_event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
