"""Inventory rules on plain values: where a receipt lands, and the moving-average cost.

No database here; `service.py` loads the numbers, asks these functions, and stores the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.values import FOUR_PLACES


class LocationCode(StrEnum):
    RAW = "RAW"
    QC = "QC"
    WIP = "WIP"
    FG = "FG"
    SCRAP = "SCRAP"


class StockStatus(StrEnum):
    APPROVED = "approved"
    PENDING_QC = "pending_qc"


SEEDED_LOCATIONS: dict[LocationCode, str] = {
    LocationCode.RAW: "Raw materials",
    LocationCode.QC: "Quality hold",
    LocationCode.WIP: "Work in progress",
    LocationCode.FG: "Finished goods",
    LocationCode.SCRAP: "Scrap",
}

# Stock counted as the item's own on hand, and so in its moving-average cost.
ON_HAND_LOCATIONS = (LocationCode.RAW, LocationCode.QC, LocationCode.FG)


class UnknownItem(Exception):
    def __init__(self, sku: str) -> None:
        super().__init__(f"no item with SKU {sku!r}")
        self.sku = sku


def receipt_location(to_status: StockStatus) -> LocationCode:
    """Approved material goes to raw stock; material awaiting inspection to the QC hold."""
    return LocationCode.RAW if to_status is StockStatus.APPROVED else LocationCode.QC


def moving_average_cost(
    on_hand_qty: Decimal, on_hand_value: Decimal, received_qty: Decimal, received_value: Decimal
) -> Decimal:
    """Average unit cost after a receipt: total value over total quantity.

    With nothing (or less than nothing) on hand the receipt's own unit cost is the average, so a
    negative balance left by an earlier correction cannot produce a nonsense cost.
    """
    if received_qty <= 0:
        raise ValueError("received quantity must be positive")
    if on_hand_qty <= 0:
        return (received_value / received_qty).quantize(FOUR_PLACES, ROUND_HALF_UP)
    total_qty = on_hand_qty + received_qty
    return ((on_hand_value + received_value) / total_qty).quantize(FOUR_PLACES, ROUND_HALF_UP)


@dataclass(frozen=True)
class StockLevels:
    """An item's stock, as StockChanged carries it: absolute figures, not deltas."""

    on_hand: Decimal
    available: Decimal
    allocated: Decimal
    pending_qc: Decimal
    wip: Decimal
    open_reservations: Decimal


def stock_levels(
    balances: list[tuple[str, str, Decimal]], allocated: Decimal = Decimal(0)
) -> StockLevels:
    """Summarise (location, status, qty) balances into the figures planners read."""
    on_hand = pending_qc = wip = approved = Decimal(0)
    for location, status, qty in balances:
        if location == LocationCode.WIP:
            wip += qty
            continue
        if location not in ON_HAND_LOCATIONS:
            continue
        on_hand += qty
        if status == StockStatus.PENDING_QC:
            pending_qc += qty
        else:
            approved += qty
    return StockLevels(
        on_hand=on_hand,
        available=approved - allocated,
        allocated=allocated,
        pending_qc=pending_qc,
        wip=wip,
        open_reservations=allocated,
    )
