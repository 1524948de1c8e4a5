"""The scheduling grid's rules on plain values: which lines are open, how a SKU's finished goods
on hand cover its open lines (in due-date order), the net quantity still to make, the monthly
shipping cutoff on the 19th and the FG value cards it splits, and what a planner may type in a
projection cell. No database here; `service.py` loads the figures and saves the cells.

The plant's shipping month closes on the 19th: what ships by the 19th counts for this month.
So the current cutoff is the 19th of this month while today is on or before the 19th, and the
19th of next month after it; the next cutoff is the 19th of the month after the current one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.mrp.sales.domain import STATUS_NAMES, SoStatus, extended_value
from shared.i18n import Text, _

ZERO = Decimal(0)
CUTOFF_DAY = 19
# An order in one of these statuses takes no more projections (nothing more will ship).
CLOSED_STATUSES = frozenset({SoStatus.SHIPPED, SoStatus.CANCELLED})


class ProjectionField(StrEnum):
    """The two cells a planner types in."""

    LOW_RISK_QTY = "low_risk_qty"
    HIGH_RISK_QTY = "high_risk_qty"


FIELD_NAMES: dict[ProjectionField, Text] = {
    ProjectionField.LOW_RISK_QTY: _("No/Low Risk Qty"),
    ProjectionField.HIGH_RISK_QTY: _("High Risk Qty"),
}


class Period(StrEnum):
    """Where a line's due date falls against the cutoffs."""

    CURRENT = "current"  # on or before the current cutoff (overdue lines too)
    NEXT = "next"  # after the current cutoff, on or before the next one
    LATER = "later"  # after the next cutoff, or no due date at all


class ScheduleRuleBroken(Exception):
    """A save the rules refuse; `field` names the input, `conflict` makes it a 409."""

    def __init__(
        self, detail: str | Text, *, field: str, code: str, conflict: bool = False
    ) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.field = field
        self.code = code
        self.conflict = conflict


# --- open lines ---------------------------------------------------------------------------------


def is_open(status: str, qty_ordered: Decimal, qty_shipped: Decimal) -> bool:
    """A line is on the grid while its order can still ship and it has something left."""
    return status not in CLOSED_STATUSES and qty_shipped < qty_ordered


@dataclass(frozen=True)
class OpenLine:
    """What the cover and the cards need of one open line."""

    so_line_id: int
    so_number: str
    line_no: int
    sku: str
    due_date: date | None
    qty_ordered: Decimal
    qty_shipped: Decimal
    unit_price: Decimal
    # Stock inventory holds for this line (a make-to-stock allocation).
    qty_allocated: Decimal = ZERO

    @property
    def qty_open(self) -> Decimal:
        return max(self.qty_ordered - self.qty_shipped, ZERO)


def due_order(line: OpenLine) -> tuple[bool, date, str, int]:
    """Earliest due first; a line without a due date after every dated one; then by order and
    line number, so the same stock always covers the same lines."""
    return (line.due_date is None, line.due_date or date.max, line.so_number, line.line_no)


def cover_by_line(lines: Iterable[OpenLine], on_hand: Mapping[str, Decimal]) -> dict[int, Decimal]:
    """How much of each line the SKU's approved FG on hand covers.

    Stock inventory already holds for a line covers that line first; the rest of the SKU's
    stock then goes to its open lines in due-date order, each taking up to what it still
    lacks, until none is left. One unit on the shelf covers one line only: two lines of a SKU
    with 10 on hand are not both reduced by 10."""
    ordered = sorted(lines, key=due_order)
    left = {sku: max(qty, ZERO) for sku, qty in on_hand.items()}
    covered: dict[int, Decimal] = {}
    for line in ordered:
        held = min(max(line.qty_allocated, ZERO), line.qty_open, left.get(line.sku, ZERO))
        covered[line.so_line_id] = held
        if held:
            left[line.sku] -= held
    for line in ordered:
        take = min(left.get(line.sku, ZERO), line.qty_open - covered[line.so_line_id])
        if take > 0:
            covered[line.so_line_id] += take
            left[line.sku] -= take
    return covered


def net_qty(qty_open: Decimal, covered: Decimal) -> Decimal:
    """What is still to make for a line: ordered - shipped - the FG on hand that covers it.
    Never negative: stock beyond the line's need covers the next line of the SKU, or shows as
    FG on hand no line needs (a card), not as a negative need."""
    return max(qty_open - covered, ZERO)


def value(qty: Decimal | None, unit_price: Decimal) -> Decimal | None:
    """A quantity in money at the line's price (to the cent, half up); None for an empty cell."""
    return None if qty is None else extended_value(qty, unit_price)


# --- the 19th-day cutoff ------------------------------------------------------------------------


def _nineteenth_after(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, CUTOFF_DAY)


def cutoffs(today: date) -> tuple[date, date]:
    """The current cutoff (the 19th of this month while today ≤ the 19th, else of next month)
    and the next one (the 19th of the month after that)."""
    current = _nineteenth_after(today, 0 if today.day <= CUTOFF_DAY else 1)
    return current, _nineteenth_after(current, 1)


