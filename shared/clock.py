"""The plant's calendar: business dates are the plant's local days, not UTC days.

Timestamps are stored in UTC (DESIGN §5), but a document's date (a PO's order date, the day a
receipt is booked, a journal's entry date, "today" on a report) is the day on the plant's wall
calendar, so a receipt at 19:00 on 31 December in Chicago belongs to that year's books.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.events.envelope import utc_now
from shared.settings import Settings


def plant_zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.plant_timezone)


def plant_date(moment: datetime, settings: Settings) -> date:
    """The plant-local day of an aware moment."""
    return moment.astimezone(plant_zone(settings)).date()


def plant_today(settings: Settings) -> date:
    return plant_date(utc_now(), settings)
