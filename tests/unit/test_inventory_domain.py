"""Inventory's rules on plain values: where a receipt lands, what it costs, what a planner sees."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.inventory.domain import (
    Balance,
    LocationCode,
    StockLevels,
    StockStatus,
    apply_receipt,
    moving_average_cost,
    on_hand_totals,
    receipt_location,
    stock_levels,
)

D = Decimal

# --------------------------------------------------------------------------------------------
# Moving-average cost
# --------------------------------------------------------------------------------------------


def test_the_first_receipt_sets_the_average_to_its_own_unit_cost() -> None:
    assert moving_average_cost(D(0), D(0), D(10), D("25.00")) == D("2.5000")


def test_a_second_receipt_at_another_cost_blends_by_quantity() -> None:
    # 10 L of resin at 2.50 on hand (25.00), then 30 L at 3.10 (93.00): 118.00 / 40 = 2.95.
    average = moving_average_cost(D(10), D("25.00"), D(30), D("93.00"))

    assert average == D("2.9500")
    assert average != (D("2.50") + D("3.10")) / 2  # weighted by quantity, not by receipt


def test_the_average_is_kept_to_four_decimals_rounding_half_up() -> None:
    assert moving_average_cost(D(0), D(0), D(3), D("10.00")) == D("3.3333")
    assert moving_average_cost(D(0), D(0), D(3), D("20.00")) == D("6.6667")
    # 0.0001 / 2 = 0.00005: half up gives 0.0001 where banker's rounding would give 0.0000.
    assert moving_average_cost(D(0), D(0), D(2), D("0.0001")) == D("0.0001")
    assert moving_average_cost(D(0), D(0), D(3), D("10.00")).as_tuple().exponent == -4


def test_with_nothing_on_hand_a_leftover_value_is_ignored() -> None:
    assert moving_average_cost(D(0), D("50.00"), D(4), D("10.00")) == D("2.5000")


def test_a_negative_balance_falls_back_to_the_receipt_cost() -> None:
    # Blending would give (-12.50 + 30.00) / (-5 + 10) = 3.50, a cost nobody paid.
    assert moving_average_cost(D(-5), D("-12.50"), D(10), D("30.00")) == D("3.0000")


@pytest.mark.parametrize("received_qty", [D(0), D("-1"), D("-0.0001")])
def test_a_receipt_of_no_material_is_refused(received_qty: Decimal) -> None:
    with pytest.raises(ValueError, match="received quantity must be positive"):
        moving_average_cost(D(10), D("25.00"), received_qty, D("5.00"))


quantities = st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4)
unit_costs = st.decimals(min_value=D(0), max_value=D("10000"), places=4)


@given(st.lists(st.tuples(quantities, unit_costs), min_size=1, max_size=12))
def test_the_average_stays_between_the_cheapest_and_dearest_receipt(
    receipts: list[tuple[Decimal, Decimal]],
) -> None:
    on_hand_qty = on_hand_value = D(0)
    costs_so_far: list[Decimal] = []
    for qty, unit_cost in receipts:
        value = qty * unit_cost
        average = moving_average_cost(on_hand_qty, on_hand_value, qty, value)
        on_hand_qty += qty
        on_hand_value += value
        costs_so_far.append(unit_cost)

        assert min(costs_so_far) <= average <= max(costs_so_far)


# --------------------------------------------------------------------------------------------
# Where a receipt lands
# --------------------------------------------------------------------------------------------


def test_approved_material_goes_to_raw_stock() -> None:
    assert receipt_location(StockStatus.APPROVED) is LocationCode.RAW


def test_material_awaiting_inspection_goes_to_the_qc_hold() -> None:
    assert receipt_location(StockStatus.PENDING_QC) is LocationCode.QC


# --------------------------------------------------------------------------------------------
# Stock levels, as the service passes them from the database (plain strings)
# --------------------------------------------------------------------------------------------


def test_material_pending_qc_is_on_hand_but_not_available() -> None:
    levels = stock_levels([("RAW", "approved", D(10)), ("QC", "pending_qc", D(30))])

    assert levels == StockLevels(
        on_hand=D(40),
        available=D(10),
        allocated=D(0),
        pending_qc=D(30),
        wip=D(0),
        open_reservations=D(0),
    )


def test_work_in_progress_is_counted_apart_from_on_hand() -> None:
    levels = stock_levels([("RAW", "approved", D(12)), ("WIP", "approved", D(5))])

    assert levels.wip == D(5)
    assert levels.on_hand == D(12)
    assert levels.available == D(12)


def test_scrap_is_neither_on_hand_nor_available() -> None:
    levels = stock_levels(
        [("FG", "approved", D(20)), ("SCRAP", "approved", D(7)), ("SCRAP", "pending_qc", D(2))]
    )

    assert levels.on_hand == D(20)
    assert levels.available == D(20)
    assert levels.pending_qc == D(0)
    assert levels.wip == D(0)


def test_finished_goods_and_raw_stock_add_up_across_lots() -> None:
    levels = stock_levels(
        [
            ("RAW", "approved", D("2.5")),
            ("RAW", "approved", D("1.25")),
            ("FG", "approved", D(4)),
            ("QC", "pending_qc", D("0.75")),
        ]
    )

    assert levels.on_hand == D("8.50")
    assert levels.available == D("7.75")
    assert levels.pending_qc == D("0.75")


def test_allocated_stock_is_taken_off_available_and_reported_as_reserved() -> None:
    levels = stock_levels([("RAW", "approved", D(10)), ("QC", "pending_qc", D(5))], allocated=D(4))

    assert levels.on_hand == D(15)
    assert levels.available == D(6)
    assert levels.allocated == D(4)
    assert levels.open_reservations == D(4)


def test_an_item_with_no_balances_has_nothing() -> None:
    assert stock_levels([]) == StockLevels(D(0), D(0), D(0), D(0), D(0), D(0))


# --------------------------------------------------------------------------------------------
# A receipt applied to the item's balances (what the service stores and publishes)
# --------------------------------------------------------------------------------------------


def test_a_receipt_averages_over_own_stock_only_and_adds_to_its_balance() -> None:
    balances = [
        Balance("RAW", "", "approved", D(10), D("25.00")),
        Balance("QC", "", "pending_qc", D(10), D("35.00")),
        Balance("WIP", "", "approved", D(100), D("900.00")),  # not the item's own on hand
    ]

    effect = apply_receipt(balances, LocationCode.RAW, "", StockStatus.APPROVED, D(20), D("60.00"))

    assert on_hand_totals(balances) == (D(20), D("60.00"))
    assert effect.average_cost == D("3.0000")  # (60 + 60) / (20 + 20)
    assert effect.new_balance is False
    assert effect.balance == Balance("RAW", "", "approved", D(30), D("85.00"))
    assert (effect.levels.on_hand, effect.levels.available) == (D(40), D(30))
    assert (effect.levels.pending_qc, effect.levels.wip) == (D(10), D(100))


def test_a_receipt_into_a_new_lot_or_status_opens_a_balance() -> None:
    balances = [Balance("RAW", "L1", "approved", D(5), D(10))]

    into_qc = apply_receipt(balances, LocationCode.QC, "L1", StockStatus.PENDING_QC, D(5), D(20))
    new_lot = apply_receipt(balances, LocationCode.RAW, "L2", StockStatus.APPROVED, D(5), D(20))

    assert into_qc.new_balance and new_lot.new_balance
    assert into_qc.balance == Balance("QC", "L1", "pending_qc", D(5), D(20))
    assert (into_qc.levels.on_hand, into_qc.levels.pending_qc) == (D(10), D(5))
    assert new_lot.levels.available == D(10)
    assert new_lot.average_cost == D("3.0000")
    assert balances == [Balance("RAW", "L1", "approved", D(5), D(10))]  # not changed
