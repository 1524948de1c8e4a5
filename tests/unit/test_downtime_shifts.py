"""Shift detection in plant-local time (services/downtime/plant/domain.py), worked out by hand
for two plants: one in New York, one in Madrid, each running A 06:00-14:00, B 14:00-22:00 and
C 22:00-06:00 from Monday to Saturday.

The 2026 clock changes used below:
- America/New_York: Sunday 8 March 02:00 EST -> 03:00 EDT (07:00 UTC); Sunday 1 November
  02:00 EDT -> 01:00 EST (06:00 UTC). EST is UTC-5, EDT UTC-4.
- Europe/Madrid: Sunday 29 March 02:00 CET -> 03:00 CEST (01:00 UTC); Sunday 25 October
  03:00 CEST -> 02:00 CET (01:00 UTC). CET is UTC+1, CEST UTC+2.
So Saturday night's C shift lasts 7 hours over the spring change and 9 over the autumn one.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.downtime.plant.domain import (
    OutsideCalendar,
    ShiftPattern,
    in_calendar,
    local_to_utc,
    occurrence,
    occurrences_between,
    overlapping_shift,
    parse_days,
    production_day,
    shift_at,
    zone,
)

NEW_YORK = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")
MON_SAT = "123456"
A = ShiftPattern("A", time(6), time(14), MON_SAT)
B = ShiftPattern("B", time(14), time(22), MON_SAT)
C = ShiftPattern("C", time(22), time(6), MON_SAT)
SHIFTS = [A, B, C]


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def shift_and_day(moment: datetime, tz: ZoneInfo) -> tuple[str | None, date]:
    worked = shift_at(SHIFTS, moment, tz)
    return (worked.code if worked else None, production_day(SHIFTS, moment, tz))


# --- across midnight on an ordinary night ----------------------------------------------------


def test_a_night_shifts_early_hours_belong_to_the_day_it_started_in_new_york() -> None:
    # Tuesday 16 June 2026, EDT (UTC-4): C runs Tue 22:00 (02:00 UTC Wed) to Wed 06:00 (10:00).
    tuesday = date(2026, 6, 16)
    assert shift_and_day(utc(2026, 6, 17, 1, 59), NEW_YORK) == ("B", tuesday)  # Tue 21:59
    assert shift_and_day(utc(2026, 6, 17, 2, 0), NEW_YORK) == ("C", tuesday)  # Tue 22:00
    assert shift_and_day(utc(2026, 6, 17, 4, 0), NEW_YORK) == ("C", tuesday)  # Wed 00:00
    assert shift_and_day(utc(2026, 6, 17, 9, 59, 59), NEW_YORK) == ("C", tuesday)
    assert shift_and_day(utc(2026, 6, 17, 10, 0), NEW_YORK) == ("A", date(2026, 6, 17))
    night = shift_at(SHIFTS, utc(2026, 6, 17, 5, 0), NEW_YORK)
    assert night is not None
    assert (night.starts_at, night.ends_at) == (utc(2026, 6, 17, 2), utc(2026, 6, 17, 10))
    assert night.duration == timedelta(hours=8)


def test_a_night_shifts_early_hours_belong_to_the_day_it_started_in_madrid() -> None:
    # Tuesday 16 June 2026, CEST (UTC+2): C runs Tue 22:00 (20:00 UTC) to Wed 06:00 (04:00 UTC).
    tuesday = date(2026, 6, 16)
    assert shift_and_day(utc(2026, 6, 16, 19, 59), MADRID) == ("B", tuesday)
    assert shift_and_day(utc(2026, 6, 16, 20, 0), MADRID) == ("C", tuesday)
    assert shift_and_day(utc(2026, 6, 16, 23, 30), MADRID) == ("C", tuesday)  # Wed 01:30 local
    assert shift_and_day(utc(2026, 6, 17, 3, 59), MADRID) == ("C", tuesday)
    assert shift_and_day(utc(2026, 6, 17, 4, 0), MADRID) == ("A", date(2026, 6, 17))


def test_sunday_has_no_shift_so_its_hours_are_their_own_local_day() -> None:
    # Saturday 20 June's C ends Sunday 06:00 EDT (10:00 UTC); Sunday has no shift at all, and
    # no C starts Sunday night, so Monday 01:00 is outside every shift too.
    assert shift_and_day(utc(2026, 6, 21, 9, 0), NEW_YORK) == ("C", date(2026, 6, 20))
    assert shift_and_day(utc(2026, 6, 21, 10, 0), NEW_YORK) == (None, date(2026, 6, 21))
    assert shift_and_day(utc(2026, 6, 22, 3, 30), NEW_YORK) == (None, date(2026, 6, 21))
    assert shift_and_day(utc(2026, 6, 22, 5, 0), NEW_YORK) == (None, date(2026, 6, 22))
    assert shift_and_day(utc(2026, 6, 22, 10, 0), NEW_YORK) == ("A", date(2026, 6, 22))


# --- the spring change --------------------------------------------------------------------------


def test_the_night_over_the_spring_change_lasts_seven_hours_in_new_york() -> None:
    saturday = date(2026, 3, 7)
    night = occurrence(C, saturday, NEW_YORK)
    # Sat 22:00 EST = Sun 03:00 UTC; Sun 06:00 EDT = 10:00 UTC.
    assert (night.starts_at, night.ends_at) == (utc(2026, 3, 8, 3), utc(2026, 3, 8, 10))
    assert night.duration == timedelta(hours=7)
    assert shift_and_day(utc(2026, 3, 8, 6, 59), NEW_YORK) == ("C", saturday)  # 01:59 EST
    assert shift_and_day(utc(2026, 3, 8, 7, 0), NEW_YORK) == ("C", saturday)  # 03:00 EDT
    assert shift_and_day(utc(2026, 3, 8, 9, 59), NEW_YORK) == ("C", saturday)  # 05:59 EDT
    assert shift_and_day(utc(2026, 3, 8, 10, 0), NEW_YORK) == (None, date(2026, 3, 8))
    # Monday 9 March, now on EDT: A starts 06:00 EDT = 10:00 UTC; the Monday before, on EST,
    # 10:30 UTC was 05:30, before A (11:00 UTC), and no C ran Sunday night.
    assert shift_and_day(utc(2026, 3, 9, 10, 0), NEW_YORK) == ("A", date(2026, 3, 9))
    assert shift_and_day(utc(2026, 3, 2, 10, 30), NEW_YORK) == (None, date(2026, 3, 2))
    assert shift_and_day(utc(2026, 3, 2, 11, 0), NEW_YORK) == ("A", date(2026, 3, 2))


def test_the_night_over_the_spring_change_lasts_seven_hours_in_madrid() -> None:
    saturday = date(2026, 3, 28)
    night = occurrence(C, saturday, MADRID)
    # Sat 22:00 CET = 21:00 UTC; Sun 06:00 CEST = 04:00 UTC.
    assert (night.starts_at, night.ends_at) == (utc(2026, 3, 28, 21), utc(2026, 3, 29, 4))
    assert night.duration == timedelta(hours=7)
    assert shift_and_day(utc(2026, 3, 29, 0, 59), MADRID) == ("C", saturday)  # 01:59 CET
    assert shift_and_day(utc(2026, 3, 29, 1, 0), MADRID) == ("C", saturday)  # 03:00 CEST
    assert shift_and_day(utc(2026, 3, 29, 3, 59), MADRID) == ("C", saturday)
    assert shift_and_day(utc(2026, 3, 29, 4, 0), MADRID) == (None, date(2026, 3, 29))


def test_a_wall_time_the_spring_change_skips_is_the_moment_the_gap_ends() -> None:
    # 02:30 does not exist on those Sundays: the clocks read 03:00 at the instant it would be.
    assert local_to_utc(date(2026, 3, 8), time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7)
    assert local_to_utc(date(2026, 3, 29), time(2, 30), MADRID) == utc(2026, 3, 29, 1)
    assert local_to_utc(date(2026, 3, 8), time(2, 0), NEW_YORK) == utc(2026, 3, 8, 7)
    # Either side of the gap, times map as usual.
    assert local_to_utc(date(2026, 3, 8), time(1, 59), NEW_YORK) == utc(2026, 3, 8, 6, 59)
    assert local_to_utc(date(2026, 3, 8), time(3, 0), NEW_YORK) == utc(2026, 3, 8, 7)
    # A Sunday shift starting 02:30 on the change day starts at 03:00 local.
    sunday = ShiftPattern("S", time(2, 30), time(10), "7")
    worked = occurrence(sunday, date(2026, 3, 8), NEW_YORK)
    assert (worked.starts_at, worked.ends_at) == (utc(2026, 3, 8, 7), utc(2026, 3, 8, 14))


# --- the autumn change --------------------------------------------------------------------------


def test_the_night_over_the_autumn_change_lasts_nine_hours_in_new_york() -> None:
    saturday = date(2026, 10, 31)
    night = occurrence(C, saturday, NEW_YORK)
    # Sat 22:00 EDT = Sun 02:00 UTC; Sun 06:00 EST = 11:00 UTC.
    assert (night.starts_at, night.ends_at) == (utc(2026, 11, 1, 2), utc(2026, 11, 1, 11))
    assert night.duration == timedelta(hours=9)
    # 01:30 happens twice: 05:30 UTC (EDT) and 06:30 UTC (EST); both are Saturday's C.
    assert shift_and_day(utc(2026, 11, 1, 5, 30), NEW_YORK) == ("C", saturday)
    assert shift_and_day(utc(2026, 11, 1, 6, 30), NEW_YORK) == ("C", saturday)
    assert shift_and_day(utc(2026, 11, 1, 10, 59), NEW_YORK) == ("C", saturday)  # 05:59 EST
    assert shift_and_day(utc(2026, 11, 1, 11, 0), NEW_YORK) == (None, date(2026, 11, 1))
    # Monday 2 November on EST: A starts 06:00 EST = 11:00 UTC.
    assert shift_and_day(utc(2026, 11, 2, 10, 59), NEW_YORK) == (None, date(2026, 11, 2))
    assert shift_and_day(utc(2026, 11, 2, 11, 0), NEW_YORK) == ("A", date(2026, 11, 2))


def test_the_night_over_the_autumn_change_lasts_nine_hours_in_madrid() -> None:
    saturday = date(2026, 10, 24)
    night = occurrence(C, saturday, MADRID)
    # Sat 22:00 CEST = 20:00 UTC; Sun 06:00 CET = 05:00 UTC.
    assert (night.starts_at, night.ends_at) == (utc(2026, 10, 24, 20), utc(2026, 10, 25, 5))
    assert night.duration == timedelta(hours=9)
    # 02:30 happens twice: 00:30 UTC (CEST) and 01:30 UTC (CET).
    assert shift_and_day(utc(2026, 10, 25, 0, 30), MADRID) == ("C", saturday)
    assert shift_and_day(utc(2026, 10, 25, 1, 30), MADRID) == ("C", saturday)
    assert shift_and_day(utc(2026, 10, 25, 4, 59), MADRID) == ("C", saturday)
    assert shift_and_day(utc(2026, 10, 25, 5, 0), MADRID) == (None, date(2026, 10, 25))


def test_a_wall_time_the_autumn_change_repeats_is_its_first_pass() -> None:
    assert local_to_utc(date(2026, 11, 1), time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)
    assert local_to_utc(date(2026, 10, 25), time(2, 30), MADRID) == utc(2026, 10, 25, 0, 30)


def test_the_shifts_of_the_days_around_a_change_follow_one_another_without_gap() -> None:
    # New York, Friday 6 to Monday 9 March: every shift ends where the next one starts, except
    # across Sunday (no shifts), and Saturday night's is the short one.
    worked = list(occurrences_between(SHIFTS, date(2026, 3, 6), date(2026, 3, 9), NEW_YORK))
    assert [(o.code, o.day.day) for o in worked] == [
        ("A", 6),
        ("B", 6),
        ("C", 6),
        ("A", 7),
        ("B", 7),
        ("C", 7),
        ("A", 9),
        ("B", 9),
        ("C", 9),
    ]
    for earlier, later in itertools.pairwise(worked[:6]):
        assert earlier.ends_at == later.starts_at
    assert [o.duration.seconds // 3600 for o in worked] == [8, 8, 8, 8, 8, 7, 8, 8, 8]


# --- overlapping shifts and days of the week ----------------------------------------------------


def test_shifts_meeting_end_to_start_do_not_overlap() -> None:
    assert overlapping_shift(A, SHIFTS) is None
    assert overlapping_shift(B, SHIFTS) is None
    assert overlapping_shift(C, SHIFTS) is None


def test_a_shift_overlapping_another_on_some_weekday_is_named() -> None:
    # Sunday 05:00-07:00 meets Saturday night's C (it runs to Sunday 06:00).
    assert overlapping_shift(ShiftPattern("D", time(5), time(7), "7"), SHIFTS) == "C"
    # Monday 05:00-07:00: no C ran Sunday night, but A starts at 06:00.
    assert overlapping_shift(ShiftPattern("D", time(5), time(7), "1"), SHIFTS) == "A"
    # Monday 00:00-05:00 is free; Tuesday 00:00-05:00 is Monday night's C.
    assert overlapping_shift(ShiftPattern("E", time(0), time(5), "1"), SHIFTS) is None
    assert overlapping_shift(ShiftPattern("E", time(0), time(5), "2"), SHIFTS) == "C"
    # Sunday 23:00-01:00 runs into Monday: it meets a Monday shift at 00:30 across the week's end.
    early = ShiftPattern("M", time(0, 30), time(2), "1")
    assert overlapping_shift(ShiftPattern("N", time(23), time(1), "7"), [early]) == "M"
    assert overlapping_shift(ShiftPattern("N", time(23), time(0, 30), "7"), [early]) is None


def test_days_of_week_are_iso_digits_sorted_once_each() -> None:
    assert parse_days("531") == "135"
    assert parse_days("1123") == "123"
    for bad in ("", "8", "0", "1,2", "Mon"):
        with pytest.raises(ValueError):
            parse_days(bad)


def test_time_zones_are_iana_names() -> None:
    assert zone("Europe/Madrid") == MADRID
    for bad in ("Mars/Olympus", "America", "localtime", "", "x" * 300):
        with pytest.raises(ValueError):
            zone(bad)


# --- the ends of the plant's calendar ---------------------------------------------------------


def test_the_calendar_runs_from_2000_to_2999_and_nothing_outside_it_overflows() -> None:
    assert in_calendar(date(2000, 1, 1)) and in_calendar(date(2999, 12, 31))
    assert not in_calendar(date(1999, 12, 31)) and not in_calendar(date(3000, 1, 1))
    assert not in_calendar(date.min) and not in_calendar(date.max)
    assert in_calendar(utc(2000, 1, 1, 0)) and in_calendar(utc(2999, 12, 31, 23, 59, 59))
    assert not in_calendar(utc(1999, 12, 31, 23, 59, 59)) and not in_calendar(utc(3000, 1, 1, 0))
    one_ahead = timezone(timedelta(hours=1))
    far = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=one_ahead),  # before year 1 in UTC
        datetime(9999, 12, 31, 23, tzinfo=UTC),  # after year 9999 in Madrid
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
        utc(1999, 12, 31, 23, 59, 59),
        utc(3000, 1, 1, 0),
    ]
    for moment in far:
        assert not in_calendar(moment)
        for tz in (NEW_YORK, MADRID):
            with pytest.raises(OutsideCalendar):
                shift_at(SHIFTS, moment, tz)
            with pytest.raises(OutsideCalendar):
                production_day(SHIFTS, moment, tz)
    for day in (date.min, date(1999, 12, 31), date(3000, 1, 1), date.max):
        with pytest.raises(OutsideCalendar):
            occurrence(C, day, MADRID)
    for day in (date.min, date(1999, 12, 31), date(3000, 1, 2), date.max):
        with pytest.raises(OutsideCalendar):
            local_to_utc(day, time(6), NEW_YORK)
    # The day after the last one still has a clock: the last night shift ends on it.
    assert local_to_utc(date(3000, 1, 1), time(6), NEW_YORK) == utc(3000, 1, 1, 11)
    assert issubclass(OutsideCalendar, ValueError)


def test_no_shift_is_worked_outside_the_calendar() -> None:
    # Friday 31 December 1999 is outside: its evening has no shift and is its own local day;
    # Saturday 1 January 2000 (EST, UTC-5) is the first day with shifts.
    assert shift_and_day(utc(2000, 1, 1, 2), NEW_YORK) == (None, date(1999, 12, 31))
    assert shift_and_day(utc(2000, 1, 1, 12), NEW_YORK) == ("A", date(2000, 1, 1))
    # Madrid (CET, UTC+1): 01:00 on the 1st would be Friday's C shift, which was not worked.
    assert shift_and_day(utc(2000, 1, 1, 0), MADRID) == (None, date(2000, 1, 1))
    # Tuesday 31 December 2999: its C shift in Madrid runs 21:00 UTC to 05:00 UTC in 3000.
    last_night = shift_at(SHIFTS, utc(2999, 12, 31, 23, 59, 59), MADRID)
    assert last_night is not None
    assert (last_night.code, last_night.day, last_night.ends_at) == (
        "C",
        date(2999, 12, 31),
        utc(3000, 1, 1, 5),
    )
    # A range of days reaching over an end has the shifts of its days inside the calendar only.
    assert list(occurrences_between(SHIFTS, date(9999, 12, 30), date.max, NEW_YORK)) == []
    assert list(occurrences_between(SHIFTS, date.min, date(1999, 12, 31), NEW_YORK)) == []
    worked = list(occurrences_between(SHIFTS, date(1999, 12, 30), date(2000, 1, 1), NEW_YORK))
    assert [(o.code, o.day, o.starts_at) for o in worked] == [
        ("A", date(2000, 1, 1), utc(2000, 1, 1, 11)),
        ("B", date(2000, 1, 1), utc(2000, 1, 1, 19)),
        ("C", date(2000, 1, 1), utc(2000, 1, 2, 3)),
    ]
    last = list(occurrences_between(SHIFTS, date(2999, 12, 31), date(3000, 1, 3), MADRID))
    assert [(o.code, o.day) for o in last] == [
        ("A", date(2999, 12, 31)),
        ("B", date(2999, 12, 31)),
        ("C", date(2999, 12, 31)),
    ]
