"""The order in which the MRP serves open lines: by due-to-ship date, or by a priority score
whose weights a planner sets. Earlier lines take stock first, so this order is the plan's
policy; the score's parts are kept so each line can show why it stands where it does.

The score is a weighted sum of four parts, each between 0 and 1:
- customer: (6 - priority) / 5, so priority 1 gives 1 and priority 5 gives 0.2;
- value: the line's open value over the largest open value in the run;
- due: 1 - days until due / horizon, clamped to 0..1 (overdue or due today: 1; no date: 0);
- penalty: 1 when the order carries a contractual penalty for shipping late.
Ties are broken by due date, then sales-order number and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.mrp.planning.domain import FOUR_PLACES, ONE, ZERO, OrderLine


@dataclass(frozen=True)
class Weights:
    customer: Decimal = Decimal(1)
    value: Decimal = Decimal(1)
    due: Decimal = Decimal(1)
    penalty: Decimal = Decimal(1)
    horizon_days: int = 60


@dataclass(frozen=True)
class Scored:
    order: OrderLine
    score: Decimal | None
    parts: dict[str, Decimal] | None


def score_parts(
    order: OrderLine, largest_value: Decimal, today: date, horizon_days: int
) -> dict[str, Decimal]:
    priority = min(max(order.customer_priority, 1), 5)
    value = order.value / largest_value if largest_value > 0 else ZERO
    if order.due_date is None:
        due = ZERO
    else:
        days = (order.due_date - today).days
        due = min(ONE, max(ZERO, ONE - Decimal(days) / Decimal(max(horizon_days, 1))))
    return {
        "customer": (Decimal(6 - priority) / 5).quantize(FOUR_PLACES),
        "value": min(ONE, max(ZERO, value)).quantize(FOUR_PLACES),
        "due": due.quantize(FOUR_PLACES),
        "penalty": ONE if order.contractual_penalty else ZERO,
    }


def weighted(parts: dict[str, Decimal], weights: Weights) -> Decimal:
    total = (
        parts["customer"] * weights.customer
        + parts["value"] * weights.value
        + parts["due"] * weights.due
        + parts["penalty"] * weights.penalty
    )
    return total.quantize(FOUR_PLACES)


def by_due_date(orders: Sequence[OrderLine]) -> list[Scored]:
    """Earliest due first (lines without a date last), then the customer's priority."""
    ranked = sorted(
        orders,
        key=lambda o: (
            o.due_date is None,
            o.due_date or date.max,
            o.customer_priority,
            o.so_number,
            o.line_no,
        ),
    )
    return [Scored(order, None, None) for order in ranked]


def by_score(orders: Sequence[OrderLine], weights: Weights, today: date) -> list[Scored]:
    """Highest score first."""
    largest = max((o.value for o in orders), default=ZERO)
    scored = []
    for order in orders:
        parts = score_parts(order, largest, today, weights.horizon_days)
        scored.append(Scored(order, weighted(parts, weights), parts))
    scored.sort(
        key=lambda s: (
            -(s.score or ZERO),
            s.order.due_date is None,
            s.order.due_date or date.max,
            s.order.so_number,
            s.order.line_no,
        )
    )
    return scored
