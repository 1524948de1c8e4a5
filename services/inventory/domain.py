"""Inventory rules on plain values: where a receipt lands, the moving-average cost, what a
receipt does to an item's balances, what a movement is worth, how much a reservation can hold,
and how a run's share of an order's WIP is worked out.

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
# Approved stock here, less open reservations, is what can be promised (reserved, allocated).
AVAILABLE_LOCATIONS = (LocationCode.RAW, LocationCode.FG)


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
        elif location in AVAILABLE_LOCATIONS:
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
    allocated: Decimal = Decimal(0),
) -> ReceiptEffect:
    """Receive `qty` worth `value` into (location, lot, status), given ALL the item's balances
    before the receipt and its open reservations (the caller loads them under the item's
    lock)."""
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
    levels = stock_levels([(b.location, b.status, b.qty) for b in after], allocated)
    return ReceiptEffect(average_cost, target, new_balance, levels)


# --------------------------------------------------------------------------------------------
# Movements, reservations and the relief of an order's WIP
# --------------------------------------------------------------------------------------------


def quantize(value: Decimal) -> Decimal:
    """Four decimals, half up: the scale of every stored quantity and amount."""
    return value.quantize(FOUR_PLACES, ROUND_HALF_UP)


def unit_cost(value: Decimal, qty: Decimal) -> Decimal:
    """Value per unit to four decimals; 0 for no quantity."""
    return quantize(value / qty) if qty else Decimal(0)


def value_taken(balance_qty: Decimal, balance_value: Decimal, qty: Decimal) -> Decimal:
    """The value `qty` units take out of a balance, at the balance's unit cost.

    Taking the whole balance takes its whole value (the last unit takes the remainder), so a
    balance that reaches quantity 0 reaches value 0 exactly. The share is computed from the
    balance's value, not from a rounded unit cost, so two takes of 1 and 2 out of 3 units worth
    10.00 are 3.3333 and 6.6667.
    """
    if qty <= 0:
        raise ValueError("a movement moves a positive quantity")
    if balance_qty <= 0:
        return Decimal(0)
    if qty >= balance_qty:
        return balance_value if qty == balance_qty else quantize(balance_value * qty / balance_qty)
    return quantize(balance_value * qty / balance_qty)


@dataclass(frozen=True)
class ReservationLine:
    """How much of a requirement a reservation can hold, given what is available."""

    qty_required: Decimal
    qty_available: Decimal
    qty_reserved: Decimal

    @property
    def qty_short(self) -> Decimal:
        return self.qty_required - self.qty_reserved


def reservation_line(qty_required: Decimal, qty_available: Decimal) -> ReservationLine:
    """Reserve what is required, or what is available when that is less (never below zero)."""
    if qty_required <= 0:
        raise ValueError("a reservation line requires a positive quantity")
    available = max(qty_available, Decimal(0))
    return ReservationLine(qty_required, available, min(qty_required, available))


def relief_share(
    remaining_qty: Decimal,
    remaining_value: Decimal,
    run_qty: Decimal,
    qty_still_to_make: Decimal,
    *,
    final_run: bool,
) -> tuple[Decimal, Decimal]:
    """The quantity and value of one component lot a run consumes out of an order's WIP.

    The final run takes all that is left. Any other run takes the share of what is left that its
    output (good + bad) is of what the order still has to make, rounded to four decimals, so the
    rounding remainder stays in WIP for the final run; a run that makes all that is left (or
    more) takes all of it. Quantity and value run out together: a share that rounds to all the
    units takes all the value, one that rounds to no unit takes no value.
    """
    if remaining_qty <= 0:
        return Decimal(0), Decimal(0)
    if final_run or run_qty >= qty_still_to_make:
        return remaining_qty, remaining_value
    qty = min(quantize(remaining_qty * run_qty / qty_still_to_make), remaining_qty)
    if qty == remaining_qty:  # rounded up to all the units: all their value goes with them
        return remaining_qty, remaining_value
    if qty == 0:  # rounded down to nothing: no value moves without a unit
        return Decimal(0), Decimal(0)
    value = min(quantize(remaining_value * run_qty / qty_still_to_make), remaining_value)
    return qty, value


def split_good_and_bad(
    value: Decimal, qty_good: Decimal, qty_bad: Decimal
) -> tuple[Decimal, Decimal]:
    """Split a run's relieved value between its good and bad units, by quantity; the bad units
    take the rest so the two add up to the value exactly."""
    total = qty_good + qty_bad
    if total <= 0:
        raise ValueError("a run produces something")
    good = quantize(value * qty_good / total)
    return good, value - good
