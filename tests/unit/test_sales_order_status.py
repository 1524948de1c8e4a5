"""A sales order's status follows its production, QC, allocation and shipping: the rule on plain
values (services/mrp/sales/domain.py), told as the plant lives it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.mrp.sales.domain import (
    LineProgress,
    ProductionFigures,
    SalesRuleBroken,
    SoStatus,
    check_can_allocate,
    check_can_cancel,
    format_so_number,
    order_status,
)

D = Decimal


def line(
    ordered: str = "10",
    shipped: str = "0",
    allocated: str = "0",
    *production: ProductionFigures,
) -> LineProgress:
    return LineProgress(D(ordered), D(shipped), D(allocated), tuple(production))


def made(status: str, passed: str = "0", failed: str = "0") -> ProductionFigures:
    return ProductionFigures(status, D(passed), D(failed))


def test_a_new_order_with_nothing_made_is_open() -> None:
    assert order_status([line()]) is SoStatus.OPEN
    assert order_status([line("10", "0", "0", made("draft"))]) is SoStatus.OPEN
    assert order_status([]) is SoStatus.OPEN


def test_an_order_whose_production_runs_is_in_production() -> None:
    assert order_status([line("10", "0", "0", made("in_progress"))]) is SoStatus.IN_PRODUCTION
    assert order_status([line("10", "0", "0", made("printed"))]) is SoStatus.IN_PRODUCTION
    assert order_status([line(), line("5", "0", "0", made("printed"))]) is SoStatus.IN_PRODUCTION


def test_partial_qc_waits_for_the_reprint_then_the_line_is_ready_to_ship() -> None:
    # A line of 10; QC passes 8 of the first order, fails 2, and a reprint of 2 is open.
    first = made("completed", passed="8", failed="2")
    assert order_status([line("10", "0", "0", first, made("draft"))]) is SoStatus.PARTIAL_QC
    assert order_status([line("10", "0", "0", first, made("in_progress"))]) is (SoStatus.PARTIAL_QC)
    # The reprint passes its 2: the line is covered.
    # Heard before the reprint's own event: already partial QC, not back to open.
    assert order_status([line("10", "0", "0", first)]) is SoStatus.PARTIAL_QC
    reprinted = made("completed", passed="2")
    assert order_status([line("10", "0", "0", first, reprinted)]) is SoStatus.READY_TO_SHIP


def test_qc_that_failed_everything_so_far_is_qc_failed_even_with_a_reprint_open() -> None:
    failed_all = made("completed", failed="10")
    assert order_status([line("10", "0", "0", failed_all)]) is SoStatus.QC_FAILED
    assert order_status([line("10", "0", "0", failed_all, made("in_progress"))]) is (
        SoStatus.QC_FAILED
    )
    # Once anything passes, it is no longer a failed order.
    some = made("completed", passed="3", failed="7")
    assert order_status([line("10", "0", "0", failed_all, some, made("draft"))]) is (
        SoStatus.PARTIAL_QC
    )


def test_stock_allocated_to_a_make_to_stock_line_makes_it_ready() -> None:
    assert order_status([line("10", "0", "10")]) is SoStatus.READY_TO_SHIP
    assert order_status([line("10", "0", "4")]) is SoStatus.OPEN
    # Passed units and allocated stock add up.
    assert order_status([line("10", "0", "3", made("completed", passed="7"))]) is (
        SoStatus.READY_TO_SHIP
    )


def test_every_line_must_be_covered_to_be_ready_to_ship() -> None:
    ready = line("10", "0", "10")
    assert order_status([ready, line("5")]) is SoStatus.OPEN
    assert order_status([ready, line("5", "0", "0", made("in_progress"))]) is (
        SoStatus.IN_PRODUCTION
    )
    assert order_status([ready, line("5", "0", "5")]) is SoStatus.READY_TO_SHIP


def test_shipping_part_is_partial_and_shipping_all_is_shipped() -> None:
    assert order_status([line("10", "4", "6")]) is SoStatus.PARTIAL
    assert order_status([line("10", "10"), line("5")]) is SoStatus.PARTIAL
    assert order_status([line("10", "10"), line("5", "5")]) is SoStatus.SHIPPED


def test_a_cancelled_order_stays_cancelled_whatever_happens() -> None:
    assert order_status([line("10", "0", "10")], cancelled=True) is SoStatus.CANCELLED


def test_an_order_can_be_cancelled_until_something_ships() -> None:
    check_can_cancel(SoStatus.READY_TO_SHIP, D(0))
    with pytest.raises(SalesRuleBroken) as refused:
        check_can_cancel(SoStatus.PARTIAL, D(4))
    assert refused.value.conflict
    with pytest.raises(SalesRuleBroken):
        check_can_cancel(SoStatus.CANCELLED, D(0))


def test_a_shipped_or_cancelled_order_cannot_be_allocated() -> None:
    check_can_allocate(SoStatus.PARTIAL)
    for status in (SoStatus.SHIPPED, SoStatus.CANCELLED):
        with pytest.raises(SalesRuleBroken):
            check_can_allocate(status)


def test_order_numbers_read_so_year_and_five_digits() -> None:
    assert format_so_number(2026, 7) == "SO-2026-00007"
