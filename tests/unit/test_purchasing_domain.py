"""Purchasing's rules on plain values: what a receipt may take, and the life of a PO."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.purchasing.domain import (
    LineState,
    PoStatus,
    PurchasingRuleBroken,
    check_can_submit,
    check_receipt,
    extended_value,
    format_po_number,
    format_receipt_number,
    status_after_receipt,
)

D = Decimal

# A PO for resin: line 1 ordered 10 with 4 already received (6 open), line 2 ordered 200, none in.
RESIN_PO = {
    1: LineState(1, qty_ordered=D(10), qty_received=D(4)),
    2: LineState(2, qty_ordered=D(200), qty_received=D(0)),
}


def refusal(status: PoStatus, receipt: list[tuple[int, Decimal]]) -> PurchasingRuleBroken:
    with pytest.raises(PurchasingRuleBroken) as refused:
        check_receipt(status, RESIN_PO, receipt)
    return refused.value


# --------------------------------------------------------------------------------------------
# check_receipt
# --------------------------------------------------------------------------------------------


def test_a_draft_po_cannot_be_received_against_until_submitted() -> None:
    broken = refusal(PoStatus.DRAFT, [(1, D(1))])

    assert broken.field == "status"
    assert broken.conflict is True
    assert "submit it first" in str(broken.detail)


@pytest.mark.parametrize("status", [PoStatus.RECEIVED, PoStatus.CANCELLED])
def test_a_closed_po_takes_no_more_receipts(status: PoStatus) -> None:
    broken = refusal(status, [(1, D(1))])

    assert broken.field == "status"
    assert broken.conflict is True
    assert f"a {status} purchase order takes no more receipts" == str(broken.detail)


@pytest.mark.parametrize("status", [PoStatus.SUBMITTED, PoStatus.PARTIAL])
def test_a_submitted_or_partly_received_po_takes_a_receipt(status: PoStatus) -> None:
    check_receipt(status, RESIN_PO, [(1, D(2)), (2, D(50))])


def test_a_receipt_with_no_lines_is_refused() -> None:
    broken = refusal(PoStatus.SUBMITTED, [])

    assert broken.field == "lines"
    assert broken.conflict is False


def test_a_line_the_po_does_not_have_is_named_by_its_position() -> None:
    broken = refusal(PoStatus.SUBMITTED, [(1, D(1)), (7, D(1))])

    assert broken.field == "lines.1.line_no"
    assert broken.conflict is False
    assert "no line 7" in str(broken.detail)


@pytest.mark.parametrize("qty", [D(0), D("-2")])
def test_a_receipt_line_of_nothing_is_refused(qty: Decimal) -> None:
    broken = refusal(PoStatus.SUBMITTED, [(2, D(5)), (1, qty)])

    assert broken.field == "lines.1.qty"
    assert broken.conflict is False


def test_receiving_more_than_is_open_is_refused_naming_the_quantity() -> None:
    broken = refusal(PoStatus.PARTIAL, [(1, D(7))])

    assert broken.field == "lines.0.qty"
    assert broken.conflict is False
    assert "line 1 has 6 open" in str(broken.detail)


def test_the_same_line_twice_in_one_receipt_adds_up_against_the_open_qty() -> None:
    # 4 + 3 = 7 of line 1, which has 6 open: each alone fits, together they do not.
    broken = refusal(PoStatus.PARTIAL, [(1, D(4)), (2, D(10)), (1, D(3))])

    assert broken.field == "lines.2.qty"
    assert "receiving 7" in str(broken.detail)


def test_a_receipt_may_fill_a_line_exactly() -> None:
    check_receipt(PoStatus.PARTIAL, RESIN_PO, [(1, D(6)), (2, D(200))])
    check_receipt(PoStatus.PARTIAL, RESIN_PO, [(1, D("2.5")), (1, D("3.5"))])


def test_the_first_broken_line_is_the_one_named() -> None:
    broken = refusal(PoStatus.SUBMITTED, [(1, D(99)), (9, D(1))])

    assert broken.field == "lines.0.qty"


# --------------------------------------------------------------------------------------------
# status_after_receipt
# --------------------------------------------------------------------------------------------


def test_a_po_is_received_when_every_line_is_filled() -> None:
    lines = [LineState(1, D(10), D(10)), LineState(2, D(200), D(200))]

    assert status_after_receipt(lines) is PoStatus.RECEIVED


def test_a_po_with_any_line_short_stays_partial() -> None:
    lines = [LineState(1, D(10), D(10)), LineState(2, D(200), D("199.9999"))]

    assert status_after_receipt(lines) is PoStatus.PARTIAL


def test_a_po_with_a_line_not_yet_started_is_partial() -> None:
    lines = [LineState(1, D(10), D(3)), LineState(2, D(200), D(0))]

    assert status_after_receipt(lines) is PoStatus.PARTIAL


def test_open_qty_is_what_is_left_to_receive() -> None:
    assert LineState(1, D("12.5"), D("2.25")).open_qty == D("10.25")


# --------------------------------------------------------------------------------------------
# extended_value
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qty", "unit_cost", "value"),
    [
        (D(120), D("0.415"), D("49.80")),
        (D(10), D("2.50"), D("25.00")),
        (D(1), D("0.125"), D("0.13")),  # half up; banker's rounding would give 0.12
        (D(1), D("0.005"), D("0.01")),
        (D(1), D("0.0049"), D("0.00")),
        (D(7), D("0.3333"), D("2.33")),
        (D("2.5"), D("0.0010"), D("0.00")),  # 0.0025
        (D(3), D("0.0050"), D("0.02")),  # 0.015
    ],
)
def test_a_receipt_is_valued_to_the_cent_rounding_half_up(
    qty: Decimal, unit_cost: Decimal, value: Decimal
) -> None:
    result = extended_value(qty, unit_cost)

    assert result == value
    assert result.as_tuple().exponent == -2


# --------------------------------------------------------------------------------------------
# check_can_submit
# --------------------------------------------------------------------------------------------


def test_a_draft_with_lines_can_be_submitted() -> None:
    check_can_submit(PoStatus.DRAFT, 3)


def test_a_draft_without_lines_cannot_be_submitted() -> None:
    with pytest.raises(PurchasingRuleBroken) as refused:
        check_can_submit(PoStatus.DRAFT, 0)

    assert refused.value.field == "lines"
    assert refused.value.conflict is False


@pytest.mark.parametrize(
    "status", [PoStatus.SUBMITTED, PoStatus.PARTIAL, PoStatus.RECEIVED, PoStatus.CANCELLED]
)
def test_only_a_draft_can_be_submitted(status: PoStatus) -> None:
    with pytest.raises(PurchasingRuleBroken) as refused:
        check_can_submit(status, 2)

    assert refused.value.field == "status"
    assert refused.value.conflict is True
    assert str(status) in str(refused.value.detail)


# --------------------------------------------------------------------------------------------
# Document numbers
# --------------------------------------------------------------------------------------------


def test_po_numbers_carry_the_year_and_five_digits() -> None:
    assert format_po_number(2025, 7) == "PO-2025-00007"
    assert format_po_number(2026, 12345) == "PO-2026-12345"


def test_receipt_numbers_carry_the_year_and_five_digits() -> None:
    assert format_receipt_number(2025, 1) == "RCV-2025-00001"
    assert format_receipt_number(2025, 123) == "RCV-2025-00123"


def test_a_busy_year_grows_past_five_digits_rather_than_wrapping() -> None:
    assert format_po_number(2025, 100000) == "PO-2025-100000"
