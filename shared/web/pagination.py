"""Paged lists: every list endpoint takes limit/offset and answers with items and a total.

`page_params` bounds both numbers, so a request for an absurd page is a 422 naming the parameter
rather than a number the database driver cannot bind. `paginate` is the one way a use case
answers a page: the total of the filtered query and the requested slice of it, in its order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from shared.i18n import _
from shared.web.problems import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000


class PageParams(BaseModel):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


SORT_PATTERN = r"^-?[a-z][a-z0-9_]*$"


def sort_param(
    sort: Annotated[
        str | None,
        Query(
            pattern=SORT_PATTERN,
            max_length=64,
            description="Column to sort by; a leading '-' sorts descending, e.g. '-created_at'.",
        ),
    ] = None,
) -> str | None:
    return sort


def contains_text(text: str, *columns: Any) -> ColumnElement[bool]:
    """Rows where any of `columns` holds `text`, ignoring case. The text is matched as typed:
    `%` and `_` in it are not wildcards, so a search for "10%" finds "10%" only."""
    term = text.strip()
    return or_(*(column.icontains(term, autoescape=True) for column in columns))


def apply_sort(
    query: Select[*tuple[Any, ...]],
    sort: str | None,
    columns: Mapping[str, Any],
    *,
    default: str,
    tiebreak: Any,
) -> Select[*tuple[Any, ...]]:
    """Order `query` by the `sort` the caller asked for (one of `columns`), then by `tiebreak`.

    An unknown column is a 422 naming the parameter and the columns there are; the tie-breaker
    (a unique key) keeps pages from overlapping when many rows share a value.
    """
    chosen = sort or default
    descending = chosen.startswith("-")
    name = chosen.lstrip("-")
    if name not in columns:
        raise InvalidInput(
            _(
                "Cannot sort by {name}; choose one of: {choices}.",
                name=name,
                choices=", ".join(columns),
            ),
            field="query.sort",
            code="unknown_sort",
        )
    column = columns[name]
    return query.order_by(column.desc() if descending else column.asc(), tiebreak)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(
    session: Session,
    query: Select[*tuple[Any, ...]],
    page: PageParams,
    to_out: Callable[[Any], T],
) -> Page[T]:
    """Count `query`'s rows and return the page of them `page` asks for, each through `to_out`.

    `query` must carry its ORDER BY (with a unique last key) so that pages do not overlap.
    A query selecting one entity or column hands `to_out` that value; a query selecting
    several hands it the row, e.g. `lambda row: Out(txn=row[0], sku=row[1])`.
    """
    if not query._order_by_clauses:
        raise ValueError("paginate needs an ordered query, or pages would overlap")
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    sliced = query.limit(page.limit).offset(page.offset)
    rows = (
        session.scalars(sliced).all()
        if len(query.column_descriptions) == 1
        else session.execute(sliced).all()
    )
    return Page(
        items=[to_out(row) for row in rows],
        total=total or 0,
        limit=page.limit,
        offset=page.offset,
    )
