"""OEE, downtime Pareto, trend buckets and MTBF/MTTR on plain values: no table, no HTTP.

The use cases (service.py) read shift occurrences, stops, runs and capacities and hand them to
these functions, so the arithmetic a supervisor redoes by hand is the arithmetic the report does.

OEE, for one line over some shift occurrences (docs/downtime.md, "OEE"):

- **Shift time** is the length of each occurrence (a night shift over the spring change is 7 h,
  over the autumn change 9 h), cut at `now` while the shift is still being worked; a shift that
  has not started yet is not counted at all.
- **Planned downtime** and **unplanned downtime** are the parts of the line's stops that fall
  inside those occurrences (a stop still running ends at `now`). A stop without a reason is
  unplanned until someone classifies it. Time outside every shift is never planned production
  time, so a stop there counts for nothing here (the downtime summary still shows it).
- **Planned production time** = shift time - planned downtime.
- **Run time** = planned production time - unplanned downtime.
- **Ideal run time** = Σ over the runs completed in those occurrences of count (good + bad) /
  ideal rate, the ideal rate being the capacity in force on the run's production day (for its
  SKU, else its family, else any product) over the length of the shift it completed in; so a
  run of 120 units on a 480-units-per-8-h-shift line has an ideal run time of 2 h.
- **Total** = good + bad of those runs; **good** = total - bad - what QC later failed of them.
- **Availability** = run / planned production time, **performance** = ideal run / run,
  **quality** = good / total, **OEE** = availability x performance x quality.

Figures are exact `Fraction`s of exact inputs (seconds as `Decimal`, microseconds kept),
rounded once, to 4 places half up, for showing (`rounded`). A factor with nothing to divide by
is None, never 0 and never an error; performance is None as well when any output of the group
has no capacity to measure it against (the SKUs are listed, so the supervisor sees why). OEE is
0 when any factor is 0 (a line down all its planned time, or running without making anything),
else None when any factor is None, else the product.

MTBF = run time / failures and MTTR = unplanned downtime / failures, where the failures are
the unplanned stops that took some of the line's shift time.

The Pareto ranks reasons by downtime, largest first, with each one's share and the cumulative
share, both from the exact running total (the last bar is exactly 100).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal, TypeVar

from services.downtime.plant.domain import ShiftOccurrence

PLACES = 4
_SCALE = 10**PLACES
ZERO = Decimal(0)
_MICRO = Decimal(1).scaleb(-6)
# The longest range a report covers: a year, leap day included.
MAX_DAYS = 366

Bucket = Literal["day", "week"]
K = TypeVar("K")


def rounded(value: Fraction | Decimal) -> Decimal:
    """`value` to 4 places, half up (away from zero), exactly: no float, no double rounding."""
    exact = Fraction(value)
    scaled = abs(exact) * _SCALE
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    sign = -1 if exact < 0 else 1
    return Decimal(sign * whole).scaleb(-PLACES)


def shown(value: Fraction | None) -> Decimal | None:
    return None if value is None else rounded(value)


def ratio(part: Fraction | Decimal, whole: Fraction | Decimal) -> Fraction | None:
    """part / whole exactly, or None when there is nothing to divide by."""
    if whole == 0:
        return None
    return Fraction(part) / Fraction(whole)


def seconds(delta: timedelta) -> Decimal:
    """A duration in seconds, exactly (microseconds kept)."""
    return Decimal(delta.days * 86_400 + delta.seconds) + Decimal(delta.microseconds) * _MICRO


def minutes(value: Decimal) -> Decimal:
    return rounded(Fraction(value) / 60)


def overlap(start: datetime, end: datetime, since: datetime, until: datetime) -> timedelta:
    """How much of [start, end) lies inside [since, until)."""
    return max(min(end, until) - max(start, since), timedelta(0))


# --------------------------------------------------------------------------------------------
# What the reports are made of
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    """A downtime entry of a line: `ended_at` None while it runs."""

    id: int
    line_code: str
    started_at: datetime
    ended_at: datetime | None
    planned: bool
    reason_code: str | None

    @property
    def counts_as_planned(self) -> bool:
        """An unclassified stop is unplanned, whatever its flag says."""
        return self.planned and self.reason_code is not None

    def end(self, now: datetime) -> datetime:
        return self.ended_at if self.ended_at is not None else max(now, self.started_at)


@dataclass(frozen=True)
class Output:
    """One run's output (PrintCompleted) and what QC later failed of it (QCPassed)."""

    line_code: str
    sku: str
    family: str | None
    completed_at: datetime
    qty_good: Decimal
    qty_bad: Decimal
    qty_failed: Decimal = ZERO


