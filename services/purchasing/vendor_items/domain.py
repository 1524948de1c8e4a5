"""Vendor-item rules on plain values: how much a need becomes once a vendor's terms apply.

A vendor sells no less than its minimum order quantity (MOQ) and, when it packs in fixed lots,
only whole multiples of its order multiple: a need of 7 at MOQ 10 and multiple 4 is ordered
as 12 (7 → 10 for the MOQ, then 10 → 12, the next multiple of 4).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from shared.values import FOUR_PLACES

# The longest lead time a vendor item may have: ten years is a typo, not a vendor.
MAX_LEAD_TIME_DAYS = 3650


def order_quantity(need: Decimal, moq: Decimal, order_multiple: Decimal | None) -> Decimal:
    """`need` rounded up to the MOQ, then up to a whole number of order multiples."""
    qty = max(need, moq)
    if order_multiple is not None and order_multiple > 0:
        lots = (qty / order_multiple).to_integral_value(rounding=ROUND_CEILING)
        qty = lots * order_multiple
    return qty.quantize(FOUR_PLACES, rounding=ROUND_CEILING)
