"""Request and response bodies of the plant's API: facilities, lines, shifts, line capacity,
day locks and the shift of a moment.

A field given as null in an update means "none" only where none is a value the thing can have
(a line's tooling type, a facility's day-lock hour); elsewhere null is refused, and a field left
out keeps its value.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from services.downtime.plant.domain import parse_days, zone
from shared.i18n import _
from shared.values import Amount4


def _upper(value: str) -> str:
    return value.upper()


def _blank_is_none(value: object) -> object:
    """An emptied optional text field means none."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _known_zone(name: str) -> str:
    try:
        zone(name)
    except ValueError:
        raise ValueError(
            _(
                "Unknown time zone {name}; give an IANA name such as America/Mexico_City.",
                name=name,
            )
        ) from None
    return name


_WALL_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:00)?$")


def _wall_clock(value: object) -> object:
    """'06:00' (or '6:00', '06:00:00') -> 06:00; anything else is refused with the format."""
    if isinstance(value, time) and value.tzinfo is None and not value.second:
        return value.replace(microsecond=0)
    matched = _WALL_CLOCK.match(value.strip()) if isinstance(value, str) else None
    if matched is None:
        raise ValueError(_("Give the plant's wall-clock time as HH:MM, e.g. 06:00 or 22:30."))
    return time(int(matched.group(1)), int(matched.group(2)))


def _days_as_digits(value: object) -> object:
    """[1, 2, 3] -> '123' (a list of ISO weekdays is accepted as well as the digits)."""
    if isinstance(value, list):
        if not all(isinstance(day, int) and not isinstance(day, bool) for day in value):
            raise ValueError(_("Days of the week are the numbers 1 (Monday) to 7 (Sunday)."))
        if not all(1 <= day <= 7 for day in value):
            raise ValueError(_("Days of the week are the numbers 1 (Monday) to 7 (Sunday)."))
        return "".join(str(day) for day in value)
    return value


def _checked_days(value: str) -> str:
    try:
        return parse_days(value)
    except ValueError:
        raise ValueError(
            _("Days of the week are the digits 1 (Monday) to 7 (Sunday), e.g. 12345.")
        ) from None


Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"
    ),
    AfterValidator(_upper),
]
"""A facility, line or shift code as typed (letters, digits, '-' and '_'); kept in capitals."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
TimeZone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_known_zone),
]
DayLockHour = Annotated[int, Field(ge=0, le=23)]
Capability = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Tooling = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
OptionalCapability = Annotated[Capability | None, BeforeValidator(_blank_is_none)]
OptionalTooling = Annotated[Tooling | None, BeforeValidator(_blank_is_none)]
AllergenStatus = Literal["allergen_free", "handles_allergens"]
SpeedModifier = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
UnitsPerShift = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
Target = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
    ),
]
OptionalTarget = Annotated[Target | None, BeforeValidator(_blank_is_none)]
WallClock = Annotated[
    time,
    BeforeValidator(_wall_clock),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": _WALL_CLOCK.pattern, "examples": ["06:00"]},
        mode="validation",
    ),
]
"""A plant-local wall-clock time, HH:MM."""
DaysOfWeek = Annotated[
    str,
    BeforeValidator(_days_as_digits),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=7),
    AfterValidator(_checked_days),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": "^[1-7]{1,7}$", "examples": ["12345"]},
                {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}},
            ],
            "description": "ISO weekdays the shift starts on: digits ('12345') or numbers",
        },
        mode="validation",
    ),
]


class PartialUpdate(BaseModel):
    """A partial update: null is refused except for the fields in `NULLABLE`."""

    model_config = ConfigDict(extra="forbid")
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError(_("Give a value, or leave the field out to keep it."))
        return value


# --- facilities --------------------------------------------------------------------------------


class FacilityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    timezone: TimeZone = Field(description="IANA time zone, e.g. America/Mexico_City")
    day_lock_hour: DayLockHour | None = Field(
        default=None,
        description="Plant-local hour of the next day at which a production day locks by "
        "itself; none: only a supervisor locks it",
    )


class FacilityUpdate(PartialUpdate):
    NULLABLE = frozenset({"day_lock_hour"})

    name: Name | None = None
    timezone: TimeZone | None = None
    day_lock_hour: DayLockHour | None = None


class FacilityOut(BaseModel):
    code: str
    name: str
    timezone: str
    day_lock_hour: int | None
    active: bool
    created_at: datetime
    updated_at: datetime


# --- lines -------------------------------------------------------------------------------------


class LineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    facility_code: Code
    name: Name
    line_type: OptionalCapability = None
    tooling_type: OptionalTooling = None
    allergen_status: AllergenStatus = "handles_allergens"
    speed_modifier: SpeedModifier = Field(
        default=Decimal(1), description="Speed against the standard line, 1 = standard"
    )


class LineUpdate(PartialUpdate):
    NULLABLE = frozenset({"line_type", "tooling_type"})

    facility_code: Code | None = None
    name: Name | None = None
    line_type: OptionalCapability = None
    tooling_type: OptionalTooling = None
    allergen_status: AllergenStatus | None = None
    speed_modifier: SpeedModifier | None = None


class LineOut(BaseModel):
    code: str
    facility_code: str
    name: str
    line_type: str | None
    tooling_type: str | None
    allergen_status: AllergenStatus
    speed_modifier: Amount4
    active: bool
    created_at: datetime
    updated_at: datetime


# --- shifts ------------------------------------------------------------------------------------


class ShiftCreate(BaseModel):
    """A shift in plant-local time; `end_time` at or before `start_time` ends the next day."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    start_time: WallClock
    end_time: WallClock
    days_of_week: DaysOfWeek


