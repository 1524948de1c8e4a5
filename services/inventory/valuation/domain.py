"""Valuation rules on plain values: which class a balance's value belongs to, which document
of the journal a stock movement belongs to, and the totals by class, item and document.

The classes follow docs/accounting.md ("Which inventory account stock sits in"), the same
mapping accounting's posting rules use: stock at WIP is work in progress, stock at SCRAP is no
inventory (scrap is an expense when it happens), anything else is finished goods for a made
item and raw material for a bought one, wherever it is stored. The class follows the item, not
the shelf, so a transfer or a QC release moves no value between classes.

No database here; `service.py` loads the sums and asks these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.inventory.domain import LocationCode

ZERO = Decimal(0)
MADE = "make"


class InventoryClass(StrEnum):
    RAW = "raw"
    WIP = "wip"
    FINISHED = "finished"


def inventory_class(location: str, make_or_buy: str) -> InventoryClass | None:
    """The class of stock of an item (`make` or `buy`) at `location`; None at SCRAP."""
    if location == LocationCode.WIP:
        return InventoryClass.WIP
    if location == LocationCode.SCRAP:
        return None
    return InventoryClass.FINISHED if make_or_buy == MADE else InventoryClass.RAW


class ReferenceType(StrEnum):
    """`stock_transactions.reference_type`: what moved the stock."""

    PURCHASE_ORDER = "purchase_order"
    PRODUCTION_ORDER = "production_order"
    SHIPMENT = "shipment"
    ADJUSTMENT = "adjustment"
    TRANSFER = "transfer"
    RELEASE = "release"


class DocumentType(StrEnum):
    """The journal's `document_type` of an entry (docs/accounting.md, posting rules)."""

    PURCHASE_ORDER = "purchase_order"
    PRODUCTION_ORDER = "production_order"
    SALES_ORDER = "sales_order"
    ADJUSTMENT = "adjustment"


# Movements within one class (storage to storage, QC hold to RAW): they net to zero per class
# and the journal has no entry for them.
WITHIN_CLASS = frozenset({ReferenceType.TRANSFER, ReferenceType.RELEASE})


@dataclass(frozen=True, order=True)
class Document:
    document_type: str
    document_ref: str


def document_of(
    reference_type: str, reference: str, sales_order: str | None = None
) -> Document | None:
    """The journal document a ledger row belongs to; None for a movement within a class.

    A receipt's reference is 'PO/line' and the journal's document is the PO; a shipment's is
    its SHP id and the journal's document is its sales order (`sales_order`, from the shipment;
    the shipment id itself when unknown). Any other reference type is named as it is.
    """
    if reference_type in WITHIN_CLASS:
        return None
    if reference_type == ReferenceType.PURCHASE_ORDER:
        po_number, _slash, _line = reference.rpartition("/")
        return Document(DocumentType.PURCHASE_ORDER, po_number or reference)
    if reference_type == ReferenceType.SHIPMENT:
        if sales_order:
            return Document(DocumentType.SALES_ORDER, sales_order)
        return Document(ReferenceType.SHIPMENT, reference)
    return Document(reference_type, reference)


@dataclass(frozen=True)
class StockValue:
    """Quantity and value of an item at a location, summed (from balances or the ledger)."""

    sku: str
    name: str
    make_or_buy: str
    location: str
    qty: Decimal
    value: Decimal


@dataclass(frozen=True)
class ItemValue:
    sku: str
    name: str
    inventory_class: InventoryClass
    qty: Decimal
    value: Decimal


@dataclass(frozen=True)
class Valuation:
    classes: dict[InventoryClass, Decimal]
    items: tuple[ItemValue, ...]

    @property
    def total(self) -> Decimal:
        return sum(self.classes.values(), ZERO)


def valuation(stock: Iterable[StockValue]) -> Valuation:
    """Value per class (every class, zero when empty) and per item and class (in SKU then class
    order, leaving out an item whose quantity and value are both zero in that class)."""
    classes = dict.fromkeys(InventoryClass, ZERO)
    items: dict[tuple[str, InventoryClass], tuple[str, Decimal, Decimal]] = {}
    for row in stock:
        kind = inventory_class(row.location, row.make_or_buy)
        if kind is None:
            continue
        classes[kind] += row.value
        _name, qty, value = items.get((row.sku, kind), (row.name, ZERO, ZERO))
        items[(row.sku, kind)] = (row.name, qty + row.qty, value + row.value)
    order = list(InventoryClass)
    listed = tuple(
        ItemValue(sku, name, kind, qty, value)
        for (sku, kind), (name, qty, value) in sorted(
            items.items(), key=lambda pair: (pair[0][0], order.index(pair[0][1]))
        )
        if qty != 0 or value != 0
    )
    return Valuation(classes, listed)


@dataclass(frozen=True)
class Movement:
    """The value a reference moved for an item at a location, summed over its ledger rows."""

    reference_type: str
    reference: str
    sales_order: str | None
    sku: str
    make_or_buy: str
    location: str
    value: Decimal


@dataclass(frozen=True)
class DocumentValue:
    """The net value change a document made to one class, and per item."""

    document: Document
    inventory_class: InventoryClass
    value: Decimal
    items: tuple[tuple[str, Decimal], ...]


def document_values(movements: Iterable[Movement]) -> list[DocumentValue]:
    """Net value change per (document, class), with its items, in document then class order.
    Movements within a class and at SCRAP are left out; so is a (document, class) whose every
    item nets to zero (an order's WIP once relieved)."""
    nets: dict[tuple[Document, InventoryClass], dict[str, Decimal]] = {}
    for row in movements:
        document = document_of(row.reference_type, row.reference, row.sales_order)
        kind = inventory_class(row.location, row.make_or_buy)
        if document is None or kind is None:
            continue
        by_item = nets.setdefault((document, kind), {})
        by_item[row.sku] = by_item.get(row.sku, ZERO) + row.value
    order = list(InventoryClass)
    result = []
    for (document, kind), by_item in sorted(
        nets.items(), key=lambda pair: (pair[0][0], order.index(pair[0][1]))
    ):
        items = tuple((sku, value) for sku, value in sorted(by_item.items()) if value != 0)
        if items:
            result.append(DocumentValue(document, kind, sum((v for _s, v in items), ZERO), items))
    return result


def class_totals(values: Mapping[InventoryClass, Decimal]) -> list[tuple[InventoryClass, Decimal]]:
    """Every class in its order with its value."""
    return [(kind, values.get(kind, ZERO)) for kind in InventoryClass]
