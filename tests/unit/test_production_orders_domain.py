"""Production order rules on plain values: the lifecycle, what a run and a QC decision may
count, the type implied by a sales order, the reprint reason, and a chain's totals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.production.orders.domain import (
    TRANSITIONS,
    ChainOrder,
    OrderStatus,
    OrderType,
    QcFigures,
    chain_totals,
    check_qc,
    check_run,
    check_transition,
    format_order_code,
    order_type_for,
    qty_to_make_for,
    reprint_reason,
    reprint_shortfall,
    status_after_final_run,
)
from shared.web.problems import Conflict, InvalidInput

D = Decimal
S = OrderStatus

LEGAL = {
    (S.DRAFT, S.SCHEDULED),
    (S.DRAFT, S.IN_PROGRESS),
    (S.DRAFT, S.CANCELLED),
    (S.SCHEDULED, S.SCHEDULED),
    (S.SCHEDULED, S.IN_PROGRESS),
    (S.SCHEDULED, S.CANCELLED),
    (S.IN_PROGRESS, S.PRINTED),
    (S.IN_PROGRESS, S.COMPLETED),
    (S.IN_PROGRESS, S.CANCELLED),
    (S.PRINTED, S.COMPLETED),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("wanted", list(S))
def test_only_the_floor_s_transitions_are_legal(current: S, wanted: S) -> None:
    if (current, wanted) in LEGAL:
        check_transition("PRD-2026-00001", current, wanted)
    else:
        with pytest.raises(Conflict) as refused:
            check_transition("PRD-2026-00001", current, wanted)
        assert refused.value.field == "status" and refused.value.code == "order_transition"


def test_completed_and_cancelled_are_final_and_printed_orders_cannot_be_cancelled() -> None:
    assert TRANSITIONS[S.COMPLETED] == TRANSITIONS[S.CANCELLED] == frozenset()
    assert S.CANCELLED not in TRANSITIONS[S.PRINTED]


def test_order_codes_are_gapless_numbers_padded_to_five() -> None:
    assert format_order_code(2026, 7) == "PRD-2026-00007"
    assert format_order_code(2027, 12345) == "PRD-2027-12345"


def test_a_sales_order_makes_an_order_made_to_order_and_needs_its_line() -> None:
    assert order_type_for(None, "SO-2026-00001", 1) is OrderType.MTO
    assert order_type_for(None, None, None) is OrderType.MTS
    with pytest.raises(InvalidInput) as no_line:
        order_type_for(None, "SO-2026-00001", None)
    assert no_line.value.field == "so_line_no"
    with pytest.raises(InvalidInput) as no_so:
        order_type_for(OrderType.MTO, None, None)
    assert no_so.value.field == "so_number"
    with pytest.raises(InvalidInput) as stock_with_so:
        order_type_for(OrderType.MTS, "SO-2026-00001", 1)
    assert stock_with_so.value.field == "so_number"


def test_the_quantity_to_make_is_the_quantity_ordered_or_more() -> None:
    assert qty_to_make_for(D(10), None) == 10
    assert qty_to_make_for(D(10), D(12)) == 12
    with pytest.raises(InvalidInput) as less:
        qty_to_make_for(D(10), D("9.5"))
    assert less.value.field == "qty_to_make"


def test_a_run_is_counted_only_in_progress_and_counts_something() -> None:
    check_run("P", S.IN_PROGRESS, D(10), D(2))
    check_run("P", S.IN_PROGRESS, D(0), D(1))
    for status in (S.DRAFT, S.SCHEDULED, S.PRINTED, S.COMPLETED, S.CANCELLED):
        with pytest.raises(Conflict):
            check_run("P", status, D(1), D(0))
    with pytest.raises(InvalidInput) as nothing:
        check_run("P", S.IN_PROGRESS, D(0), D(0))
    assert nothing.value.field == "qty_good"


def test_the_final_run_prints_unless_nothing_is_left_to_inspect() -> None:
    assert status_after_final_run(requires_qc=True, qty_good=D(1)) is S.PRINTED
    assert status_after_final_run(requires_qc=False, qty_good=D(1)) is S.COMPLETED
    assert status_after_final_run(requires_qc=True, qty_good=D(0)) is S.COMPLETED


def test_qc_takes_no_more_than_the_good_output_waiting() -> None:
    printed = QcFigures(qty_good=D(10), qty_passed=D(5), qty_failed=D(1))
    assert printed.awaiting_qc == 4
    check_qc("P", S.PRINTED, True, printed, D(3), D(1))
    with pytest.raises(InvalidInput) as too_many:
        check_qc("P", S.PRINTED, True, printed, D(4), D(1))
    assert too_many.value.field == "qty_passed" and too_many.value.code == "more_than_printed"
    with pytest.raises(InvalidInput):
        check_qc("P", S.PRINTED, True, printed, D(0), D(0))


@pytest.mark.parametrize("status", [S.DRAFT, S.SCHEDULED, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED])
def test_qc_is_for_printed_orders_only(status: S) -> None:
    with pytest.raises(Conflict) as refused:
        check_qc("P", status, True, QcFigures(D(10), D(0), D(0)), D(1), D(0))
    assert refused.value.code == "not_printed"


def test_qc_on_an_item_that_needs_none_is_refused_whatever_its_status() -> None:
    with pytest.raises(Conflict) as refused:
        check_qc("P", S.PRINTED, False, QcFigures(D(10), D(0), D(0)), D(1), D(0))
    assert refused.value.code == "qc_not_required"


def test_the_shortfall_is_what_was_ordered_and_did_not_pass() -> None:
    assert reprint_shortfall(D(10), D(8)) == 2
    assert reprint_shortfall(D(10), D(10)) == 0
    assert reprint_shortfall(D(10), D(11)) == 0


def test_the_reprint_reason_is_the_latest_failure_known() -> None:
    assert reprint_reason("SURFACE", ["COLOUR"], ["ADHESION"], "OTHER") == "SURFACE"
    assert reprint_reason(None, ["COLOUR", "DIM-OOT"], ["ADHESION"], "OTHER") == "DIM-OOT"
    assert reprint_reason(None, [], ["ADHESION", "WARPING"], "OTHER") == "WARPING"
    assert reprint_reason(None, [None], [None], "OTHER") == "OTHER"


def test_chain_totals_of_the_issue_s_story_worked_by_hand() -> None:
    # Root: 10 ordered, printed 10 good + 2 bad, QC 8 passed 2 failed. Reprint: 2 ordered,
    # 2 good, 2 passed. Printed 14, passed 10, scrapped 4: yield 10/14 = 0.714285... -> 0.7143.
    totals = chain_totals(
        D(10),
        [
            ChainOrder(D(10), D(10), D(2), D(8), D(2)),
            ChainOrder(D(2), D(2), D(0), D(2), D(0)),
        ],
    )
    assert totals.orders_in_chain == 2
    assert (totals.qty_ordered, totals.qty_printed) == (10, 14)
    assert (totals.qty_completed, totals.qty_scrapped) == (10, 4)
    assert totals.effective_yield == D("0.7143")


def test_a_chain_with_nothing_printed_has_no_yield_yet() -> None:
    totals = chain_totals(D(5), [ChainOrder(D(5), D(0), D(0), D(0), D(0))])
    assert totals.effective_yield is None and totals.qty_printed == 0
