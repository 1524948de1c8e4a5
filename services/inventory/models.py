"""Inventory's own tables: items, locations, lots, balances and the stock-transaction ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
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
    source_event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
