"""The lists' search box (`contains_text`) on both databases: what a planner types is matched as
typed, ignoring case. `%` and `_` are ordinary characters in part numbers and names ("10% OFF",
"PLA_BLK"); as LIKE wildcards a search for "_" found every row, and "10%" every code with "10"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.web.pagination import contains_text
from tests.support import servers

CODES = ["PLA_BLK", "PLAXBLK", "10% OFF", "100 OFF", "Back\\slash", "back/slash", "Résine"]


class Base(DeclarativeBase):
    pass


class Part(Base):
    __tablename__ = "parts"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'parts.db'}"
    else:
        servers.require_postgres()
        databases = servers.PostgresDatabases()
        request.addfinalizer(databases.drop_all)
        url = databases.create("search")
    made = create_engine(url)
    Base.metadata.create_all(made)
    with Session(made) as session:
        session.add_all(Part(code=code, name=f"name of {code.lower()}") for code in CODES)
        session.commit()
    yield made
    made.dispose()


def found(engine: Engine, text: str, *columns: object) -> list[str]:
    with Session(engine) as session:
        query = select(Part.code).where(contains_text(text, *columns)).order_by(Part.code)
        return list(session.scalars(query))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("_", ["PLA_BLK"]),
        ("pla_", ["PLA_BLK"]),
        ("10%", ["10% OFF"]),
        ("%", ["10% OFF"]),
        ("\\", ["Back\\slash"]),
        ("/", ["back/slash"]),
        ("  off ", ["10% OFF", "100 OFF"]),
        ("BACK", ["Back\\slash", "back/slash"]),
        ("zzz", []),
    ],
)
def test_what_is_typed_is_found_as_typed_ignoring_case(
    engine: Engine, typed: str, expected: list[str]
) -> None:
    assert found(engine, typed, Part.code) == sorted(expected)


def test_any_of_the_columns_may_hold_the_text(engine: Engine) -> None:
    assert found(engine, "NAME OF 10%", Part.code, Part.name) == ["10% OFF"]
    assert found(engine, "10%", Part.name) == ["10% OFF"]
