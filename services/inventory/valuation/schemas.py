"""Response bodies of inventory's valuation API."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel

from services.inventory.valuation.domain import InventoryClass
from shared.values import Amount4


class ValuationSource(StrEnum):
    BALANCES = "balances"
    LEDGER = "ledger"


class ClassValueOut(BaseModel):
    inventory_class: InventoryClass
    value: Amount4


class ItemValueOut(BaseModel):
    sku: str
    name: str
    inventory_class: InventoryClass
    qty: Amount4
    value: Amount4


class ValuationOut(BaseModel):
    """Inventory's value at the end of `as_of` (plant-local), per class and per item: from the
    balances for today (or later), from the stock ledger for an earlier day (`source`)."""

    as_of: date
    source: ValuationSource
    classes: list[ClassValueOut]
    total: Amount4
    items: list[ItemValueOut]


class DocumentItemOut(BaseModel):
    sku: str
    value: Amount4


class DocumentValueOut(BaseModel):
    """The net value a document moved into (positive) or out of (negative) one class."""

    document_type: str
    document_ref: str
    inventory_class: InventoryClass
    value: Amount4
    items: list[DocumentItemOut]


class DocumentValuesOut(BaseModel):
    date_from: date | None
    date_to: date | None
    documents: list[DocumentValueOut]