def period_of(due: date | None, current: date, following: date) -> Period:
    if due is None or due > following:
        return Period.LATER
    return Period.CURRENT if due <= current else Period.NEXT


# --- the FG value cards -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stock:
    """A SKU's approved FG on hand and what a unit of it cost."""

    on_hand: Decimal
    average_cost: Decimal


@dataclass
class CardValue:
    at_cost: Decimal = ZERO
    at_price: Decimal = ZERO

    def add(self, qty: Decimal, unit_cost: Decimal, unit_price: Decimal | None) -> None:
        self.at_cost += extended_value(qty, unit_cost)
        if unit_price is not None:
            self.at_price += extended_value(qty, unit_price)


@dataclass
class FgCards:
    """FG on hand split by what it covers: lines due by the current cutoff, lines due in the
    next cutoff period, and the rest (lines due later or undated, and stock no line needs)."""

    as_of: date
    current_cutoff: date
    next_cutoff: date
    total: CardValue = field(default_factory=CardValue)
    current: CardValue = field(default_factory=CardValue)
    next: CardValue = field(default_factory=CardValue)
    not_needed: CardValue = field(default_factory=CardValue)
    # SKUs with stock but no open line: no sales price to value them at.
    unpriced_skus: list[str] = field(default_factory=list)


def fg_cards(
    today: date,
    lines: Sequence[OpenLine],
    stock: Mapping[str, Stock],
    covered: Mapping[int, Decimal],
) -> FgCards:
    """The cards, from the cover of every open line (`cover_by_line` over the same lines).

    Stock covering a line is valued at the line's price and counted in its period. Stock no
    line needs is valued at the price of the SKU's last line in due-date order (the most recent
    price the plant is selling it at); with no open line at all it has no price, and the SKU
    is listed in `unpriced_skus`."""
    current, following = cutoffs(today)
    cards = FgCards(as_of=today, current_cutoff=current, next_cutoff=following)
    buckets = {Period.CURRENT: cards.current, Period.NEXT: cards.next}
    left = {sku: max(each.on_hand, ZERO) for sku, each in stock.items()}
    last_price: dict[str, Decimal] = {}
    for line in sorted(lines, key=due_order):
        last_price[line.sku] = line.unit_price
        qty = covered.get(line.so_line_id, ZERO)
        if not qty or line.sku not in stock:
            continue
        unit_cost = stock[line.sku].average_cost
        cards.total.add(qty, unit_cost, line.unit_price)
        bucket = buckets.get(period_of(line.due_date, current, following), cards.not_needed)
        bucket.add(qty, unit_cost, line.unit_price)
        left[line.sku] -= qty
    for sku in sorted(left):
        qty = left[sku]
        if qty <= 0:
            continue
        price = last_price.get(sku)
        if price is None:
            cards.unpriced_skus.append(sku)
        cards.total.add(qty, stock[sku].average_cost, price)
        cards.not_needed.add(qty, stock[sku].average_cost, price)
    return cards


# --- saving a projection cell -------------------------------------------------------------------


def plain(qty: Decimal) -> str:
    """A quantity as a person writes it in a message: 12.5, not 12.5000 or 1.25E+1."""
    text = format(qty, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_line_takes_projections(
    so_number: str, line_no: int, status: str, qty_ordered: Decimal, qty_shipped: Decimal
) -> None:
    """A finished order or a fully shipped line takes no projection: 409 naming the line."""
    if status in CLOSED_STATUSES:
        raise ScheduleRuleBroken(
            _(
                "{so_number} line {line_no} is on a {status} sales order: its projections "
                "can no longer change.",
                so_number=so_number,
                line_no=line_no,
                status=STATUS_NAMES[SoStatus(status)],
            ),
            field="so_line_id",
            code="line_closed",
            conflict=True,
        )
    if qty_shipped >= qty_ordered:
        raise ScheduleRuleBroken(
            _(
                "{so_number} line {line_no} has shipped in full: its projections can no "
                "longer change.",
                so_number=so_number,
                line_no=line_no,
            ),
            field="so_line_id",
            code="line_closed",
            conflict=True,
        )


def check_projection_value(
    target: ProjectionField, new_value: Decimal | None, qty_open: Decimal
) -> None:
    """A projection is part of what is still to ship: from 0 up to the line's open quantity
    (ordered - shipped). More than that is a typo (an extra zero), refused naming `value`.

    The two cells are checked one at a time, not their sum: moving a quantity from one column
    to the other takes two saves, and the first would otherwise be refused."""
    if new_value is None:
        return
    if new_value < 0:  # the schema refuses it first; kept for callers without the schema
        raise ScheduleRuleBroken(
            _("{field} cannot be negative.", field=FIELD_NAMES[target]),
            field="value",
            code="negative_projection",
        )
    if new_value > qty_open:
        raise ScheduleRuleBroken(
            _(
                "{field} {value} is more than the {open} still open on the line (ordered less "
                "shipped).",
                field=FIELD_NAMES[target],
                value=plain(new_value),
                open=plain(qty_open),
            ),
            field="value",
            code="projection_above_open_qty",
        )
