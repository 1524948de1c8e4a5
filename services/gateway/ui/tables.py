"""Tables: every list the UI shows pages, filters, sorts and exports to XLSX, the same way.

A feature declares a `Table` (which service list endpoint, which columns and filters) and mounts
it on its router: `table.mount(router, "/items", Action.ITEMS_READ, "inventory/items.html")`.
That gives the page (its template includes "table.html"), the partial htmx swaps in when a
filter, a sort or a page changes (or a live update says the rows changed), and `<path>.xlsx`,
which exports every row of the same filtered, sorted list with the same columns. The service
does the filtering, sorting and paging (`limit`, `offset`, `sort` and its own filter names), so
what the user sees and what the export holds are the same query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page, page_user, render
from shared.auth.permissions import Action
from shared.events.envelope import utc_now
from shared.i18n import Text, format_date, format_number, language_scope
from shared.web.xlsx import workbook_response

Loader = Callable[[Request, Page, dict[str, Any]], Awaitable[dict[str, Any]]]
EXPORT_PAGE = 1000
EXPORT_MAX_ROWS = 100_000
PAGE_SIZES = (25, 50, 100)


@dataclass(frozen=True)
class Column:
    """One column: `key` is the field of the service's JSON item ('vendor.name' reaches in)."""

    key: str
    label: Text
    kind: str = "text"  # text | number | money | datetime | date | status | list
    sort: str | None = None  # the service's sort name; None when not sortable
    link: str | None = None  # an href with the item's fields: "/items/{sku}"
    # For kind "status": the label of each value, e.g. {"draft": _("Draft")}.
    labels: Mapping[str, Text] = field(default_factory=dict)
    # Where the column appears: a summary may be for the page only, the full record for Excel.
    on_page: bool = True
    in_export: bool = True

    def value(self, item: Mapping[str, Any]) -> Any:
        found: Any = item
        for part in self.key.split("."):
            found = found.get(part) if isinstance(found, Mapping) else None
        return found

    def href(self, item: Mapping[str, Any]) -> str | None:
        if self.link is None:
            return None
        try:
            return self.link.format(**item)
        except (KeyError, IndexError):
            return None


@dataclass(frozen=True)
class Filter:
    """A filter the service's list endpoint takes as the query parameter `name`."""

    name: str
    label: Text
    kind: str = "text"  # text | select | date
    options: Sequence[tuple[str, Text]] = ()


