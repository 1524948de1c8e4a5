"""Shipping rules on plain values (services/inventory/shipping/domain.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.inventory.shipping.domain import (
    OrderLine,
    ShippingRuleBroken,
    check_can_ship,
    check_lines,
    extra_allocation,
    format_shipment_id,
    pick_order,
    sales_value,
    split_by_qty,
)

D = Decimal
LINE = OrderLine(line_no=1, sku="W", qty_ordered=D(10), qty_shipped=D(6))


def test_a_line_ships_no_more_than_is_open_and_is_named_once() -> None:
    check_lines([(1, D(4))], {1: LINE})
    with pytest.raises(ShippingRuleBroken) as over:
        check_lines([(1, D("4.0001"))], {1: LINE})
    assert over.value.field == "lines.0.qty" and not over.value.conflict
    assert str(over.value.detail) == (
        "line 1: 4.0001 to ship but only 4 open (10 ordered, 6 shipped)"
    )
    with pytest.raises(ShippingRuleBroken) as twice:
        check_lines([(1, D(1)), (1, D(1))], {1: LINE})
    assert twice.value.field == "lines.1.line_no"
    with pytest.raises(ShippingRuleBroken) as unknown:
        check_lines([(2, D(1))], {1: LINE})
    assert unknown.value.field == "lines.0.line_no"


def test_what_the_allocation_lacks_is_allocated_from_available_fg_or_refused() -> None:
    assert extra_allocation(0, LINE, D(4), D(4), D(0), D(4)) == 0
    assert extra_allocation(0, LINE, D(4), D(1), D(3), D(9)) == 3
    with pytest.raises(ShippingRuleBroken) as short:
        extra_allocation(2, LINE, D(4), D(1), D(2), D(9))
    assert short.value.conflict and short.value.field == "lines.2.qty"
    assert short.value.code == "insufficient_stock"
    # Allocated on paper is not enough: the approved FG must be on the shelf.
    with pytest.raises(ShippingRuleBroken):
        extra_allocation(0, LINE, D(4), D(4), D(0), D(3))


def test_lots_made_for_the_line_go_first_then_the_oldest() -> None:
    lots = [("OLD", D(3)), ("PRD-1", D(2)), ("NEW", D(5))]
    assert pick_order(lots, [], D(4)) == [("OLD", D(3)), ("PRD-1", D(1))]
    assert pick_order(lots, ["PRD-1"], D(4)) == [("PRD-1", D(2)), ("OLD", D(2))]
    assert pick_order(lots, [], D(20)) == lots


def test_the_price_is_charged_to_the_cent_and_shared_over_lots_without_losing_one() -> None:
    assert sales_value(D(3), D("2.335")) == D("7.01")
    shares = split_by_qty(D("10.00"), [D(1), D(1), D(1)])
    assert shares == [D("3.33"), D("3.33"), D("3.34")] and sum(shares) == D("10.00")
    assert split_by_qty(D("48.00"), [D(3), D(1)]) == [D("36.00"), D("12.00")]


def test_a_cancelled_or_shipped_order_ships_nothing_more() -> None:
    check_can_ship("SO-1", "ready_to_ship")
    for status in ("cancelled", "shipped"):
        with pytest.raises(ShippingRuleBroken) as refused:
            check_can_ship("SO-1", status)
        assert refused.value.conflict


def test_shipment_ids_read_shp_year_and_five_digits() -> None:
    assert format_shipment_id(2026, 12) == "SHP-2026-00012"
