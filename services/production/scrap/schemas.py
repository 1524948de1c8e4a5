"""Request and response bodies of the scrap reason codes API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from services.production.scrap.domain import ScrapCategory


def _upper(value: str) -> str:
    return value.upper()


ScrapCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"
    ),
    AfterValidator(_upper),
]
"""A scrap reason code as typed (letters, digits, '-' and '_'); kept in capitals."""


class ScrapCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: ScrapCode
    category: ScrapCategory
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    corrective_action: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
    ]


class ScrapCodeOut(BaseModel):
    code: str
    category: ScrapCategory
    description: str
    corrective_action: str
    active: bool
    created_at: datetime
    updated_at: datetime
