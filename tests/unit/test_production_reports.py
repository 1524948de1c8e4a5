"""Yield and scrap reports: the figures on worked examples a supervisor can redo by hand, the
scrap Pareto's percentages, empty periods, and days in the plant's time zone."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select

from services import registry
from services.production.orders.models import ProductionOrder, ProductionRun, QcRecord
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
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web.problems import PROBLEM_MEDIA_TYPE
from shared.web.xlsx import XLSX_MEDIA_TYPE

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


# --------------------------------------------------------------------------------------------
# The API, on a production service of its own (SQLite), with orders, runs and QC decisions
# written through production's tables at the times the story needs
# --------------------------------------------------------------------------------------------

SECRET = "production-reports-test-secret-" + "x" * 30


class Floor:
    """A Chicago plant's production database and a supervisor's client of its API."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        token = issue_service_token(SECRET, user="sam", roles=["supervisor"], ttl_seconds=600)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=runtime.app),
            base_url="http://production",
            headers={"Authorization": f"Bearer {token}"},
        )
        self._orders = 0

    def order(
        self,
        sku: str,
        qty: str,
        created_at: datetime,
        *,
        line: str | None = "PRINTER-1",
        reprint_of: ProductionOrder | None = None,
        requires_qc: bool = True,
        status: str = "completed",
    ) -> ProductionOrder:
        self._orders += 1
        root = reprint_of.root_order_code or reprint_of.code if reprint_of else None
        order = ProductionOrder(
            code=f"PRD-2026-{self._orders:05d}",
            sku=sku,
            order_type="mts",
            status=status,
            qty_ordered=D(qty),
            qty_to_make=D(qty),
            qty_good=D(0),
            qty_bad=D(0),
            qty_passed=D(0),
            qty_failed=D(0),
            priority="high" if reprint_of else "normal",
            line_code=line,
            requires_qc=requires_qc,
            reprint_of=reprint_of.code if reprint_of else None,
            root_order_code=root,
            reprint_seq=reprint_of.reprint_seq + 1 if reprint_of else 0,
            created_at=created_at,
            created_by="sam",
            updated_at=created_at,
        )
        with self.runtime.uow() as uow:
            uow.session.add(order)
            uow.commit()
        return order

    def run(
        self, order: ProductionOrder, good: str, bad: str, code: str | None, at: datetime
    ) -> None:
        with self.runtime.uow() as uow:
            runs = uow.session.scalar(
                select(func.count()).where(ProductionRun.order_id == order.id)
            )
            uow.session.add(
                ProductionRun(
                    order_id=order.id,
                    run_no=(runs or 0) + 1,
                    run_id=f"{order.code}-R{(runs or 0) + 1}",
                    qty_good=D(good),
                    qty_bad=D(bad),
                    scrap_reason_code=code,
                    final_run=True,
                    completed_at=at,
                    recorded_by="sam",
                )
            )
            uow.commit()

    def qc(
        self, order: ProductionOrder, passed: str, failed: str, code: str | None, at: datetime
    ) -> None:
        with self.runtime.uow() as uow:
            decisions = uow.session.scalar(
                select(func.count()).where(QcRecord.order_id == order.id)
            )
            uow.session.add(
                QcRecord(
                    order_id=order.id,
                    qc_no=(decisions or 0) + 1,
                    qc_record_id=f"{order.code}-Q{(decisions or 0) + 1}",
                    qty_passed=D(passed),
                    qty_failed=D(failed),
                    reason_code=code,
                    inspected_at=at,
                    inspected_by="quinn",
                )
            )
            uow.commit()

    async def get(self, path: str, **params: str) -> Any:
        answer = await self.client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    runtime = ServiceRuntime(
        registry.definition("production"),
        Settings(var_dir=tmp_path, plant_timezone="America/Chicago"),
        InProcessBus(),
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    floor = Floor(runtime)
    yield floor
    await floor.client.aclose()
    runtime.db.dispose()


def chicago(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of March 2026 on the Chicago plant's wall clock, as the aware UTC it is stored."""
    return datetime(2026, 3, day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def partial_qc_on_the_floor(floor: Floor) -> None:
    """Issue 6's partial QC story, on the 2nd and 3rd of March: ordered 10, printed 12 (10 good,
    2 bad for adhesion), QC passes 8 and fails 2 (surface); the reprint of 2 prints 2 good and
    passes 2."""
    original = floor.order("BRACKET", "10", chicago(2, 8))
    floor.run(original, "10", "2", "ADHESION", chicago(2, 14))
    floor.qc(original, "8", "2", "SURFACE", chicago(2, 16))
    reprint = floor.order("BRACKET", "2", chicago(2, 16), reprint_of=original)
    floor.run(reprint, "2", "0", None, chicago(3, 10))
    floor.qc(reprint, "2", "0", None, chicago(3, 11))


async def test_the_yield_report_shows_the_partial_qc_story_with_its_inputs(floor: Floor) -> None:
    partial_qc_on_the_floor(floor)

    report = await floor.get(
        "/api/v1/reports/yield", date_from="2026-03-01", date_to="2026-03-31", group_by="product"
    )

    assert report["tz"] == "America/Chicago"  # the plant's, when none is asked for
    assert report["rows"] == [
        {
            "group": "BRACKET",
            "name": None,
            "qty_printed": "14.0000",
            "qty_good": "12.0000",
            "qty_bad": "2.0000",
            "qty_inspected": "12.0000",
            "qty_passed": "10.0000",
            "qty_failed": "2.0000",
            "qty_scrapped": "4.0000",
            "qty_ordered_root": "10.0000",
            "qty_reprinted": "2.0000",
            "reprint_count": 1,
            "print_yield": "0.8571",  # 12 / 14
            "qc_yield": "0.8333",  # 10 / 12
            "fpy": "0.7143",  # 10 / 14
            "rty": "0.7143",  # 12/14 x 10/12
            "scrap_rate": "0.2857",  # 4 / 14
            "reprint_rate": "0.2000",  # 2 / 10
        }
    ]
    totals = {
        key: value for key, value in report["rows"][0].items() if key not in ("group", "name")
    }
    assert report["totals"] == totals


async def test_days_are_the_plants_days_across_the_utc_midnight(floor: Floor) -> None:
    order = floor.order("BRACKET", "30", chicago(2, 8))
    # 21:30 on the 3rd in Chicago is 03:30 UTC on the 4th; 23:30 on the 2nd is 05:30 UTC on the 3rd.
    floor.run(order, "9", "1", "WARPING", chicago(3, 21, 30))
    floor.run(order, "10", "0", None, chicago(4, 9))
    floor.run(order, "5", "5", "ADHESION", chicago(2, 23, 30))

    in_chicago = await floor.get(
        "/api/v1/reports/yield", date_from="2026-03-03", date_to="2026-03-04", group_by="day"
    )
    in_utc = await floor.get(
        "/api/v1/reports/yield",
        date_from="2026-03-03",
        date_to="2026-03-04",
        group_by="day",
        tz="UTC",
    )

    def printed(report: Any) -> list[tuple[str, str, str | None]]:
        return [(row["group"], row["qty_printed"], row["scrap_rate"]) for row in report["rows"]]

    assert printed(in_chicago) == [
        ("2026-03-03", "10.0000", "0.1000"),
        ("2026-03-04", "10.0000", "0.0000"),
    ]
    assert in_chicago["totals"]["qty_printed"] == "20.0000"
    # In UTC the 2nd's late run falls on the 3rd, and the 3rd's late run on the 4th.
    assert printed(in_utc) == [
        ("2026-03-03", "10.0000", "0.5000"),
        ("2026-03-04", "20.0000", "0.0500"),
    ]


async def test_every_day_of_the_range_is_listed_and_an_empty_one_has_no_figures(
    floor: Floor,
) -> None:
    order = floor.order("BRACKET", "10", chicago(2, 8))
    floor.run(order, "10", "0", None, chicago(2, 9))

    report = await floor.get(
        "/api/v1/reports/yield", date_from="2026-03-01", date_to="2026-03-03", group_by="day"
    )

    assert [row["group"] for row in report["rows"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    empty = report["rows"][0]
    assert empty["qty_printed"] == "0.0000"
    assert [empty[figure] for figure in ("fpy", "rty", "scrap_rate", "reprint_rate")] == [None] * 4
    assert report["rows"][1]["print_yield"] == "1.0000"


async def test_a_period_with_nothing_printed_shows_null_figures(floor: Floor) -> None:
    report = await floor.get("/api/v1/reports/yield", group_by="line")

    assert report["rows"] == []
    assert report["totals"]["fpy"] is None
    assert report["totals"]["qty_printed"] == "0.0000"
    pareto = await floor.get("/api/v1/reports/scrap-pareto")
    assert pareto["rows"] == []
    assert pareto["qty_scrapped"] == "0.0000"


async def test_yield_by_line_and_filters(floor: Floor) -> None:
    partial_qc_on_the_floor(floor)
    # A product with no QC step on another line: 47 good straight to stock, 3 warped.
    hooks = floor.order("HOOK", "50", chicago(3, 7), line="PRINTER-2", requires_qc=False)
    floor.run(hooks, "47", "3", "WARPING", chicago(3, 12))
    march = {"date_from": "2026-03-01", "date_to": "2026-03-31"}

    by_line = await floor.get("/api/v1/reports/yield", group_by="line", **march)
    only_hooks = await floor.get("/api/v1/reports/yield", group_by="line", sku="HOOK", **march)
    printer_one = await floor.get(
        "/api/v1/reports/yield", group_by="product", line_code="PRINTER-1", **march
    )

    assert [(row["group"], row["fpy"]) for row in by_line["rows"]] == [
        ("PRINTER-1", "0.7143"),
        ("PRINTER-2", "0.9400"),  # 47 / 50: good of a no-QC product counts as passed
    ]
    # All of March: passed 10 + 47 of printed 14 + 50; scrapped 4 + 3
    assert by_line["totals"]["fpy"] == "0.8906"  # 57 / 64 = 0.890625
    assert by_line["totals"]["scrap_rate"] == "0.1094"  # 7 / 64 = 0.109375
    assert by_line["totals"]["reprint_rate"] == "0.0333"  # 2 / (10 + 50)
    assert [row["group"] for row in only_hooks["rows"]] == ["PRINTER-2"]
    assert [row["group"] for row in printer_one["rows"]] == ["BRACKET"]


PARETO_KEYS = ("code", "qty", "qty_bad", "qty_failed", "percent", "cumulative_percent", "category")


async def test_the_scrap_pareto_ranks_reasons_with_their_corrective_action(floor: Floor) -> None:
    partial_qc_on_the_floor(floor)  # 2 adhesion at the printer, 2 surface at QC
    hooks = floor.order("HOOK", "10", chicago(3, 7), line="PRINTER-2")
    floor.run(hooks, "9", "1", "WARPING", chicago(3, 12))

    pareto = await floor.get(
        "/api/v1/reports/scrap-pareto", date_from="2026-03-01", date_to="2026-03-31"
    )

    assert pareto["qty_scrapped"] == "5.0000"
    assert [tuple(row[key] for key in PARETO_KEYS) for row in pareto["rows"]] == [
        ("ADHESION", "2.0000", "2.0000", "0.0000", "40.0000", "40.0000", "print_failure"),
        ("SURFACE", "2.0000", "0.0000", "2.0000", "40.0000", "80.0000", "qc_failure"),
        ("WARPING", "1.0000", "1.0000", "0.0000", "20.0000", "100.0000", "print_failure"),
    ]
    adhesion = pareto["rows"][0]
    assert adhesion["description"].startswith("Bed adhesion failure")
    assert adhesion["corrective_action"].startswith("Clean and level the build plate")

    printer_two = await floor.get(
        "/api/v1/reports/scrap-pareto",
        date_from="2026-03-01",
        date_to="2026-03-31",
        line_code="PRINTER-2",
    )
    assert [(row["code"], row["cumulative_percent"]) for row in printer_two["rows"]] == [
        ("WARPING", "100.0000")
    ]


async def test_the_workbooks_hold_the_same_rows_as_the_json(floor: Floor) -> None:
    partial_qc_on_the_floor(floor)
    params = {"date_from": "2026-03-01", "date_to": "2026-03-03", "group_by": "day"}

    report = await floor.get("/api/v1/reports/yield", **params)
    answer = await floor.client.get("/api/v1/reports/yield.xlsx", params=params)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX_MEDIA_TYPE
    sheet = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    assert sheet[0][:4] == ("Day", "Name", "Printed", "Good")
    assert [row[0] for row in sheet[1:]] == ["2026-03-01", "2026-03-02", "2026-03-03", "Total"]
    for cells, row in zip(sheet[1:], [*report["rows"], report["totals"]], strict=True):
        assert cells[2] == float(row["qty_printed"])
        assert cells[14] == (None if row["fpy"] is None else float(row["fpy"]))
    assert sheet[2][14] == float(report["rows"][1]["fpy"])

    pareto = await floor.get("/api/v1/reports/scrap-pareto", date_from="2026-03-01")
    answer = await floor.client.get(
        "/api/v1/reports/scrap-pareto.xlsx", params={"date_from": "2026-03-01"}
    )
    sheet = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    assert [(row[0], row[4], row[8]) for row in sheet[1:]] == [
        (row["code"], float(row["qty"]), float(row["cumulative_percent"])) for row in pareto["rows"]
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "query.date_to"),
        ({"tz": "Mars/Olympus_Mons"}, "query.tz"),
        ({"tz": "../../etc/passwd"}, "query.tz"),
        ({"tz": "posixrules"}, "query.tz"),
        ({"group_by": "week"}, "query.group_by"),
        (
            {"date_from": "2020-01-01", "date_to": "2026-01-01", "group_by": "day"},
            "query.date_from",
        ),
        ({"date_from": "yesterday"}, "query.date_from"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    floor: Floor, params: dict[str, str], field: str
) -> None:
    for path in ("/api/v1/reports/yield", "/api/v1/reports/yield.xlsx"):
        answer = await floor.client.get(path, params=params)

        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert answer.json()["field"] == field


async def test_a_long_range_by_product_is_fine_and_the_ends_of_the_calendar_too(
    floor: Floor,
) -> None:
    partial_qc_on_the_floor(floor)

    report = await floor.get(
        "/api/v1/reports/yield",
        date_from="0001-01-01",
        date_to="9999-12-31",
        group_by="product",
        tz="Asia/Tokyo",
    )
    pareto = await floor.get(
        "/api/v1/reports/scrap-pareto", date_from="0001-01-01", date_to="9999-12-31"
    )

    assert report["totals"]["fpy"] == "0.7143"
    assert pareto["qty_scrapped"] == "4.0000"


async def test_the_reports_need_a_signed_in_user(floor: Floor) -> None:
    answer = await floor.client.get("/api/v1/reports/yield", headers={"Authorization": ""})

    assert answer.status_code == 401
