"""The order in which the MRP serves open lines: earliest due-to-ship date first, or the
planner's priority score (customer priority, order value, days until due, contractual penalty)
when it is turned on. Earlier lines take the stock first, so this order is the plan's policy."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from services.mrp.planning.domain import OrderLine
from services.mrp.planning.ordering import Weights, by_due_date, by_score, score_parts

D = Decimal
TODAY = date(2026, 11, 23)  # a Monday


def line(
    so: str,
    *,
    due: date | None,
    priority: int = 3,
    qty: str = "100",
    price: str = "10",
    penalty: bool = False,
    line_no: int = 1,
) -> OrderLine:
    return OrderLine(
        so_number=so,
        line_no=line_no,
        sku="BRKT-10",
        customer_code="C-" + so,
        customer_name="Customer of " + so,
        customer_priority=priority,
        business_unit=None,
        due_date=due,
        qty_open=D(qty),
        unit_price=D(price),
        contractual_penalty=penalty,
    )


def numbers(lines: list[OrderLine]) -> list[str]:
    return [f"{o.so_number}/{o.line_no}" for o in lines]


def in_days(days: int) -> date:
    return TODAY + timedelta(days=days)


# --------------------------------------------------------------------------------------------
# By due-to-ship date (the default)
# --------------------------------------------------------------------------------------------


def test_the_earliest_due_date_is_served_first_and_lines_without_a_date_last() -> None:
    lines = [
        line("SO-1", due=None),
        line("SO-2", due=in_days(10)),
        line("SO-3", due=in_days(-2)),  # already late
        line("SO-4", due=in_days(3)),
    ]

    ranked = [s.order for s in by_due_date(lines)]

    assert numbers(ranked) == ["SO-3/1", "SO-4/1", "SO-2/1", "SO-1/1"]


def test_on_the_same_day_the_more_important_customer_goes_first_then_the_order_number() -> None:
    lines = [
        line("SO-9", due=in_days(5), priority=3),
        line("SO-7", due=in_days(5), priority=3, line_no=2),
        line("SO-8", due=in_days(5), priority=1),
        line("SO-7", due=in_days(5), priority=3, line_no=1),
    ]

    ranked = [s.order for s in by_due_date(lines)]

    # Priority 1 first; then SO-7 before SO-9, and line 1 before line 2 of SO-7.
    assert numbers(ranked) == ["SO-8/1", "SO-7/1", "SO-7/2", "SO-9/1"]


def test_due_date_order_carries_no_score() -> None:
    (only,) = by_due_date([line("SO-1", due=in_days(1))])

    assert only.score is None and only.parts is None


# --------------------------------------------------------------------------------------------
# By priority score
# --------------------------------------------------------------------------------------------

# Three lines the planner weighs (horizon 60 days, today 2026-11-23):
#   SO-A: customer priority 1, value 100 x 10 = 1,000, due in 30 days, no penalty
#   SO-B: customer priority 5, value 400 x 10 = 4,000, due in 60 days, penalty clause
#   SO-C: customer priority 3, value 200 x 10 = 2,000, 4 days late,    no penalty
# Parts (each 0..1):     customer (6-p)/5   value v/4000   due 1-days/60     penalty
#   SO-A                 1.0                0.25           1-30/60 = 0.5     0
#   SO-B                 0.2                1.0            1-60/60 = 0       1
#   SO-C                 0.6                0.5            late: 1           0
THREE = [
    line("SO-A", due=in_days(30), priority=1, qty="100"),
    line("SO-B", due=in_days(60), priority=5, qty="400", penalty=True),
    line("SO-C", due=in_days(-4), priority=3, qty="200"),
]


def test_each_line_shows_the_four_parts_of_its_score() -> None:
    largest = D(4000)

    assert score_parts(THREE[0], largest, TODAY, 60) == {
        "customer": D("1.0000"),
        "value": D("0.2500"),
        "due": D("0.5000"),
        "penalty": D(0),
    }
    assert score_parts(THREE[1], largest, TODAY, 60) == {
        "customer": D("0.2000"),
        "value": D("1.0000"),
        "due": D("0.0000"),
        "penalty": D(1),
    }
    assert score_parts(THREE[2], largest, TODAY, 60)["due"] == D("1.0000")


def test_with_equal_weights_the_highest_sum_goes_first() -> None:
    # SO-A 1 + 0.25 + 0.5 + 0 = 1.75; SO-B 0.2 + 1 + 0 + 1 = 2.2; SO-C 0.6 + 0.5 + 1 + 0 = 2.1
    scored = by_score(THREE, Weights(), TODAY)

    assert numbers([s.order for s in scored]) == ["SO-B/1", "SO-C/1", "SO-A/1"]
    assert [s.score for s in scored] == [D("2.2000"), D("2.1000"), D("1.7500")]
    # By due date the same three would go SO-C (late), SO-A, SO-B.
    assert numbers([s.order for s in by_due_date(THREE)]) == ["SO-C/1", "SO-A/1", "SO-B/1"]


def test_the_planners_weights_change_the_order() -> None:
    # Customer weighted 3: SO-A 3 + 0.25 + 0.5 = 3.75; SO-B 0.6 + 1 + 0 + 1 = 2.6;
    # SO-C 1.8 + 0.5 + 1 = 3.3. The most important customer now goes first.
    scored = by_score(THREE, Weights(customer=D(3)), TODAY)

    assert numbers([s.order for s in scored]) == ["SO-A/1", "SO-C/1", "SO-B/1"]
    assert [s.score for s in scored] == [D("3.7500"), D("3.3000"), D("2.6000")]


def test_only_the_penalty_weighed_puts_the_penalty_order_first_and_ties_go_by_due_date() -> None:
    weights = Weights(customer=D(0), value=D(0), due=D(0), penalty=D(5))

    scored = by_score(THREE, weights, TODAY)

    # SO-B scores 5; SO-A and SO-C both 0, so the earlier due date (SO-C, late) comes first.
    assert numbers([s.order for s in scored]) == ["SO-B/1", "SO-C/1", "SO-A/1"]


def test_a_line_without_a_due_date_gets_no_urgency_and_beyond_the_horizon_none_either() -> None:
    no_date = line("SO-1", due=None)
    far = line("SO-2", due=in_days(90))
    today = line("SO-3", due=TODAY)

    assert score_parts(no_date, D(1000), TODAY, 60)["due"] == D(0)
    assert score_parts(far, D(1000), TODAY, 60)["due"] == D(0)
    assert score_parts(today, D(1000), TODAY, 60)["due"] == D(1)


def test_a_priority_outside_one_to_five_is_read_as_the_nearest_end() -> None:
    assert score_parts(line("SO-1", due=None, priority=0), D(1), TODAY, 60)["customer"] == D(1)
    assert score_parts(line("SO-2", due=None, priority=9), D(1), TODAY, 60)["customer"] == D("0.2")


def test_nothing_of_value_open_gives_every_line_a_value_part_of_zero() -> None:
    free = [line("SO-1", due=None, price="0"), line("SO-2", due=None, price="0")]

    scored = by_score(free, Weights(), TODAY)

    assert all(s.parts is not None and s.parts["value"] == 0 for s in scored)
