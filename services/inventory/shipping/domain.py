"""Shipping rules on plain values: the shipment number, what a shipment may take of a sales order
line, where the finished goods come from (the line's allocation, topped up from available FG for
a make-to-stock sale), and the money of each line (cost from the lots, price from the order).

No database here; `service.py` loads the figures under the items' locks and applies the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.i18n import Text, _

MONEY = Decimal("0.01")
ZERO = Decimal(0)
# Sales-order statuses in which nothing may ship.
NOT_SHIPPABLE = ("draft", "cancelled", "closed", "shipped")
# Sales-order statuses after which the order holds no stock.
DONE = ("cancelled", "closed", "shipped")


class ShippingRuleBroken(Exception):
    """A shipment the rules refuse; `conflict` for a 409 (the state says no), else 422."""

    def __init__(
        self, detail: str | Text, *, field: str, conflict: bool = False, code: str | None = None
    ) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.field = field
        self.conflict = conflict
        self.code = code


def format_shipment_id(year: int, number: int) -> str:
    return f"SHP-{year:04d}-{number:05d}"


def sales_value(qty: Decimal, unit_price: Decimal) -> Decimal:
    """What the customer is charged for `qty`: qty times price, to the cent, half up."""
    return (qty * unit_price).quantize(MONEY, ROUND_HALF_UP)


def split_by_qty(total: Decimal, quantities: Sequence[Decimal]) -> list[Decimal]:
    """`total` shared over parts in proportion to their quantities, to the cent; the last part
    takes the remainder, so the parts add up to `total` exactly."""
    whole = sum(quantities, ZERO)
    shares: list[Decimal] = []
    for qty in quantities[:-1]:
        shares.append((total * qty / whole).quantize(MONEY, ROUND_HALF_UP) if whole else ZERO)
    if quantities:
        shares.append(total - sum(shares, ZERO))
    return shares


def check_can_ship(so_number: str, status: str) -> None:
    if status in NOT_SHIPPABLE:
        raise ShippingRuleBroken(
            _(
                "sales order {so_number} is {status}: nothing more can ship",
                so_number=so_number,
                status=status,
            ),
            field="so_number",
            conflict=True,
        )


@dataclass(frozen=True)
class OrderLine:
    """A sales order line as shipping knows it: ordered (mrp), shipped so far (inventory)."""

    line_no: int
    sku: str
    qty_ordered: Decimal
    qty_shipped: Decimal

    @property
    def qty_open(self) -> Decimal:
        return self.qty_ordered - self.qty_shipped


def check_lines(wanted: Sequence[tuple[int, Decimal]], lines: dict[int, OrderLine]) -> None:
    """Each requested (line_no, qty) names a line of the order once and takes no more than is
    still open on it."""
    seen: set[int] = set()
    for index, (line_no, qty) in enumerate(wanted):
        line = lines.get(line_no)
        if line is None:
            raise ShippingRuleBroken(
                _("the sales order has no line {line_no}", line_no=line_no),
                field=f"lines.{index}.line_no",
            )
        if line_no in seen:
            raise ShippingRuleBroken(
                _("line {line_no} is named twice", line_no=line_no),
                field=f"lines.{index}.line_no",
            )
        seen.add(line_no)
        if qty > line.qty_open:
            raise ShippingRuleBroken(
                _(
                    "line {line_no}: {qty} to ship but only {open} open "
                    "({ordered} ordered, {shipped} shipped)",
                    line_no=line_no,
                    qty=qty,
                    open=line.qty_open,
                    ordered=line.qty_ordered,
                    shipped=line.qty_shipped,
                ),
                field=f"lines.{index}.qty",
                code="over_shipment",
            )


def extra_allocation(
    index: int,
    line: OrderLine,
    qty: Decimal,
    allocated: Decimal,
    available: Decimal,
    fg_on_hand: Decimal,
) -> Decimal:
    """What must be allocated from available FG before `qty` of the line can ship, given what
    its allocation still holds (`allocated`), what is available to promise and what approved
    FG is on hand. Refused (409 naming the line) when the FG is not there."""
    extra = max(qty - allocated, ZERO)
    if extra > available or qty > fg_on_hand:
        raise ShippingRuleBroken(
            _(
                "line {line_no}: not enough {sku} in finished goods to ship {qty} "
                "({allocated} allocated to the order, {available} more available, "
                "{on_hand} approved in FG)",
                line_no=line.line_no,
                sku=line.sku,
                qty=qty,
                allocated=allocated,
                available=max(available, ZERO),
                on_hand=fg_on_hand,
            ),
            field=f"lines.{index}.qty",
            conflict=True,
            code="insufficient_stock",
        )
    return extra


def pick_order(
    lots: Sequence[tuple[str, Decimal]], preferred: Sequence[str], qty: Decimal
) -> list[tuple[str, Decimal]]:
    """Lots to take `qty` from: the line's own production lots first (a make-to-order line ships
    what was made for it), then the rest oldest first; `lots` comes in FIFO order."""
    ordered = [lot for lot in lots if lot[0] in preferred] + [
        lot for lot in lots if lot[0] not in preferred
    ]
    picks: list[tuple[str, Decimal]] = []
    left = qty
    for lot, held in ordered:
        if left <= 0:
            break
        take = min(held, left)
        if take > 0:
            picks.append((lot, take))
            left -= take
    return picks
