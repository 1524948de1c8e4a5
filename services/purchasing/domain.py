"""Purchasing rules on plain values: the life of a purchase order and what a receipt may take.

A PO moves draft → submitted → partial → received (or cancelled before any receipt). A receipt
is refused as a whole when any line of it breaks a rule, so a dock clerk never half-receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.i18n import Text, _

MONEY = Decimal("0.01")


class PoStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PARTIAL = "partial"
    RECEIVED = "received"
    CANCELLED = "cancelled"


RECEIVABLE = (PoStatus.SUBMITTED, PoStatus.PARTIAL)

# A status as a person reads it inside a message ("a received purchase order ...").
STATUS_NAMES: dict[PoStatus, Text] = {
    PoStatus.DRAFT: _("draft"),
    PoStatus.SUBMITTED: _("submitted"),
    PoStatus.PARTIAL: _("partial"),
    PoStatus.RECEIVED: _("received"),
    PoStatus.CANCELLED: _("cancelled"),
}


class PurchasingRuleBroken(Exception):
    """A business rule refused the command; `field` names the input that broke it."""

    def __init__(self, detail: str | Text, *, field: str, conflict: bool = False) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.field = field
        self.conflict = conflict


@dataclass(frozen=True)
class LineState:
    line_no: int
    qty_ordered: Decimal
    qty_received: Decimal

    @property
    def open_qty(self) -> Decimal:
        return self.qty_ordered - self.qty_received


def extended_value(qty: Decimal, unit_cost: Decimal) -> Decimal:
    """The receipt's value in money: qty times unit cost, to the cent, half up."""
    return (qty * unit_cost).quantize(MONEY, ROUND_HALF_UP)


# NUMERIC(18, 4) holds values below 10**14; a line or PO total must stay well inside it.
MAX_LINE_VALUE = Decimal(10) ** 12


def receipt_value(qty_received_before: Decimal, qty: Decimal, unit_cost: Decimal) -> Decimal:
    """The value of receiving `qty` more of a line, in cents, so receipts add up to the line.

    Each receipt is the line's value after it less its value before it, both rounded to the
    cent. Rounding each receipt on its own would drift: three receipts of 1 at 0.035 would
    book 0.12 against a line worth 0.11.
    """
    after = extended_value(qty_received_before + qty, unit_cost)
    return after - extended_value(qty_received_before, unit_cost)


def check_line_values(lines: list[tuple[Decimal, Decimal]]) -> None:
    """Refuse a line whose value (qty times unit cost) no ledger of ours could hold."""
    for index, (qty, unit_cost) in enumerate(lines):
        if qty * unit_cost >= MAX_LINE_VALUE:
            raise PurchasingRuleBroken(
                _(
                    "line value {qty} x {unit_cost} is beyond {limit}",
                    qty=qty,
                    unit_cost=unit_cost,
                    limit=f"{MAX_LINE_VALUE:,}",
                ),
                field=f"lines.{index}.qty",
            )


def check_can_submit(status: PoStatus, line_count: int) -> None:
    if status is not PoStatus.DRAFT:
        raise PurchasingRuleBroken(
            _("only a draft can be submitted; this PO is {status}", status=STATUS_NAMES[status]),
            field="status",
            conflict=True,
        )
    if line_count == 0:
        raise PurchasingRuleBroken(_("a purchase order needs at least one line"), field="lines")


def check_receipt(
    status: PoStatus, lines: dict[int, LineState], receipt: list[tuple[int, Decimal]]
) -> None:
    """Refuse a receipt on a PO not yet submitted or closed, an unknown line, or over-receipt."""
    if status not in RECEIVABLE:
        raise PurchasingRuleBroken(
            _(
                "a {status} purchase order cannot be received against; submit it first",
                status=STATUS_NAMES[status],
            )
            if status is PoStatus.DRAFT
            else _("a {status} purchase order takes no more receipts", status=STATUS_NAMES[status]),
            field="status",
            conflict=True,
        )
    if not receipt:
        raise PurchasingRuleBroken(_("a receipt needs at least one line"), field="lines")
    receiving: dict[int, Decimal] = {}
    for index, (line_no, qty) in enumerate(receipt):
        if line_no not in lines:
            raise PurchasingRuleBroken(
                _("the PO has no line {line_no}", line_no=line_no), field=f"lines.{index}.line_no"
            )
        if qty <= 0:
            raise PurchasingRuleBroken(
                _("quantity must be greater than zero"), field=f"lines.{index}.qty"
            )
        receiving[line_no] = receiving.get(line_no, Decimal(0)) + qty
        if receiving[line_no] > lines[line_no].open_qty:
            raise PurchasingRuleBroken(
                _(
                    "line {line_no} has {open_qty} open; receiving {qty} would exceed the "
                    "ordered {ordered}",
                    line_no=line_no,
                    open_qty=lines[line_no].open_qty,
                    qty=receiving[line_no],
                    ordered=lines[line_no].qty_ordered,
                ),
                field=f"lines.{index}.qty",
            )


def status_after_receipt(lines: list[LineState]) -> PoStatus:
    if all(line.qty_received >= line.qty_ordered for line in lines):
        return PoStatus.RECEIVED
    return PoStatus.PARTIAL


def format_po_number(year: int, number: int) -> str:
    return f"PO-{year}-{number:05d}"


def format_receipt_number(year: int, number: int) -> str:
    return f"RCV-{year}-{number:05d}"