@dataclass(frozen=True)
class Capacity:
    """Units a line makes in one shift for one SKU, one family or (neither) any product, from
    `effective_from` until the next row of the same target."""

    id: int
    line_code: str
    sku: str | None
    family: str | None
    units_per_shift: Decimal
    effective_from: date


@dataclass(frozen=True)
class CapacitySpan:
    """The days one capacity row is in force for its target: from its `effective_from` (or the
    report's first day) to the day before the next row of the same target (or the last day)."""

    line_code: str
    sku: str | None
    family: str | None
    first: date
    last: date
    units_per_shift: Decimal


def capacity_spans(capacities: Iterable[Capacity], first: date, last: date) -> list[CapacitySpan]:
    """The capacities in force on the days `first` to `last`, as day spans that never overlap
    for one target (line and SKU, line and family, or line and any product), so each run meets
    at most one span of each kind. Of two rows from the same day, the later one wins."""
    by_target: dict[tuple[str, str | None, str | None], list[Capacity]] = {}
    for row in capacities:
        by_target.setdefault((row.line_code, row.sku, row.family), []).append(row)
    spans: list[CapacitySpan] = []
    for (line, sku, family), rows in by_target.items():
        rows.sort(key=lambda row: (row.effective_from, row.id))
        for index, row in enumerate(rows):
            start = max(row.effective_from, first)
            end = last
            if index + 1 < len(rows):
                end = min(end, rows[index + 1].effective_from - timedelta(days=1))
            if start <= end:
                spans.append(CapacitySpan(line, sku, family, start, end, row.units_per_shift))
    return spans


def capacity_in_force(
    capacities: Iterable[Capacity], sku: str, family: str | None, day: date
) -> Decimal | None:
    """Units per shift of the line for `sku` on `day`: its SKU's capacity in force, else its
    family's, else the any-product one; None when none is known."""
    spans = capacity_spans(capacities, day, day)
    for wanted in ((sku, None), (None, family), (None, None)):
        if wanted == (None, None) or any(wanted):
            for span in spans:
                if (span.sku, span.family) == wanted:
                    return span.units_per_shift
    return None


def ideal_run_seconds(count: Decimal, shift_seconds: Decimal, units_per_shift: Decimal) -> Fraction:
    """The time `count` units take at the ideal rate: units_per_shift per shift_seconds."""
    return Fraction(count) * Fraction(shift_seconds) / Fraction(units_per_shift)


# --------------------------------------------------------------------------------------------
# OEE
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OeeInputs:
    """What OEE is computed from, for one line over one shift occurrence or any sum of them."""

    shift_seconds: Decimal = ZERO
    planned_downtime_seconds: Decimal = ZERO
    unplanned_downtime_seconds: Decimal = ZERO
    ideal_run_seconds: Fraction = Fraction(0)
    total_count: Decimal = ZERO
    bad_count: Decimal = ZERO
    qc_failed_count: Decimal = ZERO
    # SKUs whose output has no capacity to measure it against.
    missing_capacity: frozenset[str] = field(default_factory=frozenset)
    # Unplanned stops that took some of this time, each counted once (for MTBF and MTTR).
    failures: int = 0

    @property
    def planned_seconds(self) -> Decimal:
        """Planned production time: shift time less planned downtime."""
        return self.shift_seconds - self.planned_downtime_seconds

    @property
    def run_seconds(self) -> Decimal:
        return self.planned_seconds - self.unplanned_downtime_seconds

    @property
    def good_count(self) -> Decimal:
        return max(self.total_count - self.bad_count - self.qc_failed_count, ZERO)

    def __add__(self, other: OeeInputs) -> OeeInputs:
        """Two groups together (their failures are different stops: a line's, or a group's)."""
        return OeeInputs(
            shift_seconds=self.shift_seconds + other.shift_seconds,
            planned_downtime_seconds=self.planned_downtime_seconds + other.planned_downtime_seconds,
            unplanned_downtime_seconds=self.unplanned_downtime_seconds
            + other.unplanned_downtime_seconds,
            ideal_run_seconds=self.ideal_run_seconds + other.ideal_run_seconds,
            total_count=self.total_count + other.total_count,
            bad_count=self.bad_count + other.bad_count,
            qc_failed_count=self.qc_failed_count + other.qc_failed_count,
            missing_capacity=self.missing_capacity | other.missing_capacity,
            failures=self.failures + other.failures,
        )


