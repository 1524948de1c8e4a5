"""Sales-order rules on plain values: the order number, what a line may hold, the status an
order has given how far its production, QC, allocation and shipping have got, and what a
customer may still pay against it.

The status is computed, never set by hand (except cancelling): mrp learns the figures from
production's ProductionOrderChanged (qty passed and failed per order, with its reprint chain),
inventory's OrderShipped and the allocation inventory reported, and `order_status` turns them
into one word a planner reads. No database here; `service.py` loads the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.i18n import Text, _

MONEY = Decimal("0.01")
# NUMERIC(18, 4) holds values below 10**14; a line's value must stay well inside it.
MAX_LINE_VALUE = Decimal(10) ** 12


class SoStatus(StrEnum):
    OPEN = "open"
    IN_PRODUCTION = "in_production"
    PARTIAL_QC = "partial_qc"
    QC_FAILED = "qc_failed"
    READY_TO_SHIP = "ready_to_ship"
    PARTIAL = "partial"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


# A status as a person reads it inside a message ("a shipped sales order ...").
STATUS_NAMES: dict[SoStatus, Text] = {
    SoStatus.OPEN: _("open"),
    SoStatus.IN_PRODUCTION: _("in production"),
    SoStatus.PARTIAL_QC: _("partially passed QC"),
    SoStatus.QC_FAILED: _("failed QC"),
    SoStatus.READY_TO_SHIP: _("ready to ship"),
    SoStatus.PARTIAL: _("partially shipped"),
    SoStatus.SHIPPED: _("shipped"),
    SoStatus.CANCELLED: _("cancelled"),
}

# Statuses in which nothing more happens to the order.
FINISHED = (SoStatus.SHIPPED, SoStatus.CANCELLED)

# A production order whose parts are being made now.
MAKING = ("in_progress", "printed")


class SalesRuleBroken(Exception):
    """A business rule refused the command; `field` names the input that broke it."""

    def __init__(self, detail: str | Text, *, field: str, conflict: bool = False) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.field = field
        self.conflict = conflict


def format_so_number(year: int, number: int) -> str:
    return f"SO-{year:04d}-{number:05d}"


def extended_value(qty: Decimal, unit_price: Decimal) -> Decimal:
    """A line's value in money: qty times unit price, to the cent, half up."""
    return (qty * unit_price).quantize(MONEY, ROUND_HALF_UP)


def check_line_values(lines: Sequence[tuple[Decimal, Decimal]]) -> None:
    """Refuse a line whose value (qty times unit price) no ledger of ours could hold."""
    for index, (qty, unit_price) in enumerate(lines):
        if qty * unit_price >= MAX_LINE_VALUE:
            raise SalesRuleBroken(
                _(
                    "line {line}: {qty} x {price} is more than a line can be worth",
                    line=index + 1,
                    qty=qty,
                    price=unit_price,
                ),
                field=f"lines.{index}.qty",
            )


def check_can_cancel(status: SoStatus, shipped: Decimal, paid: Decimal = Decimal(0)) -> None:
    """An order can be cancelled until something of it has shipped or been paid (there are no
    refunds yet: cancelling a paid order would leave the customer's money on an order that no
    longer exists)."""
    if status is SoStatus.CANCELLED:
        raise SalesRuleBroken(
            _("the sales order is already cancelled"), field="status", conflict=True
        )
    if shipped > 0:
        raise SalesRuleBroken(
            _(
                "a {status} sales order cannot be cancelled: {qty} has already shipped",
                status=STATUS_NAMES[status],
                qty=shipped,
            ),
            field="status",
            conflict=True,
        )
    if paid > 0:
        raise SalesRuleBroken(
            _(
                "the sales order cannot be cancelled: the customer has paid {amount} against it",
                amount=paid,
            ),
            field="status",
            conflict=True,
        )


def check_can_change(status: SoStatus) -> None:
    """The header (penalty, notes, business unit) can change until the order is finished:
    a penalty learned while the order is in production still moves its priority."""
    if status in FINISHED:
        raise SalesRuleBroken(
            _("a {status} sales order cannot be changed", status=STATUS_NAMES[status]),
            field="status",
            conflict=True,
        )


