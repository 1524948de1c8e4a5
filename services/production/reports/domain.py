"""Yield and scrap figures on plain values: what each figure means, and how it is rounded.

Nothing here reads a table. The use cases (service.py) add up the quantities of runs, QC
decisions and orders into `YieldInputs`, and these functions turn the sums into figures, so the
arithmetic a supervisor checks by hand is the arithmetic the report does.

The definitions, as a plant manager reads them:

- **Printed**: everything that came off the machines, good + bad, counted on the day the run was
  completed.
- **Print yield**: good / printed. Of what was printed, the share that was not scrapped at the
  machine.
- **QC yield**: passed / inspected, where inspected = passed + failed, counted on the day of the
  QC decision. A product that needs no QC goes straight to stock: its good output counts as
  inspected and passed.
- **First pass yield (FPY)**: passed / printed. Of what was printed, the share that passed QC
  first time. Each order counts its own output only: a reprint is a new order whose units
  count when it prints and passes, never as a second pass of the original units. Output still
  waiting for QC is not passed yet, so it lowers FPY until it is inspected.
- **Rolled throughput yield (RTY)**: print yield x QC yield, the product of the step yields.
  When every good unit has been inspected it equals FPY; the two differ while output waits in
  QC or when runs and QC fall in different periods.
- **Scrap rate**: (bad at the machines + failed at QC) / printed.
- **Reprint rate**: quantity on the reprint orders created / quantity ordered on the root
  (non-reprint) orders created, in the same period; the number of reprint orders is shown
  beside it.

Every figure is a `Decimal` ratio (0.7143 means 71.43 %) computed exactly from the quantities
and rounded once, to 4 places, half up; RTY is the exact product of the two exact step yields,
rounded once. A figure whose denominator is zero (nothing printed, nothing inspected, nothing
ordered) is `None` (shown as null or an empty cell), never 0 and never a division error.

The scrap Pareto lists the reason codes by scrapped quantity (bad at runs + failed at QC),
largest first, with each code's percentage of all scrap and the cumulative percentage. Both are
computed from the exact quantities (the cumulative one from the running total, not by adding
rounded percentages), so the last row is exactly 100.0000.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar
from zoneinfo import ZoneInfo

K = TypeVar("K")

PLACES = 4
_SCALE = 10**PLACES
ZERO = Decimal(0)
# One row per day: two years of days is as long as a day-by-day report is useful.
MAX_DAYS_BY_DAY = 731


def rounded(value: Fraction) -> Decimal:
    """`value` to 4 places, half up (away from zero), exactly: no float, no double rounding."""
    scaled = abs(value) * _SCALE
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-PLACES)


def ratio(part: Decimal, whole: Decimal) -> Fraction | None:
    """part / whole exactly, or None when there is no whole to divide by."""
    if whole == 0:
        return None
    return Fraction(part) / Fraction(whole)


def _shown(value: Fraction | None) -> Decimal | None:
    return None if value is None else rounded(value)


@dataclass(frozen=True)
class YieldInputs:
    """The quantities behind the figures of one period or group; they add up (`+`)."""

    qty_good: Decimal = ZERO
    qty_bad: Decimal = ZERO
    qty_passed: Decimal = ZERO
    qty_failed: Decimal = ZERO
    qty_ordered_root: Decimal = ZERO
    qty_reprinted: Decimal = ZERO
    reprint_count: int = 0

    @property
    def qty_printed(self) -> Decimal:
        return self.qty_good + self.qty_bad

    @property
    def qty_inspected(self) -> Decimal:
        return self.qty_passed + self.qty_failed

    @property
    def qty_scrapped(self) -> Decimal:
        return self.qty_bad + self.qty_failed

    def __add__(self, other: YieldInputs) -> YieldInputs:
        return YieldInputs(
            qty_good=self.qty_good + other.qty_good,
            qty_bad=self.qty_bad + other.qty_bad,
            qty_passed=self.qty_passed + other.qty_passed,
            qty_failed=self.qty_failed + other.qty_failed,
            qty_ordered_root=self.qty_ordered_root + other.qty_ordered_root,
            qty_reprinted=self.qty_reprinted + other.qty_reprinted,
            reprint_count=self.reprint_count + other.reprint_count,
        )


def run_output(qty_good: Decimal, qty_bad: Decimal, *, requires_qc: bool) -> YieldInputs:
    """What a completed run adds: its good and bad units; for a product that needs no QC, its
    good units are passed as well (they go straight to stock)."""
    if requires_qc:
        return YieldInputs(qty_good=qty_good, qty_bad=qty_bad)
    return YieldInputs(qty_good=qty_good, qty_bad=qty_bad, qty_passed=qty_good)


def qc_decision(qty_passed: Decimal, qty_failed: Decimal) -> YieldInputs:
    """What a QC decision adds: the units it passed and failed."""
    return YieldInputs(qty_passed=qty_passed, qty_failed=qty_failed)


def order_created(qty_ordered: Decimal, *, is_reprint: bool, count: int = 1) -> YieldInputs:
    """What new orders add (`count` of them, for `qty_ordered` in all): root orders their
    quantity ordered; reprints their quantity and their number."""
    if is_reprint:
        return YieldInputs(qty_reprinted=qty_ordered, reprint_count=count)
    return YieldInputs(qty_ordered_root=qty_ordered)


def total(inputs: Iterable[YieldInputs]) -> YieldInputs:
    summed = YieldInputs()
    for each in inputs:
        summed += each
    return summed


@dataclass(frozen=True)
class YieldFigures:
    print_yield: Decimal | None
    qc_yield: Decimal | None
    fpy: Decimal | None
    rty: Decimal | None
    scrap_rate: Decimal | None
    reprint_rate: Decimal | None


def print_yield(inputs: YieldInputs) -> Fraction | None:
    return ratio(inputs.qty_good, inputs.qty_printed)


def qc_yield(inputs: YieldInputs) -> Fraction | None:
    return ratio(inputs.qty_passed, inputs.qty_inspected)


def first_pass_yield(inputs: YieldInputs) -> Fraction | None:
    return ratio(inputs.qty_passed, inputs.qty_printed)


def rolled_throughput_yield(inputs: YieldInputs) -> Fraction | None:
    printing, inspecting = print_yield(inputs), qc_yield(inputs)
    if printing is None or inspecting is None:
        return None
    return printing * inspecting


def scrap_rate(inputs: YieldInputs) -> Fraction | None:
    return ratio(inputs.qty_scrapped, inputs.qty_printed)


def reprint_rate(inputs: YieldInputs) -> Fraction | None:
    return ratio(inputs.qty_reprinted, inputs.qty_ordered_root)


def yield_figures(inputs: YieldInputs) -> YieldFigures:
    """Every figure of `inputs`, each rounded once to 4 places (None where undefined)."""
    return YieldFigures(
        print_yield=_shown(print_yield(inputs)),
        qc_yield=_shown(qc_yield(inputs)),
        fpy=_shown(first_pass_yield(inputs)),
        rty=_shown(rolled_throughput_yield(inputs)),
        scrap_rate=_shown(scrap_rate(inputs)),
        reprint_rate=_shown(reprint_rate(inputs)),
    )


def grouped(parts: Iterable[tuple[K, YieldInputs]]) -> dict[K, YieldInputs]:
    """The inputs added up per group."""
    sums: dict[K, YieldInputs] = {}
    for group, inputs in parts:
        sums[group] = sums[group] + inputs if group in sums else inputs
    return sums


# --------------------------------------------------------------------------------------------
# Scrap Pareto
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParetoBar:
    code: str | None
    qty: Decimal
    percent: Decimal
    cumulative_percent: Decimal


def scrap_pareto(qty_by_code: Mapping[str | None, Decimal]) -> list[ParetoBar]:
    """The reason codes by scrapped quantity, largest first (ties by code; a quantity without a
    code last), with percentages of all scrap; codes with nothing scrapped are left out."""
    scrapped = [(code, qty) for code, qty in qty_by_code.items() if qty != 0]
    scrapped.sort(key=lambda bar: (-bar[1], bar[0] is None, bar[0] or ""))
    whole = sum((qty for _code, qty in scrapped), ZERO)
    bars: list[ParetoBar] = []
    running = ZERO
    for code, qty in scrapped:
        running += qty
        bars.append(
            ParetoBar(
                code=code,
                qty=qty,
                percent=rounded(Fraction(qty) * 100 / Fraction(whole)),
                cumulative_percent=rounded(Fraction(running) * 100 / Fraction(whole)),
            )
        )
    return bars


# --------------------------------------------------------------------------------------------
# Periods in a time zone
# --------------------------------------------------------------------------------------------


def days(first: date, last: date) -> Iterator[date]:
    """Every day from `first` to `last`, both included."""
    day = first
    while day <= last:
        yield day
        if day == date.max:
            return
        day += timedelta(days=1)


def day_count(first: date, last: date) -> int:
    return (last - first).days + 1


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The day on the wall calendar of `zone` at the aware instant `moment`."""
    return moment.astimezone(zone).date()


def period_bounds(
    first: date, last: date, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """Days `first` to `last` of `zone` (both included) as UTC instants [since, until); a bound
    a datetime cannot hold (the first or last day a date can name) bounds nothing (None)."""
    return _midnight(first, zone), _midnight(last, zone, days_later=1)


def _midnight(day: date, zone: ZoneInfo, *, days_later: int = 0) -> datetime | None:
    try:
        moment = datetime.combine(day + timedelta(days=days_later), time.min, tzinfo=zone)
        return moment.astimezone(UTC)
    except OverflowError:
        return None