def total(inputs: Iterable[OeeInputs]) -> OeeInputs:
    summed = OeeInputs()
    for each in inputs:
        summed += each
    return summed


class OeeTally:
    """Adds up one group's OEE inputs as they come (shift by shift, stop by stop, run by run,
    or sums of them), cheaply: the ideal run time is kept as units per (shift length, capacity)
    and divided once, exactly, when the inputs are asked for."""

    __slots__ = (
        "_failures",
        "_missing",
        "_units_by_rate",
        "bad",
        "failed",
        "planned",
        "shift",
        "total",
        "unplanned",
    )

    def __init__(self) -> None:
        self.shift = ZERO
        self.planned = ZERO
        self.unplanned = ZERO
        self.total = ZERO
        self.bad = ZERO
        self.failed = ZERO
        self._units_by_rate: dict[tuple[Decimal, Decimal], Decimal] = {}
        self._missing: set[str] = set()
        self._failures = 0

    def add_shift(self, seconds: Decimal) -> None:
        self.shift += seconds

    def add_downtime(self, seconds: Decimal, *, planned: bool, failures: int = 0) -> None:
        """Downtime inside the group's shifts; `failures` unplanned stops not counted yet."""
        if planned:
            self.planned += seconds
        else:
            self.unplanned += seconds
            self._failures += failures

    def add_output(
        self,
        *,
        good: Decimal,
        bad: Decimal,
        failed: Decimal,
        shift_seconds: Decimal,
        units_per_shift: Decimal | None,
        sku: str | None,
    ) -> None:
        """Output completed in a shift `shift_seconds` long, at `units_per_shift` (None: no
        capacity known for `sku`)."""
        count = good + bad
        self.total += count
        self.bad += bad
        self.failed += failed
        if count == 0:
            return
        if units_per_shift is None or units_per_shift <= 0:
            self._missing.add(sku or "")
            return
        rate = (shift_seconds, units_per_shift)
        self._units_by_rate[rate] = self._units_by_rate.get(rate, ZERO) + count

    def add_qc_failed(self, qty: Decimal) -> None:
        """Units QC failed later of output already added."""
        self.failed += qty

    def inputs(self) -> OeeInputs:
        ideal = sum(
            (
                ideal_run_seconds(count, length, units)
                for (length, units), count in self._units_by_rate.items()
            ),
            Fraction(0),
        )
        return OeeInputs(
            shift_seconds=self.shift,
            planned_downtime_seconds=self.planned,
            unplanned_downtime_seconds=self.unplanned,
            ideal_run_seconds=ideal,
            total_count=self.total,
            bad_count=self.bad,
            qc_failed_count=self.failed,
            missing_capacity=frozenset(self._missing),
            failures=self._failures,
        )


def availability(inputs: OeeInputs) -> Fraction | None:
    return ratio(inputs.run_seconds, inputs.planned_seconds)


def performance(inputs: OeeInputs) -> Fraction | None:
    if inputs.missing_capacity:
        return None
    return ratio(inputs.ideal_run_seconds, inputs.run_seconds)


def quality(inputs: OeeInputs) -> Fraction | None:
    return ratio(inputs.good_count, inputs.total_count)


def oee(inputs: OeeInputs) -> Fraction | None:
    return oee_of(availability(inputs), performance(inputs), quality(inputs))


def oee_of(*factors: Fraction | None) -> Fraction | None:
    """The product of the factors: 0 when any is 0, else None when any is None."""
    if any(factor == 0 for factor in factors):
        return Fraction(0)
    product = Fraction(1)
    for factor in factors:
        if factor is None:
            return None
        product *= factor
    return product


@dataclass(frozen=True)
class OeeFigures:
    """The four figures of some inputs, each rounded once to 4 places (None where undefined)."""

    availability: Decimal | None
    performance: Decimal | None
    quality: Decimal | None
    oee: Decimal | None


