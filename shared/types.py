"""Column types for money and quantities: `Decimal` in Python, exact in every database.

PostgreSQL stores NUMERIC(18, 4). SQLite has no exact decimal (its NUMERIC becomes a double), so
there the same column is an integer count of ten-thousandths: sums in SQL stay exact and come
back as `Decimal`. A value with more than four decimals is refused, never silently rounded: the
domain rounds where the plant's rules say so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine

from shared.i18n import _

PRECISION = 18
SCALE = 4
_LIMIT = Decimal(10) ** (PRECISION - SCALE)
_FACTOR = Decimal(10) ** SCALE
_QUANTUM = Decimal(1).scaleb(-SCALE)


class DecimalType(TypeDecorator[Decimal]):
    impl = Numeric(PRECISION, SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(PRECISION, SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        exact = number.quantize(_QUANTUM)
        if exact != number:
            raise ValueError(
                _("{number} has more than {scale} decimals", number=number, scale=SCALE)
            )
        if abs(exact) >= _LIMIT:
            raise ValueError(
                _(
                    "{number} does not fit NUMERIC({precision}, {scale})",
                    number=number,
                    precision=PRECISION,
                    scale=SCALE,
                )
            )
        if dialect.name == "sqlite":
            return int(exact * _FACTOR)
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _FACTOR).quantize(_QUANTUM)
        return Decimal(value).quantize(_QUANTUM)


Amount = DecimalType


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database.

    SQLite keeps no time zone and hands back naive values, which cannot be compared with the
    aware `utc_now()`; this type stores UTC and always returns aware UTC datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"{value!r} is not an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
