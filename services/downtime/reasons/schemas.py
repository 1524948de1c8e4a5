"""Request and response bodies of the downtime reasons API: the flat list (each reason with
its path and depth) and the nested tree the tablet shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from services.downtime.plant.schemas import Code, Name, PartialUpdate
from services.downtime.reasons.domain import parse_colour
from shared.i18n import _


def _checked_colour(value: str) -> str:
    try:
        return parse_colour(value)
    except ValueError:
        raise ValueError(_("Give the colour as # and six hex digits, e.g. #d9534f.")) from None


Colour = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_checked_colour),
    WithJsonSchema(
        {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "examples": ["#d9534f"]},
        mode="validation",
    ),
]
"""A colour as '#rrggbb'; kept in lower case."""

SortOrder = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]


class ReasonCreate(BaseModel):
    """A reason of a facility, under `parent_code` (a reason of the same facility) or at the
    root. `planned` left out: the parent's, or unplanned at the root."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    facility_code: Code
    parent_code: Code | None = None
    name: Name
    colour: Colour
    planned: bool | None = None
    sort_order: SortOrder = 0


class ReasonUpdate(PartialUpdate):
    """Change what is given; `parent_code: null` moves the reason to the root."""

    NULLABLE = frozenset({"parent_code"})

    parent_code: Code | None = None
    name: Name | None = None
    colour: Colour | None = None
    planned: bool | None = None
    sort_order: SortOrder | None = None


class ReasonOut(BaseModel):
    code: str
    facility_code: str
    parent_code: str | None
    name: str
    colour: str
    planned: bool
    active: bool
    sort_order: int
    path: str = Field(description="The names from the root down, e.g. 'Mechanical / Nozzle'")
    depth: int = Field(description="0 for a root reason")
    is_leaf: bool = Field(description="No active child reason")
    usable: bool = Field(
        description="May be chosen for a stop: active, every ancestor active, and a leaf"
    )
    in_use: bool = Field(description="Some downtime entry names it (it can only be deactivated)")
    created_at: datetime
    updated_at: datetime


class ReasonNodeOut(BaseModel):
    code: str
    name: str
    colour: str
    planned: bool
    active: bool
    children: list[ReasonNodeOut]