def oee_figures(inputs: OeeInputs) -> OeeFigures:
    a, p, q = availability(inputs), performance(inputs), quality(inputs)
    return OeeFigures(
        availability=shown(a), performance=shown(p), quality=shown(q), oee=shown(oee_of(a, p, q))
    )


@dataclass(frozen=True)
class Worked:
    """A shift occurrence as far as it has been worked at `now`: [starts_at, until); `counted`
    when it is one of the report's (not the night before the range, read for its last hours)."""

    occurrence: ShiftOccurrence
    until: datetime
    counted: bool = True

    @property
    def starts_at(self) -> datetime:
        return self.occurrence.starts_at

    @property
    def seconds(self) -> Decimal:
        """Shift time worked so far."""
        return seconds(self.until - self.occurrence.starts_at)

    @property
    def length_seconds(self) -> Decimal:
        """The whole shift's length, which its capacity is for."""
        return seconds(self.occurrence.duration)


def worked_so_far(occurrences: Iterable[ShiftOccurrence], now: datetime) -> list[Worked]:
    """The occurrences that have begun by `now`, each cut at `now`, in start order."""
    begun = [
        Worked(occurrence, min(occurrence.ends_at, now))
        for occurrence in occurrences
        if occurrence.starts_at < now
    ]
    return sorted(begun, key=lambda worked: worked.starts_at)


@dataclass(frozen=True)
class StopPart:
    """The part of a stop inside one worked shift occurrence."""

    stop: Stop
    worked: Worked
    seconds: Decimal


def stop_parts(
    worked: Sequence[Worked], stops: Iterable[Stop], now: datetime
) -> Iterator[StopPart]:
    """Each stop cut to the worked occurrences it overlaps (`worked` in start order, not
    overlapping, as a facility's shifts are)."""
    starts = [each.starts_at for each in worked]
    for stop in stops:
        end = stop.end(now)
        index = max(bisect_right(starts, stop.started_at) - 1, 0)
        while index < len(worked) and worked[index].starts_at < end:
            each = worked[index]
            index += 1
            inside = overlap(stop.started_at, end, each.starts_at, each.until)
            if inside:
                yield StopPart(stop, each, seconds(inside))


def holding(worked: Sequence[Worked], moment: datetime) -> Worked | None:
    """The worked occurrence holding `moment`, or None."""
    index = bisect_right([each.starts_at for each in worked], moment) - 1
    if index >= 0 and moment < worked[index].until:
        return worked[index]
    return None


def line_shifts(
    line_codes: Iterable[str],
    worked: Sequence[Worked],
    stops: Iterable[Stop],
    outputs: Iterable[Output],
    capacities: Mapping[str, Sequence[Capacity]],
    now: datetime,
) -> tuple[dict[tuple[str, ShiftOccurrence], OeeInputs], dict[str, Decimal]]:
    """The whole OEE computation on plain values: the inputs per line per worked shift
    occurrence (every line gets every occurrence), and the units per line completed outside
    every worked occurrence (counted in no figure). The service does the same with the
    database adding up what lies wholly inside a shift; this is its definition, and its test.

    A stop over two shifts is a failure in each of them here; a group of both counts it once.
    """
    tallies: dict[tuple[str, ShiftOccurrence], OeeTally] = {}
    for line in line_codes:
        for each in worked:
            tally = tallies[(line, each.occurrence)] = OeeTally()
            tally.add_shift(each.seconds)
    for part in stop_parts(worked, stops, now):
        key = (part.stop.line_code, part.worked.occurrence)
        if key in tallies:
            planned = part.stop.counts_as_planned
            tallies[key].add_downtime(part.seconds, planned=planned, failures=1)
    outside: dict[str, Decimal] = {}
    for output in outputs:
        held = holding(worked, output.completed_at)
        if held is None or (output.line_code, held.occurrence) not in tallies:
            count = output.qty_good + output.qty_bad
            outside[output.line_code] = outside.get(output.line_code, ZERO) + count
            continue
        units = capacity_in_force(
            capacities.get(output.line_code, ()), output.sku, output.family, held.occurrence.day
        )
        tallies[(output.line_code, held.occurrence)].add_output(
            good=output.qty_good,
            bad=output.qty_bad,
            failed=output.qty_failed,
            shift_seconds=held.length_seconds,
            units_per_shift=units,
            sku=output.sku,
        )
    return {key: tally.inputs() for key, tally in tallies.items()}, outside


