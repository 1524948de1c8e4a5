"""Inventory rules on plain values: where a receipt lands, the moving-average cost, and what a
receipt does to an item's balances.

No database here; `service.py` loads the numbers, asks these functions, and stores the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Balance:
    """One of an item's balances: quantity and value at a location, lot ('' when none), status."""

    location: str
    lot: str
    status: str
    qty: Decimal
    value: Decimal


def on_hand_totals(balances: Iterable[Balance]) -> tuple[Decimal, Decimal]:
    """Quantity and value of the item's own stock (ON_HAND_LOCATIONS): what its average is of."""
    qty = value = Decimal(0)
    for balance in balances:
        if balance.location in ON_HAND_LOCATIONS:
            qty += balance.qty
            value += balance.value
    return qty, value


@dataclass(frozen=True)
class ReceiptEffect:
    """What a receipt does to an item: its new average cost, the balance it lands in (after the
    receipt; `new_balance` when there was none yet), and the item's stock levels after it."""

    average_cost: Decimal
    balance: Balance
    new_balance: bool
    levels: StockLevels


def apply_receipt(
    balances: Sequence[Balance],
    location: LocationCode,
    lot: str,
    status: StockStatus,
    qty: Decimal,
    value: Decimal,
) -> ReceiptEffect:
    """Receive `qty` worth `value` into (location, lot, status), given ALL the item's balances
    before the receipt (the caller loads them under the item's lock)."""
    on_hand_qty, on_hand_value = on_hand_totals(balances)
    average_cost = moving_average_cost(on_hand_qty, on_hand_value, qty, value)
    after = list(balances)
    for index, balance in enumerate(after):
        if (balance.location, balance.lot, balance.status) == (location, lot, status):
            target = replace(balance, qty=balance.qty + qty, value=balance.value + value)
            after[index] = target
            new_balance = False
            break
    else:
        target = Balance(location=location, lot=lot, status=status, qty=qty, value=value)
        after.append(target)
        new_balance = True
    levels = stock_levels([(b.location, b.status, b.qty) for b in after])
    return ReceiptEffect(average_cost, target, new_balance, levels)
