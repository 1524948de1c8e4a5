"""Money and quantities in the database: exact on SQLite, refused rather than rounded."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Numeric, Table, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from shared.db import create_db_engine
from shared.types import DecimalType

D = Decimal

metadata = MetaData()
ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", DecimalType()),
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def post(engine: Engine, *amounts: Decimal | None) -> None:
    with engine.begin() as conn:
        conn.execute(insert(ledger), [{"amount": amount} for amount in amounts])


def amounts(engine: Engine) -> list[Decimal | None]:
    with engine.connect() as conn:
        return list(conn.scalars(select(ledger.c.amount).order_by(ledger.c.id)))


def test_tenths_add_up_exactly_in_sql(engine: Engine) -> None:
    post(engine, D("0.1"), D("0.2"))

    with engine.connect() as conn:
        total = conn.scalar(select(func.sum(ledger.c.amount)))

    assert isinstance(total, Decimal)
    assert total == D("0.3")
    assert str(total) == "0.3000"
    assert float(D("0.1")) + float(D("0.2")) != 0.3  # what a REAL column would have given


def test_ten_receipts_of_a_tenth_make_one(engine: Engine) -> None:
    post(engine, *[D("0.1")] * 10)

    with engine.connect() as conn:
        assert conn.scalar(select(func.sum(ledger.c.amount))) == D("1.0000")


@pytest.mark.parametrize(
    "amount",
    [
        D("0"),
        D("0.0001"),
        D("-0.0001"),
        D("2.95"),
        D("-3.1415"),
        D("123456.789"),
        D("99999999999999.9999"),
        D("-99999999999999.9999"),
    ],
)
def test_values_come_back_exactly_as_decimals_to_four_places(
    engine: Engine, amount: Decimal
) -> None:
    post(engine, amount)

    (stored,) = amounts(engine)

    assert isinstance(stored, Decimal)
    assert stored == amount
    assert stored.as_tuple().exponent == -4


def test_sqlite_keeps_an_integer_count_of_ten_thousandths(engine: Engine) -> None:
    post(engine, D("0.1"), D("99999999999999.9999"))

    with engine.connect() as conn:
        raw = conn.execute(text("SELECT amount, typeof(amount) FROM ledger ORDER BY id")).all()

    assert [tuple(row) for row in raw] == [
        (1000, "integer"),
        (999999999999999999, "integer"),
    ]


def test_large_values_sum_exactly(engine: Engine) -> None:
    post(engine, D("49999999999999.9999"), D("50000000000000.0000"))

    with engine.connect() as conn:
        total = conn.scalar(select(func.sum(ledger.c.amount)))

    assert total == D("99999999999999.9999")


def test_a_fifth_decimal_is_refused_not_rounded(engine: Engine) -> None:
    with pytest.raises(StatementError, match="more than 4 decimals") as refused:
        post(engine, D("2.50001"))

    assert isinstance(refused.value.orig, ValueError)
    assert amounts(engine) == []


def test_trailing_zeros_past_four_places_are_not_a_fifth_decimal(engine: Engine) -> None:
    post(engine, D("1.500000"))

    assert amounts(engine) == [D("1.5000")]


def test_an_empty_amount_stays_empty(engine: Engine) -> None:
    post(engine, None)

    assert amounts(engine) == [None]


def test_postgresql_gets_numeric_18_4_and_decimals_to_four_places() -> None:
    column_type = DecimalType()
    dialect = postgresql.dialect()

    impl = column_type.load_dialect_impl(dialect)
    bound = column_type.process_bind_param(D("2.95"), dialect)

    assert isinstance(impl, Numeric)
    assert (impl.precision, impl.scale) == (18, 4)
    assert bound == D("2.95")
    assert str(bound) == "2.9500"
    assert column_type.process_result_value(D("2.95"), dialect) == D("2.9500")
    with pytest.raises(ValueError, match="more than 4 decimals"):
        column_type.process_bind_param(D("0.00001"), dialect)


def test_sqlite_binds_the_scaled_integer() -> None:
    column_type = DecimalType()

    assert column_type.process_bind_param(D("-3.1415"), sqlite.dialect()) == -31415
    assert column_type.process_result_value(-31415, sqlite.dialect()) == D("-3.1415")


def test_a_value_beyond_numeric_18_4_is_refused_on_sqlite_as_on_postgresql(
    engine: Engine,
) -> None:
    with pytest.raises(StatementError):
        post(engine, D("100000000000000"))
