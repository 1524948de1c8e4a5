"""Rules of the store's own stock movements, on plain values: which locations a transfer may
use, the reasons a count may be adjusted for, what a count changes and what found stock is
worth (at a stated unit cost, as an opening balance must give one, or at the average). No
database here; `service.py` loads the numbers, asks these, and moves the stock.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.types import PRECISION, SCALE
from shared.values import FOUR_PLACES

# What a stock value can be: below 10^14, as the balances' NUMERIC(18, 4) holds.
VALUE_LIMIT = Decimal(10) ** (PRECISION - SCALE)

# Locations whose stock moves only by their own process, never by a store transfer or a count:
# WIP belongs to production orders (issue, relief, return), SCRAP to scrap decisions, and the
# QC hold empties by inspection (release of received material, QC decisions on output).
NOT_TRANSFERABLE = frozenset({"WIP", "SCRAP", "QC"})
NOT_COUNTED = frozenset({"WIP", "SCRAP"})
# Received material released from the QC hold goes to raw stock (where a receipt of approved
# material would have put it).
RELEASE_FROM = "QC"
RELEASE_TO = "RAW"


class AdjustmentReason(StrEnum):
    """Why a cycle count changed the stock: the `reason_code` of a StockAdjusted."""

    COUNT_CORRECTION = "count_correction"
    DAMAGED = "damaged"
    FOUND = "found"
    LOST = "lost"
    EXPIRED = "expired"
    OBSOLETE = "obsolete"
    # Stock the plant had before the portal kept its books (a migration's first count): a gain
    # at a stated unit cost, which accounting books against opening-balance equity, not as a
    # gain or loss of the period.
    OPENING_BALANCE = "opening_balance"


class NothingToAdjust(Exception):
    """The count equals the balance (or the delta is zero)."""


class MoreThanHeld(Exception):
    """A count would take more than the balance holds."""

    def __init__(self, held: Decimal) -> None:
        super().__init__(f"the balance holds {held}")
        self.held = held


def adjustment_delta(
    held: Decimal, qty_counted: Decimal | None, qty_delta: Decimal | None
) -> Decimal:
    """The quantity an adjustment adds (negative: removes), from a count or a delta.

    Exactly one of `qty_counted` and `qty_delta` is given (the request body checks it). A count
    equal to the balance, or a zero delta, changes nothing and is refused; a delta that would
    leave the balance below zero is refused too.
    """
    delta = qty_counted - held if qty_counted is not None else qty_delta
    if delta is None or delta == 0:
        raise NothingToAdjust
    if held + delta < 0:
        raise MoreThanHeld(held)
    return delta


class CostOnLoss(Exception):
    """A unit cost was given for stock that leaves: a loss leaves at its balance's unit cost."""


class OpeningBalanceNotAGain(Exception):
    """An opening balance that would take stock away."""


class OpeningBalanceWithoutCost(Exception):
    """An opening balance without its unit cost."""


def check_valuation(reason: AdjustmentReason, delta: Decimal, unit_cost: Decimal | None) -> None:
    """Refuse a valuation that cannot be: a unit cost on a loss; an opening balance that is not
    a gain, or has no unit cost. A cost of 0 is a cost (customer-supplied material can have
    none), so only a missing one is refused."""
    if reason == AdjustmentReason.OPENING_BALANCE:
        if delta < 0:
            raise OpeningBalanceNotAGain
        if unit_cost is None:
            raise OpeningBalanceWithoutCost
    if unit_cost is not None and delta < 0:
        raise CostOnLoss


class ValueTooLarge(Exception):
    """Found stock worth more than a balance can hold."""


def found_value(
    delta: Decimal,
    average_cost: Decimal,
    unit_cost: Decimal | None = None,
    held: Decimal = Decimal(0),
) -> Decimal:
    """What stock found by a count is worth: the unit cost stated for it, else the item's
    moving-average cost. (Stock lost is worth what the balance it leaves holds per unit; the
    stock primitive takes it at that.) ValueTooLarge when it, or the balance's value `held`
    with it, is beyond what a stock value can be."""
    cost = unit_cost if unit_cost is not None else average_cost
    value = delta * cost
    # Checked before rounding: 10^14 x 10^14 has more digits than the decimal context keeps.
    if abs(value) >= VALUE_LIMIT or abs(held + value) >= VALUE_LIMIT:
        raise ValueTooLarge
    return value.quantize(FOUR_PLACES, ROUND_HALF_UP)