def format_payment_id(year: int, number: int) -> str:
    return f"PAY-{year:04d}-{number:05d}"


def open_balance(value: Decimal, paid: Decimal) -> Decimal:
    """What the customer still owes on the order: its value less every payment so far."""
    return value - paid


def check_payment(status: SoStatus, amount: Decimal, value: Decimal, paid: Decimal) -> None:
    """A payment is taken against a live order (mrp has no draft orders: an order is open from
    the moment it is taken) and never for more than the order's open balance, so the customer's
    receivable cannot be paid twice over by mistake."""
    if status is SoStatus.CANCELLED:
        raise SalesRuleBroken(
            _("a cancelled sales order takes no payment"), field="status", conflict=True
        )
    balance = open_balance(value, paid)
    if amount > balance:
        raise SalesRuleBroken(
            _(
                "amount {amount} is more than the order's open balance of {balance} "
                "(value {value}, paid {paid})",
                amount=amount,
                balance=balance,
                value=value,
                paid=paid,
            ),
            field="amount",
        )


def check_can_allocate(status: SoStatus) -> None:
    if status in FINISHED:
        raise SalesRuleBroken(
            _(
                "a {status} sales order cannot be allocated stock",
                status=STATUS_NAMES[status],
            ),
            field="status",
            conflict=True,
        )


@dataclass(frozen=True)
class ProductionFigures:
    """One production order made for a line (the root or a reprint in its chain)."""

    status: str
    qty_passed: Decimal = Decimal(0)
    qty_failed: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineProgress:
    """How far one sales-order line has got."""

    qty_ordered: Decimal
    qty_shipped: Decimal = Decimal(0)
    qty_allocated: Decimal = Decimal(0)
    production: tuple[ProductionFigures, ...] = ()

    @property
    def qty_passed(self) -> Decimal:
        return sum((order.qty_passed for order in self.production), Decimal(0))

    @property
    def qty_failed(self) -> Decimal:
        return sum((order.qty_failed for order in self.production), Decimal(0))

    @property
    def qty_ready(self) -> Decimal:
        """Units ready for the line: passed by its production orders plus allocated stock."""
        return self.qty_passed + self.qty_allocated

    @property
    def covered(self) -> bool:
        """Everything not yet shipped is ready."""
        return self.qty_ready >= self.qty_ordered - self.qty_shipped

    @property
    def fully_shipped(self) -> bool:
        return self.qty_shipped >= self.qty_ordered


def order_status(lines: Sequence[LineProgress], *, cancelled: bool = False) -> SoStatus:
    """The status of an order from its lines, the first rule that holds:

    - cancelled: the order was cancelled (nothing else moves it);
    - shipped: every line fully shipped;
    - partial: something shipped, not everything;
    - ready_to_ship: every line covered (passed by its production orders + allocated stock);
    - partial_qc: QC passed part of a line and the rest is not covered yet: a reprint or the
      rest of its production is open, or about to be (production opens the reprint in the
      transaction that records the QC, but mrp may hear the root order's change first, and
      the order must not fall back to "open" meanwhile);
    - qc_failed: QC failed units and has passed none so far;
    - in_production: a production order for a line is being made (in progress or printed);
    - open: otherwise (nothing made, allocated or shipped yet).
    """
    if cancelled:
        return SoStatus.CANCELLED
    if not lines:
        return SoStatus.OPEN
    if all(line.fully_shipped for line in lines):
        return SoStatus.SHIPPED
    if any(line.qty_shipped > 0 for line in lines):
        return SoStatus.PARTIAL
    if all(line.covered for line in lines):
        return SoStatus.READY_TO_SHIP
    if any(line.qty_passed > 0 and not line.covered for line in lines):
        return SoStatus.PARTIAL_QC
    passed = sum((line.qty_passed for line in lines), Decimal(0))
    failed = sum((line.qty_failed for line in lines), Decimal(0))
    if failed > 0 and passed == 0:
        return SoStatus.QC_FAILED
    if any(order.status in MAKING for line in lines for order in line.production):
        return SoStatus.IN_PRODUCTION
    return SoStatus.OPEN
