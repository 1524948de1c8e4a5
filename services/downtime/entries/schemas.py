"""Request and response bodies of the downtime entries API and the tablet's floor view."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints


def _upper(value: str) -> str:
    return value.upper()


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


CodeIn = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"
    ),
    AfterValidator(_upper),
]
OrderCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
EditReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Moment = Annotated[AwareDatetime, AfterValidator(_to_utc)]
Source = Literal["tablet", "manual", "machine"]


class DowntimeStart(BaseModel):
    """ "Line down now": a running stop, ended later by "back up"."""

    model_config = ConfigDict(extra="forbid")

    reason_code: CodeIn | None = None
    notes: Notes | None = None
    order_code: OrderCode | None = None
    started_at: Moment | None = None
    edit_reason: EditReason | None = None


class DowntimeEnd(BaseModel):
    """ "Back up": ends a running stop, and may classify it on the way."""

    model_config = ConfigDict(extra="forbid")

    ended_at: Moment | None = None
    reason_code: CodeIn | None = None
    notes: Notes | None = None
    edit_reason: EditReason | None = None


class DowntimeCreate(BaseModel):
    """A stop recorded after the fact, with its start and end."""

    model_config = ConfigDict(extra="forbid")

    line_code: CodeIn
    reason_code: CodeIn
    started_at: Moment
    ended_at: Moment
    notes: Notes | None = None
    order_code: OrderCode | None = None
    edit_reason: EditReason | None = None


class DowntimeUpdate(BaseModel):
    """A classification or a correction of one entry; `version` is the one the editor read."""

    model_config = ConfigDict(extra="forbid")

    version: int
    reason_code: CodeIn | None = None
    started_at: Moment | None = None
    ended_at: Moment | None = None
    notes: Notes | None = None
    order_code: OrderCode | None = None
    edit_reason: EditReason | None = None


class DowntimeOut(BaseModel):
    id: int
    line_code: str
    facility_code: str
    reason_code: str | None
    reason_name: str | None
    reason_colour: str | None
    reason_path: str | None
    planned: bool
    started_at: datetime
    ended_at: datetime | None
    running: bool
    duration_seconds: Decimal | None
    production_day: date
    shift_code: str | None
    order_code: str | None
    notes: str | None
    source: Source
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class OrderRunning(BaseModel):
    order_code: str
    sku: str
    status: str
    qty_to_make: Decimal


class FloorView(BaseModel):
    """What the tablet of one line shows: the line, where the clock is in the plant's day,
    the running stop if any, the order on the line, and the production day's entries."""

    line_code: str
    line_name: str
    facility_code: str
    timezone: str
    now: datetime
    shift_code: str | None
    production_day: date
    day_locked: bool
    running: DowntimeOut | None
    order: OrderRunning | None
    entries: list[DowntimeOut]
    unclassified: int