# --------------------------------------------------------------------------------------------
# Reliability
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reliability:
    run_seconds: Decimal
    unplanned_downtime_seconds: Decimal
    failures: int
    mtbf_seconds: Fraction | None
    mttr_seconds: Fraction | None


def reliability(inputs: OeeInputs) -> Reliability:
    """MTBF = run time / failures, MTTR = unplanned downtime / failures (None without one)."""
    failures = inputs.failures
    return Reliability(
        run_seconds=inputs.run_seconds,
        unplanned_downtime_seconds=inputs.unplanned_downtime_seconds,
        failures=failures,
        mtbf_seconds=ratio(inputs.run_seconds, Decimal(failures)),
        mttr_seconds=ratio(inputs.unplanned_downtime_seconds, Decimal(failures)),
    )


# --------------------------------------------------------------------------------------------
# Downtime by reason, Pareto, trend
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DowntimeSum:
    """Downtime of some stops: how many, and their seconds, planned and unplanned."""

    count: int = 0
    planned_seconds: Decimal = ZERO
    unplanned_seconds: Decimal = ZERO

    @property
    def seconds(self) -> Decimal:
        return self.planned_seconds + self.unplanned_seconds

    def __add__(self, other: DowntimeSum) -> DowntimeSum:
        return DowntimeSum(
            count=self.count + other.count,
            planned_seconds=self.planned_seconds + other.planned_seconds,
            unplanned_seconds=self.unplanned_seconds + other.unplanned_seconds,
        )


def downtime_sum(count: int, seconds: Decimal, *, planned: bool) -> DowntimeSum:
    if planned:
        return DowntimeSum(count=count, planned_seconds=seconds)
    return DowntimeSum(count=count, unplanned_seconds=seconds)


def summed(parts: Iterable[tuple[K, DowntimeSum]]) -> dict[K, DowntimeSum]:
    sums: dict[K, DowntimeSum] = {}
    for key, part in parts:
        sums[key] = sums[key] + part if key in sums else part
    return sums


def percent_of(part: Decimal, whole: Decimal) -> Decimal | None:
    share = ratio(part, whole)
    return None if share is None else rounded(share * 100)


def top_reason(code: str, parents: Mapping[str, str | None]) -> str:
    """The root of the reason tree `code` hangs from (itself when it has no parent)."""
    seen = {code}
    while (parent := parents.get(code)) is not None and parent not in seen:
        seen.add(parent)
        code = parent
    return code


@dataclass(frozen=True)
class ParetoBar:
    reason_code: str | None
    sum: DowntimeSum
    percent: Decimal
    cumulative_percent: Decimal


def pareto(by_reason: Mapping[str | None, DowntimeSum]) -> list[ParetoBar]:
    """Reasons by downtime, largest first (ties by code, unclassified last), with each one's
    percentage of all of it and the cumulative percentage; reasons without downtime left out."""
    bars = [(code, part) for code, part in by_reason.items() if part.seconds > 0]
    bars.sort(key=lambda bar: (-bar[1].seconds, bar[0] is None, bar[0] or ""))
    whole = Fraction(sum((part.seconds for _code, part in bars), ZERO))
    running = Fraction(0)
    ranked: list[ParetoBar] = []
    for code, part in bars:
        running += Fraction(part.seconds)
        ranked.append(
            ParetoBar(
                reason_code=code,
                sum=part,
                percent=rounded(Fraction(part.seconds) * 100 / whole),
                cumulative_percent=rounded(running * 100 / whole),
            )
        )
    return ranked


@dataclass(frozen=True)
class Period:
    """A trend bucket: a day, or the days of one ISO week inside the range."""

    label: str
    first: date
    last: date


def buckets(first: date, last: date, bucket: Bucket) -> Iterator[Period]:
    """The days (or ISO weeks, cut to the range) from `first` to `last`, in order."""
    day = first
    while day <= last:
        if bucket == "day":
            yield Period(day.isoformat(), day, day)
            end = day
        else:
            year, week, weekday = day.isocalendar()
            end = min(day + timedelta(days=7 - weekday), last)
            yield Period(f"{year}-W{week:02d}", day, end)
        if end == date.max:
            return
        day = end + timedelta(days=1)


def bucket_of(day: date, bucket: Bucket) -> str:
    if bucket == "day":
        return day.isoformat()
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"