class ShiftUpdate(PartialUpdate):
    name: Name | None = None
    start_time: WallClock | None = None
    end_time: WallClock | None = None
    days_of_week: DaysOfWeek | None = None


class ShiftOut(BaseModel):
    facility_code: str
    code: str
    name: str
    start_time: WallClock
    end_time: WallClock
    days_of_week: str
    crosses_midnight: bool
    active: bool
    created_at: datetime
    updated_at: datetime


class ShiftAtOut(BaseModel):
    """Where a moment falls at a facility: its shift (none outside every shift), the shift
    occurrence's start and end, and the production day."""

    facility_code: str
    timezone: str
    at: datetime
    shift_code: str | None
    production_day: date
    starts_at: datetime | None
    ends_at: datetime | None


# --- capacity ----------------------------------------------------------------------------------


class CapacityCreate(BaseModel):
    """Units per shift for one item (`sku`), one product family (`family`) or, with neither,
    any product, from `effective_from` on."""

    model_config = ConfigDict(extra="forbid")

    sku: OptionalTarget = None
    family: OptionalTarget = None
    units_per_shift: UnitsPerShift
    effective_from: date

    @field_validator("family")
    @classmethod
    def _one_target(cls, family: str | None, info: ValidationInfo) -> str | None:
        if family is not None and info.data.get("sku") is not None:
            raise ValueError(
                _("A capacity is for an item or for a product family, not both; leave one out.")
            )
        return family


class CapacityUpdate(PartialUpdate):
    units_per_shift: UnitsPerShift | None = None
    effective_from: date | None = None


class CapacityOut(BaseModel):
    id: int
    line_code: str
    sku: str | None
    family: str | None
    units_per_shift: Amount4
    effective_from: date
    active: bool
    created_at: datetime
    updated_at: datetime


# --- day locks ---------------------------------------------------------------------------------


class DayLockCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date = Field(description="The production day to lock (plant-local)")


class DayLockOut(BaseModel):
    """A locked production day: by a supervisor (`manual`, with who and when) or by the
    facility's `day_lock_hour` (`automatic`: `locked_at` is when the clock locked it)."""

    facility_code: str
    day: date
    kind: Literal["manual", "automatic"]
    locked_by: str | None
    locked_at: datetime


class DayLocksOut(BaseModel):
    facility_code: str
    timezone: str
    day_lock_hour: int | None
    date_from: date
    date_to: date
    locks: list[DayLockOut]


class DayUnlockOut(BaseModel):
    """A day after its supervisor's lock is lifted: still `automatic`ally locked, or open."""

    facility_code: str
    day: date
    lock: Literal["automatic"] | None
