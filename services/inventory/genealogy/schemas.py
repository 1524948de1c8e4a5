"""Answers of the lot genealogy: both questions as flat lists linked by codes.

A lot's family is a graph (an order consumes many lots; a lot may feed many orders), so the
answer lists the orders and the lots found, each with its depth (1 = next to the lot asked
about) and the codes that link them, rather than a nested tree that would repeat a shared lot
under every order it fed. A table shows it, and an export holds it, as it comes.
"""

from __future__ import annotations

from pydantic import BaseModel

from shared.values import Amount4


class LotRef(BaseModel):
    sku: str
    lot: str


class ReceiptOut(BaseModel):
    """A receipt of a purchased lot: the purchase order line it came in on."""

    reference: str
    qty: Amount4
    received_at: str


class LotOrigin(BaseModel):
    """Where a lot came from: a vendor's receipt (its first one names vendor, PO and receipt)
    or a production order of ours (its finished lot)."""

    sku: str
    name: str
    lot: str
    vendor_code: str | None = None
    po_number: str | None = None
    receipt_id: str | None = None
    order_code: str | None = None
    receipts: list[ReceiptOut] = []


class ConsumedLot(BaseModel):
    """A component lot issued to an order: the quantity issued, returned (de-issued) and kept."""

    sku: str
    lot: str
    qty_issued: Amount4
    qty_returned: Amount4
    qty_used: Amount4


class ProducedLot(BaseModel):
    """A lot an order put into stock: good units (QC hold or FG) and bad units (scrap)."""

    sku: str
    lot: str
    qty_good: Amount4
    qty_bad: Amount4


class OrderNode(BaseModel):
    """A production order in the family: what it consumed and what it produced."""

    order_code: str
    depth: int
    consumed: list[ConsumedLot]
    produced: list[ProducedLot]


class SourceLot(LotOrigin):
    depth: int
    used_by_orders: list[str]


class LotSourcesOut(BaseModel):
    """GET /genealogy/lots/{sku}/{lot}/sources: every order that made the lot, every component
    lot that went into them, down through sub-assemblies, each with its vendor and receipts."""

    lot: LotOrigin
    orders: list[OrderNode]
    component_lots: list[SourceLot]
    vendors: list[str]


class BalanceHere(BaseModel):
    location: str
    status: str
    qty: Amount4


class UsedLot(LotOrigin):
    """A lot made (at some depth) from the lot asked about, and where it is now."""

    depth: int
    made_by_order: str | None
    on_hand: list[BalanceHere]


class ShipmentOut(BaseModel):
    """Units of a lot in the family that left the plant."""

    sku: str
    lot: str
    qty: Amount4
    reference_type: str
    reference: str
    shipment_id: str | None = None
    so_number: str | None = None
    customer_code: str | None = None
    shipped_at: str


class LotUsesOut(BaseModel):
    """GET /genealogy/lots/{sku}/{lot}/uses: every order the lot was issued to, the lots they
    made, up through the assemblies that used those, where each is now, and the shipments and
    customers they went to."""

    lot: LotOrigin
    orders: list[OrderNode]
    finished_lots: list[UsedLot]
    shipments: list[ShipmentOut]
    customers: list[str]
