"""Purchase suggestions on plain values: the MRP's shortages, merged per SKU, turned into PO
lines at a vendor's terms.

The lines the MRP sends for one SKU (one per sales order short of it, say) become one need:
their quantities added, due by the earliest of their dates. A line without a date needs the
item as soon as the vendor can bring it (today plus the lead time), so it counts as that date.
The need is then ordered at the preferred vendor item's terms: rounded up to its MOQ and order
multiple, at its unit cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from services.purchasing.domain import MAX_LINE_VALUE
from services.purchasing.vendor_items.domain import order_quantity

# NUMERIC(18, 4) holds quantities below 10**14.
MAX_QTY = Decimal(10) ** 14


@dataclass(frozen=True)
class ShortageLine:
    sku: str
    qty: Decimal
    need_by: date | None = None
    reference: str | None = None


@dataclass
class Need:
    """All the lines of one SKU: the quantity they add to, their dates and references."""

    sku: str
    qty: Decimal
    earliest: date | None  # the earliest date given, None when no line gave one
    undated: bool  # some line gave no date: as soon as the vendor can
    references: list[str] = field(default_factory=list)

    def due_date(self, today: date, lead_time_days: int) -> date:
        soonest = today + timedelta(days=lead_time_days)
        if self.earliest is None:
            return soonest
        return min(self.earliest, soonest) if self.undated else self.earliest


@dataclass(frozen=True)
class Terms:
    """What a vendor item says about buying it."""

    vendor_code: str
    unit_cost: Decimal
    moq: Decimal
    order_multiple: Decimal | None
    lead_time_days: int


@dataclass(frozen=True)
class PlannedLine:
    sku: str
    need: Decimal  # what was short, before the vendor's rounding
    qty: Decimal
    unit_cost: Decimal
    due_date: date
    references: tuple[str, ...]


def merge(lines: Sequence[ShortageLine]) -> list[Need]:
    """One need per SKU, in the order each SKU first appears."""
    needs: dict[str, Need] = {}
    for line in lines:
        need = needs.get(line.sku)
        if need is None:
            need = needs[line.sku] = Need(line.sku, Decimal(0), None, False)
        need.qty += line.qty
        if line.need_by is None:
            need.undated = True
        elif need.earliest is None or line.need_by < need.earliest:
            need.earliest = line.need_by
        if line.reference and line.reference not in need.references:
            need.references.append(line.reference)
    return list(needs.values())


def plan_line(need: Need, terms: Terms, today: date) -> PlannedLine | None:
    """The PO line for `need` at `terms`; None when the quantity or its value is beyond what
    a purchase order can hold."""
    qty = order_quantity(need.qty, terms.moq, terms.order_multiple)
    if qty >= MAX_QTY or qty * terms.unit_cost >= MAX_LINE_VALUE:
        return None
    return PlannedLine(
        sku=need.sku,
        need=need.qty,
        qty=qty,
        unit_cost=terms.unit_cost,
        due_date=need.due_date(today, terms.lead_time_days),
        references=tuple(need.references),
    )


def notes_text(origin: str, notes: str | None, lines: Sequence[PlannedLine], limit: int) -> str:
    """A draft's notes: where it came from, the caller's notes, and which references each SKU
    is for, cut to `limit` characters (the notes column's size)."""
    parts = [origin]
    if notes:
        parts.append(notes)
    referenced = [f"{line.sku}: {', '.join(line.references)}" for line in lines if line.references]
    if referenced:
        parts.append("; ".join(referenced))
    text = " — ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
