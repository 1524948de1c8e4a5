"""The rules behind an order's WIP on plain values: what a movement is worth, how much a
reservation holds, a run's share of the WIP and the split between good and bad units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.inventory.domain import (
    relief_share,
    reservation_line,
    split_good_and_bad,
    stock_levels,
    value_taken,
)

D = Decimal
quantities = st.integers(min_value=1, max_value=10_000_000).map(lambda n: D(n).scaleb(-4))


def test_the_last_units_of_a_balance_take_what_value_is_left() -> None:
    assert value_taken(D(3), D("10.00"), D(1)) == D("3.3333")
    assert value_taken(D(2), D("6.6667"), D(1)) == D("3.3334")  # 3.33335, half up
    assert value_taken(D(1), D("3.3333"), D(1)) == D("3.3333")


def test_a_reservation_holds_what_is_available_and_never_less_than_nothing() -> None:
    assert reservation_line(D(10), D(4)).qty_reserved == D(4)
    assert reservation_line(D(10), D(4)).qty_short == D(6)
    assert reservation_line(D(3), D(40)).qty_short == D(0)
    assert reservation_line(D(3), D(-2)).qty_reserved == D(0)  # over-reserved by a correction
    with pytest.raises(ValueError):
        reservation_line(D(0), D(4))


def test_a_run_takes_its_share_of_what_the_order_still_has_to_make() -> None:
    # 5 of the 12 still to make: 5/12 of 25.00 worth of 10 units.
    assert relief_share(D(10), D("25.00"), D(5), D(12), final_run=False) == (
        D("4.1667"),
        D("10.4167"),
    )
    # The final run takes all that is left, whatever it made.
    assert relief_share(D("5.8333"), D("14.5833"), D(1), D(7), final_run=True) == (
        D("5.8333"),
        D("14.5833"),
    )
    # A run making all that is left (or more) takes it all too.
    assert relief_share(D(2), D(5), D(9), D(7), final_run=False) == (D(2), D(5))
    assert relief_share(D(0), D(0), D(1), D(7), final_run=True) == (D(0), D(0))


@given(
    total_qty=quantities,
    total_value=quantities,
    runs=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=8),
)
def test_however_the_order_is_split_into_runs_its_wip_ends_at_exactly_zero(
    total_qty: Decimal, total_value: Decimal, runs: list[int]
) -> None:
    to_make = D(sum(runs))
    made = D(0)
    qty_left, value_left = total_qty, total_value
    for index, run in enumerate(runs):
        final = index == len(runs) - 1
        qty, value = relief_share(qty_left, value_left, D(run), to_make - made, final_run=final)
        assert D(0) <= qty <= qty_left and D(0) <= value <= value_left
        qty_left -= qty
        value_left -= value
        made += run
    assert (qty_left, value_left) == (D(0), D(0))


@given(value=quantities, good=st.integers(0, 1000), bad=st.integers(0, 1000))
def test_good_and_bad_values_add_up_to_the_relieved_value(
    value: Decimal, good: int, bad: int
) -> None:
    if good + bad == 0:
        return
    value_good, value_bad = split_good_and_bad(value, D(good), D(bad))
    assert value_good + value_bad == value
    assert value_good >= 0 and value_bad >= 0
    if bad == 0:
        assert value_bad == 0


def test_approved_stock_in_the_qc_hold_is_on_hand_but_not_available() -> None:
    levels = stock_levels(
        [("RAW", "approved", D(5)), ("FG", "approved", D(2)), ("QC", "approved", D(3))],
        allocated=D(1),
    )

    assert (levels.on_hand, levels.available) == (D(10), D(6))
