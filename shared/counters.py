"""Gapless counters (document numbers, event sequences) taken inside the caller's transaction.

One upsert does it: `INSERT … ON CONFLICT DO UPDATE SET n = n + 1 RETURNING n`. The row stays
locked until the transaction ends, so concurrent takers queue instead of sharing a number, a
rollback gives the number back, and the very first number of a key needs no row beforehand
(a SELECT … FOR UPDATE locks nothing while the row does not exist, so two "first" takers
would both insert and one would fail).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import FromClause
from sqlalchemy.orm import Session

from shared.db import dialect_insert


def take_next(session: Session, table: FromClause, counter: str, **key: Any) -> int:
    """Increment the counter row identified by `key` (created at 1) and return its new value."""
    column = table.c[counter]
    stmt = (
        dialect_insert(session, table)
        .values(**key, **{counter: 1})
        .on_conflict_do_update(
            index_elements=[table.c[name] for name in key],
            set_={counter: column + 1},
        )
        .returning(column)
    )
    return int(session.execute(stmt).scalar_one())
