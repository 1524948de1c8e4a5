"""How the OEE and downtime pages show the downtime service's figures: durations in hours and
minutes, ratios and percentages with one decimal in the user's locale, each OEE factor's
arithmetic written out with its inputs, and the charts' data.

The service owns every figure (docs/downtime.md, "OEE"); nothing here computes one. The
arithmetic lines only put the service's inputs and its result side by side, rounded for
reading, so a supervisor can redo the division. The charts get the same exact decimals the
tables show, as numeric strings (ECharts reads them as numbers), never through a float.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel import dates as babel_dates
from babel import numbers as babel_numbers

from shared.i18n import Text, _, format_date, format_number, locale_of

DASH = "\u2013"  # en dash
NO_COLOUR = "#9E9E9E"
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
ONE_DECIMAL = Decimal("0.1")


def decimal_of(value: Any) -> Decimal | None:
    """A figure of the answer ('24300.0000', 3, null) as a Decimal; None when there is none."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def duration(seconds: Any) -> str:
    """Seconds as a person reads a stop: '6 h 45 min', '45 min', '1 h 05 min 30 s', '30 s',
    '0 min'; whole seconds (a running stop's microseconds rounded), seconds only when some are
    left over, so the arithmetic lines stay exact."""
    found = decimal_of(seconds)
    if found is None:
        return DASH
    total = int(found.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign, total = ("-", -total) if total < 0 else ("", total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts: list[str] = []
    if hours:
        parts.append(_("{hours} h", hours=format_number(hours)).render())
    if minutes or (hours and secs) or not (hours or secs):
        shown = f"{minutes:02d}" if hours else str(minutes)
        parts.append(_("{minutes} min", minutes=shown).render())
    if secs:
        parts.append(_("{seconds} s", seconds=f"{secs:02d}" if hours or minutes else secs).render())
    return sign + " ".join(parts)


def _one_decimal(value: Decimal) -> str:
    rounded = value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
    shown = babel_numbers.format_decimal(rounded, format="#,##0.0", locale=locale_of())
    return _("{value} %", value=shown).render()


def ratio_percent(value: Any) -> str:
    """A ratio of the service (0.9000) as a percentage with one decimal: '90.0 %'."""
    found = decimal_of(value)
    return DASH if found is None else _one_decimal(found * 100)


def percent(value: Any) -> str:
    """A figure already in percent (62.5000) with one decimal: '62.5 %'."""
    found = decimal_of(value)
    return DASH if found is None else _one_decimal(found)


def count(value: Any) -> str:
    found = decimal_of(value)
    return DASH if found is None else format_number(found)


def colour(value: Any) -> str:
    """A reason's colour as the service gave it, if it is one (it goes into SVG and the chart)."""
    shown = str(value or "")
    return shown if HEX_COLOUR.match(shown) else NO_COLOUR


def short_day(value: Any) -> str:
    """'Mar 2' / '2 mar': a chart's axis label of a production day."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return str(babel_dates.format_skeleton("MMMd", day, locale=locale_of()))


def as_number(value: Any) -> str | None:
    """For a chart: the exact decimal as a plain numeric string."""
    found = decimal_of(value)
    return format(found, "f") if found is not None else None


def as_percent_number(value: Any) -> str | None:
    """A ratio for a chart in percent, rounded to one decimal (what the table shows)."""
    found = decimal_of(value)
    if found is None:
        return None
    return format((found * 100).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP), "f")


def as_minutes(seconds: Any) -> str | None:
    found = decimal_of(seconds)
    if found is None:
        return None
    return format((found / 60).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP), "f")


# --- OEE: each factor with its inputs --------------------------------------------------------


def oee_working(figures: Mapping[str, Any]) -> list[str]:
    """How the service came to each factor of one row, as lines a supervisor can check, e.g.
    'A = run time / planned time = 6 h 45 min / 7 h 30 min = 90.0 %'. The operators are the
    typographic minus and times signs (written as escapes here)."""
    shift, planned_down = figures.get("shift_seconds"), figures.get("planned_downtime_seconds")
    planned, unplanned = figures.get("planned_seconds"), figures.get("unplanned_downtime_seconds")
    run, ideal = figures.get("run_seconds"), figures.get("ideal_run_seconds")
    total, good = figures.get("total_count"), figures.get("good_count")
    a, p, q = figures.get("availability"), figures.get("performance"), figures.get("quality")
    lines: list[Text] = [
        _(
            "Planned time = shift time \u2212 planned downtime = {shift} \u2212 {down} = {planned}",
            shift=duration(shift),
            down=duration(planned_down),
            planned=duration(planned),
        ),
        _(
            "Run time = planned time \u2212 unplanned downtime = {planned} \u2212 {down} = {run}",
            planned=duration(planned),
            down=duration(unplanned),
            run=duration(run),
        ),
    ]
    if a is None:
        lines.append(_("A = run time / planned time: no planned time to divide by."))
    else:
        lines.append(
            _(
                "A = run time / planned time = {run} / {planned} = {a}",
                run=duration(run),
                planned=duration(planned),
                a=ratio_percent(a),
            )
        )
    missing = [str(sku) for sku in figures.get("missing_capacity_skus") or []]
    if p is not None:
        lines.append(
            _(
                "P = ideal run time / run time = {ideal} / {run} = {p}",
                ideal=duration(ideal),
                run=duration(run),
                p=ratio_percent(p),
            )
        )
    elif missing:
        lines.append(
            _(
                "P cannot be worked out: no capacity is set for {skus} on this line.",
                skus=", ".join(missing),
            )
        )
    else:
        lines.append(_("P = ideal run time / run time: no run time to divide by."))
    lines.append(
        _(
            "Good = total \u2212 bad \u2212 failed at QC = "
            "{total} \u2212 {bad} \u2212 {failed} = {good}",
            total=count(total),
            bad=count(figures.get("bad_count")),
            failed=count(figures.get("qc_failed_count")),
            good=count(good),
        )
    )
    if q is None:
        lines.append(_("Q = good / total: nothing was made."))
    else:
        lines.append(
            _(
                "Q = good / total = {good} / {total} = {q}",
                good=count(good),
                total=count(total),
                q=ratio_percent(q),
            )
        )
    if figures.get("oee") is None:
        lines.append(_("OEE needs all three factors."))
    else:
        lines.append(
            _(
                "OEE = A \u00d7 P \u00d7 Q = {a} \u00d7 {p} \u00d7 {q} = {oee}",
                a=ratio_percent(a),
                p=ratio_percent(p),
                q=ratio_percent(q),
                oee=ratio_percent(figures.get("oee")),
            )
        )
    return [line.render() for line in lines]


def oee_group_label(row: Mapping[str, Any], group_by: str) -> str:
    """What a row of the OEE report is: a line, a shift, a day, or a line in a shift worked."""
    day = format_date(date.fromisoformat(row["day"])) if row.get("day") else ""
    if group_by == "day":
        return day
    if group_by == "shift":
        return str(row.get("shift_code") or "")
    if group_by == "occurrence":
        return " · ".join(
            part for part in (row.get("line_code"), row.get("shift_code"), day) if part
        )
    return str(row.get("line_code") or "")


def oee_chart(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    """A bar group per row (A, P, Q, OEE in percent), as the OEE chart draws it."""
    keys = ("availability", "performance", "quality", "oee")
    return json.dumps(
        {
            "groups": [row["label"] for row in rows],
            "series": [
                {
                    "key": key,
                    "name": labels[key],
                    "data": [as_percent_number(row.get(key)) for row in rows],
                }
                for key in keys
            ],
        }
    )


# --- downtime: the Pareto and the trend -------------------------------------------------------


def pareto_chart(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    """Bars of each reason's minutes in its own colour, largest first, and the cumulative
    percentage as a line on the second axis."""
    return json.dumps(
        {
            "reasons": [str(row.get("name") or row.get("reason_code") or "") for row in rows],
            "minutes": [
                {"value": as_number(row.get("minutes")), "color": colour(row.get("colour"))}
                for row in rows
            ],
            "cumulative": [as_number(row.get("cumulative_percent")) for row in rows],
            "labels": labels,
        }
    )


def trend_label(row: Mapping[str, Any], bucket: str) -> str:
    if bucket == "week":
        return _("Week of {day}", day=short_day(row["first_day"])).render()
    return short_day(row["first_day"])


def trend_chart(rows: Sequence[Mapping[str, Any]], bucket: str, labels: Mapping[str, str]) -> str:
    """Planned and unplanned minutes per day or week, stacked."""
    return json.dumps(
        {
            "buckets": [trend_label(row, bucket) for row in rows],
            "planned": [as_minutes(row.get("planned_seconds")) for row in rows],
            "unplanned": [as_minutes(row.get("unplanned_seconds")) for row in rows],
            "labels": labels,
        }
    )
