"""Production order rules on plain values: the life of an order on the floor, what a run and a
QC decision may count, when a shortfall is reprinted, and the figures of a reprint chain.

    draft -> scheduled -> in_progress -> printed -> completed
      \\________\\______________\\-> cancelled

A run is recorded only while the order is in progress; its final run prints the order. QC
inspects a printed order's good output, in one go or in parts; once all of it is inspected the
order is completed. An item that needs no QC (`requires_qc` false) sends its good output
straight to finished goods: its final run completes the order, its good units count as
accepted (`qty_passed`, so everyone downstream reads one figure for "good and usable"), and QC
on it is refused. A final run with no good unit at all leaves nothing to inspect either, and
completes the order too. Whenever an order completes short of what was ordered (after QC, or
at such a final run), the shortfall is reprinted unless the user said not to.

No database here: `service.py` loads the order and asks these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.i18n import _
from shared.web.problems import Conflict, InvalidInput

YIELD_PLACES = Decimal("0.0001")
ORDER_PREFIX = "PRD"


class OrderStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    PRINTED = "printed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class OrderType(StrEnum):
    MTO = "mto"  # made to order: for a sales order line
    MTS = "mts"  # made to stock


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


# Most urgent first when a queue sorts by priority.
PRIORITY_RANK: Mapping[Priority, int] = {
    Priority.URGENT: 4,
    Priority.HIGH: 3,
    Priority.NORMAL: 2,
    Priority.LOW: 1,
}

# Which status each may move to. Scheduling a scheduled order again changes its line or start.
# in_progress -> completed is the final run of an item that needs no QC.
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.DRAFT: frozenset(
        {OrderStatus.SCHEDULED, OrderStatus.IN_PROGRESS, OrderStatus.CANCELLED}
    ),
    OrderStatus.SCHEDULED: frozenset(
        {OrderStatus.SCHEDULED, OrderStatus.IN_PROGRESS, OrderStatus.CANCELLED}
    ),
    OrderStatus.IN_PROGRESS: frozenset(
        {OrderStatus.PRINTED, OrderStatus.COMPLETED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PRINTED: frozenset({OrderStatus.COMPLETED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

OPEN_STATUSES = frozenset(
    {OrderStatus.DRAFT, OrderStatus.SCHEDULED, OrderStatus.IN_PROGRESS, OrderStatus.PRINTED}
)


def can_move(current: OrderStatus, wanted: OrderStatus) -> bool:
    return wanted in TRANSITIONS[current]


def transition_refused(code: str, current: OrderStatus, wanted: OrderStatus) -> Conflict:
    return Conflict(
        _(
            "Production order {code} is {current}; it cannot become {wanted}.",
            code=code,
            current=current.value,
            wanted=wanted.value,
        ),
        field="status",
        code="order_transition",
    )


def check_transition(code: str, current: OrderStatus, wanted: OrderStatus) -> None:
    if not can_move(current, wanted):
        raise transition_refused(code, current, wanted)


def format_order_code(year: int, number: int) -> str:
    return f"{ORDER_PREFIX}-{year}-{number:05d}"


def order_type_for(
    order_type: OrderType | None, so_number: str | None, so_line_no: int | None
) -> OrderType:
    """The order's type, given or implied (a sales order line makes it made-to-order); a
    made-to-order order names its sales order line, a made-to-stock one does not."""
    chosen = order_type or (OrderType.MTO if so_number else OrderType.MTS)
    if chosen is OrderType.MTO:
        if not so_number:
            raise InvalidInput(
                _("A make-to-order production order needs its sales order number."),
                field="so_number",
            )
        if so_line_no is None:
            raise InvalidInput(
                _("A make-to-order production order needs its sales order line number."),
                field="so_line_no",
            )
    elif so_number or so_line_no is not None:
        raise InvalidInput(
            _("A make-to-stock production order has no sales order; leave it out."),
            field="so_number" if so_number else "so_line_no",
        )
    return chosen


def qty_to_make_for(qty_ordered: Decimal, qty_to_make: Decimal | None) -> Decimal:
    """What the floor makes: the quantity ordered, or more (an overprint allowance)."""
    if qty_ordered <= 0:
        raise InvalidInput(_("Must be greater than {gt}.", gt=0), field="qty_ordered")
    if qty_to_make is None:
        return qty_ordered
    if qty_to_make < qty_ordered:
        raise InvalidInput(
            _(
                "The quantity to make ({qty_to_make}) cannot be less than the quantity "
                "ordered ({qty_ordered}).",
                qty_to_make=qty_to_make,
                qty_ordered=qty_ordered,
            ),
            field="qty_to_make",
        )
    return qty_to_make


def check_dates(due_date: date | None, planned_start_day: date | None) -> None:
    if due_date is not None and planned_start_day is not None and planned_start_day > due_date:
        raise InvalidInput(
            _("The planned start is after the due date."),
            field="planned_start",
        )


def check_run(code: str, status: OrderStatus, qty_good: Decimal, qty_bad: Decimal) -> None:
    """A run is counted only on an order in progress, and counts something."""
    if status is not OrderStatus.IN_PROGRESS:
        raise Conflict(
            _(
                "Production order {code} is {status}: runs are recorded only while it is "
                "in progress (start it first).",
                code=code,
                status=status.value,
            ),
            field="status",
            code="not_in_progress",
        )
    if qty_good < 0 or qty_bad < 0:
        raise InvalidInput(
            _("Must be at least {ge}.", ge=0), field="qty_good" if qty_good < 0 else "qty_bad"
        )
    if qty_good == 0 and qty_bad == 0:
        raise InvalidInput(
            _("A run counts at least one unit, good or bad."),
            field="qty_good",
        )


def status_after_final_run(requires_qc: bool, qty_good: Decimal) -> OrderStatus:
    """Printed, awaiting QC; completed when nothing is left to inspect (the item needs no QC,
    or not one good unit was printed)."""
    return OrderStatus.PRINTED if requires_qc and qty_good > 0 else OrderStatus.COMPLETED


@dataclass(frozen=True)
class QcFigures:
    """What an order has printed good and inspected so far."""

    qty_good: Decimal
    qty_passed: Decimal
    qty_failed: Decimal

    @property
    def awaiting_qc(self) -> Decimal:
        return self.qty_good - self.qty_passed - self.qty_failed


def check_qc(
    code: str,
    status: OrderStatus,
    requires_qc: bool,
    figures: QcFigures,
    qty_passed: Decimal,
    qty_failed: Decimal,
) -> None:
    """A QC decision: on a printed order whose item needs QC, for no more than the good output
    still waiting for inspection."""
    if not requires_qc:
        raise Conflict(
            _(
                "Production order {code} makes an item that needs no QC: its good output "
                "went straight to finished goods, there is nothing to inspect.",
                code=code,
            ),
            field="status",
            code="qc_not_required",
        )
    if status is not OrderStatus.PRINTED:
        message = (
            _(
                "Production order {code} has no output left to inspect: QC is complete.",
                code=code,
            )
            if status is OrderStatus.COMPLETED
            else _(
                "Production order {code} is {status}: QC comes after its final run "
                "(nothing has been printed to inspect).",
                code=code,
                status=status.value,
            )
        )
        raise Conflict(message, field="status", code="not_printed")
    if qty_passed < 0 or qty_failed < 0:
        raise InvalidInput(
            _("Must be at least {ge}.", ge=0),
            field="qty_passed" if qty_passed < 0 else "qty_failed",
        )
    if qty_passed == 0 and qty_failed == 0:
        raise InvalidInput(
            _("A QC decision passes or fails at least one unit."), field="qty_passed"
        )
    if qty_passed + qty_failed > figures.awaiting_qc:
        raise InvalidInput(
            _(
                "Passed plus failed ({inspected}) is more than the good output waiting for "
                "QC ({awaiting}).",
                inspected=qty_passed + qty_failed,
                awaiting=figures.awaiting_qc,
            ),
            field="qty_passed",
            code="more_than_printed",
            extensions={"qty_awaiting_qc": format(figures.awaiting_qc, "f")},
        )


def reprint_shortfall(qty_ordered: Decimal, qty_passed: Decimal) -> Decimal:
    """How many more are needed to deliver what was ordered (0 when enough passed)."""
    return max(qty_ordered - qty_passed, Decimal(0))


def reprint_reason(
    qc_reason: str | None,
    earlier_qc_reasons: Iterable[str | None],
    run_reasons: Iterable[str | None],
    fallback: str,
) -> str:
    """Why a reprint is needed: the failure of this QC decision, else the latest failure at an
    earlier one, else the latest scrap at a run, else `fallback`."""
    for reason in (qc_reason, *reversed(list(earlier_qc_reasons)), *reversed(list(run_reasons))):
        if reason:
            return reason
    return fallback


@dataclass(frozen=True)
class ChainOrder:
    """One order of a reprint chain, as its totals need it."""

    qty_ordered: Decimal
    qty_good: Decimal
    qty_bad: Decimal
    qty_passed: Decimal
    qty_failed: Decimal


@dataclass(frozen=True)
class ChainTotals:
    orders_in_chain: int
    qty_ordered: Decimal
    qty_printed: Decimal
    qty_completed: Decimal
    qty_scrapped: Decimal
    effective_yield: Decimal | None


def chain_totals(root_qty_ordered: Decimal, orders: Iterable[ChainOrder]) -> ChainTotals:
    """The figures of a whole chain: what the customer ordered (the root's quantity), what
    passed, what was scrapped at runs and at QC, and the effective yield: passed units over
    every unit printed, good or bad, across the chain (None before anything is printed)."""
    chain = list(orders)
    printed = sum((o.qty_good + o.qty_bad for o in chain), Decimal(0))
    passed = sum((o.qty_passed for o in chain), Decimal(0))
    scrapped = sum((o.qty_bad + o.qty_failed for o in chain), Decimal(0))
    effective = (
        (passed / printed).quantize(YIELD_PLACES, rounding=ROUND_HALF_UP) if printed else None
    )
    return ChainTotals(
        orders_in_chain=len(chain),
        qty_ordered=root_qty_ordered,
        qty_printed=printed,
        qty_completed=passed,
        qty_scrapped=scrapped,
        effective_yield=effective,
    )
