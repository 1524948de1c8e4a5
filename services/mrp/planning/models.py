"""mrp's read models of other services' data, built from their events (the newest sequence wins
per key) and rebuildable by replay: stock levels, released BOMs, open purchase-order lines,
production lines and their capacity. Items and production orders are kept by the sales package
(`known_items`, `linked_production_orders`), which the planner reads as well."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.mrp.models import Base
from shared.types import Amount


class StockLevel(Base):
    """One item's stock as inventory last reported it (StockChanged: absolute figures)."""

    __tablename__ = "stock_levels"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    on_hand: Mapped[Decimal] = mapped_column(Amount())
    # Approved and not reserved: what a new order may take.
    available: Mapped[Decimal] = mapped_column(Amount())
    # Reserved (sales orders for finished goods, production orders for components).
    allocated: Mapped[Decimal] = mapped_column(Amount())
    pending_qc: Mapped[Decimal] = mapped_column(Amount())
    # Issued to jobs: never counted by the planner.
    wip: Mapped[Decimal] = mapped_column(Amount())
    average_cost: Mapped[Decimal] = mapped_column(Amount())
    sequence: Mapped[int] = mapped_column(BigInteger)


class PlannedBom(Base):
    """The released BOM version of a made item (BomReleased; one level, components may have
    their own)."""

    __tablename__ = "planned_boms"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    bom_version: Mapped[int] = mapped_column(Integer)
    output_qty: Mapped[Decimal] = mapped_column(Amount())
    sequence: Mapped[int] = mapped_column(BigInteger)


class PlannedBomLine(Base):
    __tablename__ = "planned_bom_lines"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_sku: Mapped[str] = mapped_column(String(64), index=True)
    qty_per: Mapped[Decimal] = mapped_column(Amount())
    scrap_pct: Mapped[Decimal] = mapped_column(Amount())


class OpenPurchaseOrder(Base):
    """A purchase order's header as purchasing last reported it (PurchaseOrderChanged)."""

    __tablename__ = "open_purchase_orders"

    po_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(BigInteger)


class OpenPurchaseLine(Base):
    """What is still to come on a purchase-order line (ordered less received); kept only while
    the order is submitted or partly received and the line has something open."""

    __tablename__ = "open_purchase_lines"

    po_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    qty_open: Mapped[Decimal] = mapped_column(Amount())
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class PlannedLine(Base):
    """A production line and the capabilities orders are matched on (LineUpserted), with its
    shifts per weekday (CapacityChanged)."""

    __tablename__ = "planned_lines"

    line_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    facility_code: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    tooling_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    allergen_status: Mapped[str] = mapped_column(String(24))
    speed_modifier: Mapped[Decimal] = mapped_column(Amount())
    active: Mapped[bool] = mapped_column(Boolean)
    sequence: Mapped[int] = mapped_column(BigInteger)
    # Shifts worked Monday..Sunday, e.g. "3,3,3,3,3,0,0" (CapacityChanged; None until heard).
    shifts_by_weekday: Mapped[str | None] = mapped_column(String(32), nullable=True)
    capacity_sequence: Mapped[int] = mapped_column(BigInteger, default=0)


class PlannedCapacity(Base):
    """Units a line makes per shift of one item, of an item family, or of anything (both
    None), from a date (CapacityChanged lists them all; the rows are replaced together)."""

    __tablename__ = "planned_capacities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_code: Mapped[str] = mapped_column(String(32), index=True)
    sku: Mapped[str | None] = mapped_column(String(64), nullable=True)
    family: Mapped[str | None] = mapped_column(String(32), nullable=True)
    units_per_shift: Mapped[Decimal] = mapped_column(Amount())
    effective_from: Mapped[date] = mapped_column(Date)
