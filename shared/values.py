"""Decimal values as the API shows them: always four decimals, as strings, never floats.

`Decimal` serialises as `str(value)`, so the same stored quantity could read "5", "5.0000" or
"5.00" depending on where it came from. Response schemas use `Amount4` so every figure a client
sees has one form, the form the database keeps (NUMERIC(18, 4)).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import PlainSerializer

FOUR_PLACES = Decimal("0.0001")


def four_places(value: Decimal) -> str:
    return str(value.quantize(FOUR_PLACES, ROUND_HALF_UP))


Amount4 = Annotated[Decimal, PlainSerializer(four_places, return_type=str, when_used="json")]
