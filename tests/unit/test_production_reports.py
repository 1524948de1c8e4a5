"""Yield and scrap reports: the figures on worked examples a supervisor can redo by hand, the
scrap Pareto's percentages, empty periods, and days in the plant's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from services.production.reports.domain import (
    ParetoBar,
    YieldInputs,
    days,
    local_day,
    order_created,
    period_bounds,
    qc_decision,
    rounded,
    run_output,
    scrap_pareto,
    total,
    yield_figures,
)

D = Decimal


# --------------------------------------------------------------------------------------------
# The figures on worked examples
# --------------------------------------------------------------------------------------------


def partial_qc_story() -> YieldInputs:
    """Issue 6's partial QC: a sales order line of 10; the order prints 12 (10 good, 2 bad for
    adhesion); QC passes 8 and fails 2 (surface); the reprint of 2 prints 2 good, passes 2."""
    return total(
        [
            order_created(D(10), is_reprint=False),
            run_output(D(10), D(2), requires_qc=True),
            qc_decision(D(8), D(2)),
            order_created(D(2), is_reprint=True),
            run_output(D(2), D(0), requires_qc=True),
            qc_decision(D(2), D(0)),
        ]
    )


def test_the_partial_qc_story_adds_up_its_inputs() -> None:
    story = partial_qc_story()

    assert story.qty_printed == D(14)  # 12 on the order + 2 on its reprint
    assert (story.qty_good, story.qty_bad) == (D(12), D(2))
    assert story.qty_inspected == D(12)  # 10 + 2 good units inspected
    assert (story.qty_passed, story.qty_failed) == (D(10), D(2))
    assert story.qty_scrapped == D(4)  # 2 bad at the printer + 2 failed at QC
    assert (story.qty_ordered_root, story.qty_reprinted, story.reprint_count) == (D(10), D(2), 1)


def test_the_partial_qc_story_figures_by_hand() -> None:
    figures = yield_figures(partial_qc_story())

    # FPY: 10 passed of 14 printed = 0.714285… -> 0.7143
    assert figures.fpy == D("0.7143")
    # Print yield 12/14 = 0.857142… ; QC yield 10/12 = 0.833333…
    assert figures.print_yield == D("0.8571")
    assert figures.qc_yield == D("0.8333")
    # RTY = 12/14 x 10/12 = 10/14 exactly (rounded once): 0.7143, not 0.8571 x 0.8333 = 0.7142
    assert figures.rty == D("0.7143")
    # Scrap rate: (2 bad + 2 failed) / 14 printed = 0.285714… -> 0.2857
    assert figures.scrap_rate == D("0.2857")
    # Reprint rate: 2 on the reprint / 10 ordered on the root order
    assert figures.reprint_rate == D("0.2000")


def test_each_order_counts_its_own_output() -> None:
    original = total(
        [
            order_created(D(10), is_reprint=False),
            run_output(D(10), D(2), requires_qc=True),
            qc_decision(D(8), D(2)),
        ]
    )
    reprint = total(
        [
            order_created(D(2), is_reprint=True),
            run_output(D(2), D(0), requires_qc=True),
            qc_decision(D(2), D(0)),
        ]
    )

    assert yield_figures(original).fpy == D("0.6667")  # 8 / 12
    assert yield_figures(reprint).fpy == D("1.0000")  # 2 / 2
    # Its reprint has no root order of its own: a reprint rate needs a root quantity.
    assert yield_figures(reprint).reprint_rate is None
    assert original + reprint == partial_qc_story()


def test_a_product_without_qc_counts_its_good_units_as_passed() -> None:
    # 50 brackets printed, 47 good, 3 warped; no QC step, so the 47 go straight to stock.
    inputs = run_output(D(47), D(3), requires_qc=False)

    assert (inputs.qty_inspected, inputs.qty_passed, inputs.qty_failed) == (D(47), D(47), D(0))
    figures = yield_figures(inputs)
    assert figures.fpy == D("0.9400")  # 47 / 50
    assert figures.qc_yield == D("1.0000")
    assert figures.rty == D("0.9400")  # 47/50 x 47/47
    assert figures.scrap_rate == D("0.0600")  # 3 / 50


def test_output_waiting_for_qc_lowers_fpy_but_leaves_rty_to_the_inspected() -> None:
    # 20 printed, 18 good; QC has looked at 9 of them so far and passed 9.
    inputs = run_output(D(18), D(2), requires_qc=True) + qc_decision(D(9), D(0))

    figures = yield_figures(inputs)
    assert figures.fpy == D("0.4500")  # 9 / 20
    assert figures.rty == D("0.9000")  # 18/20 x 9/9
    assert figures.scrap_rate == D("0.1000")  # 2 / 20


def test_nothing_printed_shows_no_figure_rather_than_zero() -> None:
    figures = yield_figures(YieldInputs())

    assert figures.fpy is None
    assert figures.rty is None
    assert figures.print_yield is None
    assert figures.qc_yield is None
    assert figures.scrap_rate is None
    assert figures.reprint_rate is None


def test_printed_but_not_yet_inspected_has_no_qc_yield_and_no_rty() -> None:
    figures = yield_figures(run_output(D(10), D(0), requires_qc=True))

    assert figures.print_yield == D("1.0000")
    assert figures.fpy == D("0.0000")  # nothing passed yet, of 10 printed
    assert figures.qc_yield is None
    assert figures.rty is None


def test_figures_round_half_up_to_four_places() -> None:
    # 1/8 = 0.125 exactly; 0.00125 -> 0.0013 (half up), 0.00124999 stays 0.0012
    assert rounded(Fraction(1, 8)) == D("0.1250")
    assert rounded(Fraction(125, 100_000)) == D("0.0013")
    assert rounded(Fraction(124_999, 100_000_000)) == D("0.0012")
    assert rounded(Fraction(2, 3)) == D("0.6667")
    assert rounded(Fraction(-1, 800)) == D("-0.0013")  # -0.00125, away from zero
    # 3 of 7 passed: 0.428571…; shown with its four places, trailing zeros kept
    assert yield_figures(run_output(D(3), D(4), requires_qc=False)).fpy == D("0.4286")
    assert str(yield_figures(run_output(D(7), D(0), requires_qc=False)).fpy) == "1.0000"


@given(
    good=st.integers(0, 10_000),
    bad=st.integers(0, 10_000),
    passed=st.integers(0, 10_000),
    failed=st.integers(0, 10_000),
)
def test_fpy_and_scrap_rate_are_the_hand_division_rounded_once(
    good: int, bad: int, passed: int, failed: int
) -> None:
    inputs = run_output(D(good), D(bad), requires_qc=True) + qc_decision(D(passed), D(failed))
    figures = yield_figures(inputs)
    printed = good + bad
    if printed == 0:
        assert figures.fpy is None and figures.scrap_rate is None
        return
    # The same division done in a wide decimal context, then rounded half up.
    wide = (D(passed) / D(printed)).quantize(D("0.0001"), "ROUND_HALF_UP")
    assert figures.fpy == wide
    assert figures.scrap_rate == rounded(Fraction(bad + failed, printed))


# --------------------------------------------------------------------------------------------
# Scrap Pareto
# --------------------------------------------------------------------------------------------


def test_pareto_ranks_reasons_largest_first_with_cumulative_percent() -> None:
    # A week of scrap: 2 adhesion + 5 adhesion at the printers, 3 surface at QC, 1 dropped.
    bars = scrap_pareto({"SURFACE": D(3), "ADHESION": D(7), "DROPPED": D(1)})

    assert bars == [
        # 7 of 11 = 63.6363…%
        ParetoBar("ADHESION", D(7), D("63.6364"), D("63.6364")),
        # 3 of 11 = 27.2727…%; cumulative 10 of 11 = 90.9090…%
        ParetoBar("SURFACE", D(3), D("27.2727"), D("90.9091")),
        # 1 of 11 = 9.0909…%; cumulative 11 of 11
        ParetoBar("DROPPED", D(1), D("9.0909"), D("100.0000")),
    ]


def test_pareto_last_row_is_exactly_one_hundred_even_when_rounded_shares_are_not() -> None:
    # Three equal reasons: each 33.3333 %, which add up to 99.9999 %; the running total does not.
    bars = scrap_pareto({"A": D(1), "B": D(1), "C": D(1)})

    assert [bar.percent for bar in bars] == [D("33.3333")] * 3
    assert [bar.cumulative_percent for bar in bars] == [
        D("33.3333"),
        D("66.6667"),
        D("100.0000"),
    ]
    assert str(bars[-1].cumulative_percent) == "100.0000"


def test_pareto_ties_go_by_code_and_empty_codes_are_left_out() -> None:
    bars = scrap_pareto({"WARPING": D(2), None: D(2), "ADHESION": D(2), "SETUP": D(0)})

    assert [bar.code for bar in bars] == ["ADHESION", "WARPING", None]


def test_pareto_of_a_period_without_scrap_is_empty() -> None:
    assert scrap_pareto({}) == []
    assert scrap_pareto({"ADHESION": D(0)}) == []


@given(st.dictionaries(st.text("ABCDEFG", min_size=1, max_size=3), st.integers(0, 1000)))
def test_pareto_always_ends_at_one_hundred(quantities: dict[str, int]) -> None:
    bars = scrap_pareto({code: D(qty) for code, qty in quantities.items()})

    if bars:
        assert bars[-1].cumulative_percent == D("100.0000")
        assert [bar.qty for bar in bars] == sorted((bar.qty for bar in bars), reverse=True)
        cumulative = [bar.cumulative_percent for bar in bars]
        assert cumulative == sorted(cumulative)


# --------------------------------------------------------------------------------------------
# Days in a time zone
# --------------------------------------------------------------------------------------------

CHICAGO = ZoneInfo("America/Chicago")


def test_a_run_late_in_the_evening_belongs_to_the_plants_day_not_utcs() -> None:
    # 21:30 in Chicago on 3 March is 03:30 UTC on 4 March.
    completed = datetime(2026, 3, 4, 3, 30, tzinfo=UTC)

    assert local_day(completed, CHICAGO) == date(2026, 3, 3)
    assert local_day(completed, ZoneInfo("UTC")) == date(2026, 3, 4)


def test_a_period_of_plant_days_is_bounded_by_local_midnights() -> None:
    since, until = period_bounds(date(2026, 3, 1), date(2026, 3, 31), CHICAGO)

    assert since == datetime(2026, 3, 1, 6, 0, tzinfo=UTC)  # CST, UTC-6
    assert until == datetime(2026, 4, 1, 5, 0, tzinfo=UTC)  # CDT from 8 March, UTC-5


def test_the_first_and_last_days_a_date_can_name_bound_nothing() -> None:
    assert period_bounds(date.min, date.max, ZoneInfo("Asia/Tokyo")) == (None, None)
    assert list(days(date.max, date.max)) == [date.max]


def test_days_lists_every_day_of_the_range() -> None:
    assert list(days(date(2026, 2, 27), date(2026, 3, 2))) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert list(days(date(2026, 3, 2), date(2026, 3, 1))) == []