@dataclass(frozen=True)
class TableQuery:
    filters: dict[str, str]
    sort: str | None
    offset: int
    limit: int

    def params(self, **changes: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            **self.filters,
            "sort": self.sort,
            "offset": self.offset,
            "limit": self.limit,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in (None, "", 0)}

    def url(self, path: str, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class Table:
    name: str
    title: Text
    service: str
    path: str  # the service's list endpoint under /api/v1
    columns: Sequence[Column]
    filters: Sequence[Filter] = ()
    default_sort: str | None = None
    # Server-sent event topic(s) after which the rows are fetched again (see live.py);
    # several separated by commas: "items,stock".
    live: str | None = None
    fixed: Mapping[str, str] = field(default_factory=dict)  # parameters always sent
    # For the gateway's own lists (users, audit log): rows from here instead of a service.
    # It gets the request, the page and the query's parameters, and answers {items, total}.
    loader: Loader | None = None

    @property
    def page_columns(self) -> list[Column]:
        return [column for column in self.columns if column.on_page]

    @property
    def export_columns(self) -> list[Column]:
        return [column for column in self.columns if column.in_export]

    @property
    def dom_id(self) -> str:
        return f"table-{self.name}"

    @property
    def live_trigger(self) -> str:
        """htmx's trigger for the live topics: live="items,stock" -> "sse:items, sse:stock"."""
        topics = [topic.strip() for topic in (self.live or "").split(",") if topic.strip()]
        return ", ".join(f"sse:{topic}" for topic in topics)

    def query_of(self, request: Request) -> TableQuery:
        args = request.query_params
        sortable = {c.sort for c in self.columns if c.sort}
        sort = args.get("sort") or self.default_sort
        if sort and sort.lstrip("-") not in sortable:
            sort = self.default_sort
        return TableQuery(
            filters={f.name: args[f.name].strip() for f in self.filters if args.get(f.name)},
            sort=sort,
            offset=_bounded_int(args.get("offset"), 0, 0, 10_000_000),
            limit=_bounded_int(args.get("limit"), PAGE_SIZES[0], 1, PAGE_SIZES[-1]),
        )

    async def fetch(self, request: Request, page: Page, query: TableQuery) -> dict[str, Any]:
        params = {**self.fixed, **query.params()}
        if self.loader is not None:
            return await self.loader(request, page, params)
        result: dict[str, Any] = await upstream.get_json(
            request, page.user, self.service, self.path, params
        )
        return result

    def mount(self, router: APIRouter, path: str, action: Action, template: str) -> None:
        """The page at `path` (full, or the table alone for htmx) and its export at path.xlsx."""

        async def show(request: Request) -> Response:
            page = await page_user(request, action)
            return await self.respond(request, page, template, path)

        async def export(request: Request) -> Response:
            page = await page_user(request, action)
            return await self.export(request, page)

        router.add_api_route(path, show, methods=["GET"], include_in_schema=False)
        router.add_api_route(path + ".xlsx", export, methods=["GET"], include_in_schema=False)

    async def respond(
        self,
        request: Request,
        page: Page,
        template: str,
        path: str,
        values: Mapping[str, Any] | None = None,
    ) -> Response:
        query = self.query_of(request)
        swapping_table = request.headers.get("hx-target") == self.dom_id
        status_code, errors = 200, {}
        try:
            result = await self.fetch(request, page, query)
        except upstream.UpstreamProblem as problem:
            if not 400 <= problem.status < 500 or problem.status in (401, 403):
                raise
            # A filter the service refused (a date that is none, an unknown status): the page
            # again with the message beside that filter, and no rows. htmx swaps only a 2xx in.
            result, errors = {"items": [], "total": 0}, self.filter_errors(problem)
            status_code = 200 if swapping_table else problem.status
        context = {
            "table": self,
            "query": query,
            "result": result,
            "base": path,
            "filter_errors": errors,
            **(values or {}),
        }
        return render(
            request,
            page,
            "table.html" if swapping_table else template,
            context,
            status_code=status_code,
        )

    def filter_errors(self, problem: upstream.UpstreamProblem) -> dict[str, str]:
        """Filter name -> the service's message ("query.date_from" is the filter date_from);
        a message about anything else is under "" (shown above the table)."""
        names = {f.name for f in self.filters}
        errors: dict[str, str] = {}
        for field_name, message in problem.field_errors.items():
            name = field_name.removeprefix("query.")
            errors.setdefault(name if name in names else "", message)
        return errors or {"": str(problem.detail)}

    async def export(self, request: Request, page: Page) -> Response:
        query = self.query_of(request)
        rows: list[list[Any]] = []
        offset = 0
        while offset < EXPORT_MAX_ROWS:
            chunk = await self.fetch(
                request, page, TableQuery(query.filters, query.sort, offset, EXPORT_PAGE)
            )
            items = chunk.get("items", [])
            with language_scope(page.language):  # status labels in the reader's language
                rows.extend(
                    [self.cell(column, item) for column in self.export_columns] for item in items
                )
            offset += len(items)
            if not items or offset >= chunk.get("total", 0):
                break
        with language_scope(page.language):
            headers = [column.label.render() for column in self.export_columns]
            title = self.title.render()
        return workbook_response(
            f"{self.name}-{utc_now().astimezone(ZoneInfo(page.timezone)).date().isoformat()}",
            title,
            headers,
            rows,
            timezone=page.timezone,
        )

    @staticmethod
    def cell(column: Column, item: Mapping[str, Any]) -> Any:
        """The value for XLSX: numbers as numbers, times as times, the rest as shown."""
        value = column.value(item)
        if value is None:
            return None
        if column.kind in ("number", "money"):
            try:
                return Decimal(str(value))
            except InvalidOperation:
                return str(value)
        if column.kind == "datetime" and isinstance(value, str):
            return datetime.fromisoformat(value)
        if column.kind == "date" and isinstance(value, str):
            return date.fromisoformat(value)
        if column.kind == "status" and value in column.labels:
            return column.labels[value].render()  # as the page shows it
        return value


def shown(column: Column, value: Any) -> str:
    """A cell as text on the page (templates use the filters; this is for code)."""
    if value is None:
        return ""
    if column.kind in ("number", "money"):
        return format_number(Decimal(str(value)))
    if column.kind == "date":
        return format_date(date.fromisoformat(value) if isinstance(value, str) else value)
    return str(value)


def _bounded_int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return min(max(value, low), high)
