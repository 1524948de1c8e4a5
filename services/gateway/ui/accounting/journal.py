"""The journal: the list (filtered by dates, entry type, account and document, exported to Excel),
one entry with its lines, its source document and event and its reversal, the reversal itself,
and the accountant's manual entry form.

The manual entry form keeps its lines as plain inputs named account_code / debit / credit /
line_memo, read in order (rows left wholly blank are not lines). The browser adds and removes
rows and keeps the debit and credit totals as one types (static accounting.js); the service
checks everything again and its refusal is drawn beside the field it names.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.accounting.common import (
    DOCUMENT_TYPE_LABELS,
    ENTRY_TYPE_LABELS,
    MAX_CODE,
    MAX_FORM_LINES,
    SERVICE,
    account_options,
    accounts,
    document_href,
    entry_type_options,
    idempotency_key,
    post,
    refusal,
    service_workbook,
    split_errors,
    text,
)
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.tables import Column, Filter, Table
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action, allowed
from shared.events.envelope import utc_now
from shared.i18n import Text, _, locale_of

router = APIRouter()


async def _journal_rows(request: Request, page: Page, params: dict[str, Any]) -> dict[str, Any]:
    """The service's list; an entry that reverses none has no "reverses" link to draw."""
    result: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, "journal-entries", params
    )
    for entry in result.get("items", []):
        if not entry.get("reverses_number"):
            entry.pop("reverses_number", None)
    return result


JOURNAL = Table(
    name="journal",
    title=_("Journal entries"),
    service=SERVICE,
    path="journal-entries",
    columns=(
        Column("number", _("Entry"), sort="number", link="/journal/{number}"),
        Column("entry_date", _("Date"), kind="date", sort="entry_date"),
        Column("entry_type", _("Type"), kind="status", sort="entry_type", labels=ENTRY_TYPE_LABELS),
        Column("document_type", _("Document type"), kind="status", labels=DOCUMENT_TYPE_LABELS),
        Column("document_ref", _("Document"), sort="document_ref"),
        Column("memo", _("Memo")),
        Column("total_debit", _("Amount"), kind="money", sort="total_debit"),
        Column("reverses_number", _("Reverses"), link="/journal/{reverses_number}"),
        Column("source_event_type", _("Source event"), on_page=False),
        Column("source_event_id", _("Source event id"), on_page=False),
    ),
    filters=(
        Filter("date_from", _("From"), kind="date"),
        Filter("date_to", _("To"), kind="date"),
        Filter("entry_type", _("Type"), kind="select", options=tuple(ENTRY_TYPE_LABELS.items())),
        Filter("account_code", _("Account"), kind="select"),
        Filter(
            "document_type",
            _("Document type"),
            kind="select",
            options=tuple(DOCUMENT_TYPE_LABELS.items()),
        ),
        Filter("document_ref", _("Document")),
    ),
    default_sort="-entry_date",
    live="journal",
    loader=_journal_rows,
)


async def _journal_table(request: Request, page: Page) -> Table:
    """The journal with today's choices: the service's entry types and the accounts."""
    chart = await accounts(request, page)
    types = await entry_type_options(request, page)
    choices = {"entry_type": tuple(types), "account_code": tuple(account_options(chart))}
    filters = tuple(
        dataclasses.replace(f, options=choices[f.name]) if f.name in choices else f
        for f in JOURNAL.filters
    )
    labels: dict[str, Text] = {**dict(types), **ENTRY_TYPE_LABELS}
    columns = tuple(
        dataclasses.replace(c, labels=labels) if c.key == "entry_type" else c
        for c in JOURNAL.columns
    )
    return dataclasses.replace(JOURNAL, filters=filters, columns=columns)


@router.get("/journal")
async def journal(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    table = await _journal_table(request, page)
    can_post = allowed(page.user.roles, Action.BOOKS_POST)
    return await table.respond(
        request, page, "accounting/journal.html", "/journal", {"can_post": can_post}
    )


@router.get("/journal.xlsx")
async def journal_xlsx(request: Request) -> Response:
    """The service's workbook of the same filtered, sorted list (journal-entries.xlsx: one row
    per line, with the line's account and dimensions)."""
    page = await page_user(request, Action.BOOKS_READ)
    query = JOURNAL.query_of(request)
    params = {**query.filters, "sort": query.sort}
    return await service_workbook(request, page, "journal-entries.xlsx", params)


# --- a manual entry -------------------------------------------------------------------------

HEADER_FIELDS = ("entry_date", "memo", "document_type", "document_ref")
LINE_FIELDS = ("account_code", "debit", "credit", "line_memo")
BLANK_ROWS = 2  # a new entry starts with two lines: one debit, one credit


@router.get("/journal/new")
async def new_entry(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_POST)
    values = {"entry_date": _plant_today(page).isoformat()}
    return await _entry_form(request, page, values, [{}] * BLANK_ROWS, {}, None)


@router.post("/journal/new")
async def post_entry(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_POST)
    form = await request.form()
    values = {name: text(form, name, 500) for name in HEADER_FIELDS}
    rows = _rows(form)
    sent = [index for index, row in enumerate(rows) if any(row.values())]
    body: dict[str, Any] = {
        "entry_date": values["entry_date"] or None,
        "memo": values["memo"],
        "document_type": values["document_type"] or None,
        "document_ref": values["document_ref"] or None,
        "lines": [_line(rows[index]) for index in sent],
    }
    key = idempotency_key(form)
    try:
        created = await post(request, page, "POST", "journal-entries", body, key=key)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        # The lines sent are drawn again (blank rows dropped), so line i of the service's
        # message is row i of the form.
        errors, general = split_errors(problem, set(HEADER_FIELDS) | {"lines"})
        shown = [rows[index] for index in sent] or [{}] * BLANK_ROWS
        return await _entry_form(
            request,
            page,
            values,
            shown,
            errors,
            general,
            upstream.form_status(request, problem),
            key,
        )
    return RedirectResponse(f"/journal/{quote(created['number'], safe='')}?done=posted", 303)


def _rows(form: FormData) -> list[dict[str, str]]:
    columns = {name: [_value(v) for v in form.getlist(name)] for name in LINE_FIELDS}
    count = min(max((len(values) for values in columns.values()), default=0), MAX_FORM_LINES)
    return [
        {name: values[i] if i < len(values) else "" for name, values in columns.items()}
        for i in range(count)
    ]


def _value(raw: Any) -> str:
    return raw.strip()[:500] if isinstance(raw, str) else ""


# What accounting.js accepts as an amount: digits and a point, at most four decimals; commas
# only as thousands separators ("1,234.50"). Anything else goes on as typed, for the service
# to name the field.
AMOUNT = re.compile(r"^(\d+|\d{1,3}(,\d{3})+)?(\.\d{0,4})?$")


MAX_WHOLE_DIGITS = 14  # NUMERIC(18, 4): fourteen digits before the point


def amount_of(typed: str) -> Decimal | None:
    """A typed amount as a Decimal (empty is zero), or None when it is not one."""
    if typed == "":
        return Decimal(0)
    if typed == "." or not AMOUNT.match(typed):
        return None
    plain = typed.replace(",", "")
    if len(plain.split(".")[0]) > MAX_WHOLE_DIGITS:
        return None
    return Decimal(plain or "0")


def _sent(typed: str) -> str:
    found = amount_of(typed)
    return str(found) if found is not None else typed


def _line(row: Mapping[str, str]) -> dict[str, Any]:
    """A form row as the service's line: an empty side is zero, an empty memo none."""
    return {
        "account_code": row["account_code"] or None,
        "debit": _sent(row["debit"]),
        "credit": _sent(row["credit"]),
        "memo": row["line_memo"] or None,
    }


def entry_totals(rows: Sequence[Mapping[str, str]], language: str) -> dict[str, Any]:
    """The form's totals as the page first shows them (accounting.js keeps them as one types):
    exact sums, shown with two to four decimals."""
    debit = credit = Decimal(0)
    invalid = False
    for row in rows:
        for side in ("debit", "credit"):
            found = amount_of(row.get(side, ""))
            if found is None:
                invalid = True
            elif side == "debit":
                debit += found
            else:
                credit += found
    locale = locale_of(language)
    return {
        "debit": format_decimal(debit, format="#,##0.00##", locale=locale),
        "credit": format_decimal(credit, format="#,##0.00##", locale=locale),
        "difference": format_decimal(debit - credit, format="#,##0.00##", locale=locale),
        "invalid": invalid,
        "balanced": not invalid and debit == credit and debit > 0,
    }


async def _entry_form(
    request: Request,
    page: Page,
    values: Mapping[str, str],
    rows: Sequence[Mapping[str, str]],
    errors: Mapping[str, str],
    error: str | Text | None,
    status_code: int = 200,
    key: str | None = None,
) -> Response:
    chart = await accounts(request, page)
    return render(
        request,
        page,
        "accounting/entry_new.html",
        {
            "values": values,
            "rows": rows,
            "errors": errors,
            "error": error,
            # A refused entry keeps its key: the same entry sent again is still one entry.
            "key": key or str(uuid.uuid4()),
            "totals": entry_totals(rows, page.language),
            "account_choices": account_options(chart),
            "document_types": [("", _("None")), *DOCUMENT_TYPE_LABELS.items()],
        },
        status_code=status_code,
    )


def _plant_today(page: Page) -> date:
    return utc_now().astimezone(ZoneInfo(page.timezone)).date()


# --- one entry, and its reversal ------------------------------------------------------------


@router.get("/journal/{number}")
async def journal_entry(number: str, request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _entry_page(request, page, number, {})


async def _entry_page(
    request: Request,
    page: Page,
    number: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    entry = await upstream.get_json(
        request, page.user, SERVICE, f"journal-entries/{quote(number[:MAX_CODE], safe='')}"
    )
    reversible = not entry.get("reversed_by_number") and not entry.get("reverses_number")
    chart = {a["code"]: a.get("name", "") for a in await accounts(request, page)}
    values: dict[str, Any] = {
        "entry": entry,
        "account_names": chart,
        "type_labels": ENTRY_TYPE_LABELS,
        "document_labels": DOCUMENT_TYPE_LABELS,
        "document_href": document_href(entry.get("document_type"), entry.get("document_ref")),
        "can_reverse": reversible and allowed(page.user.roles, Action.BOOKS_POST),
        "done": request.query_params.get("done"),
        "key": str(uuid.uuid4()),
        "values": {"entry_date": _plant_today(page).isoformat()},
        "errors": {},
        "error": None,
        **context,
    }
    return render(request, page, "accounting/entry.html", values, status_code=status_code)


@router.post("/journal/{number}/reverse")
async def reverse_entry(number: str, request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_POST)
    form = await request.form()
    values = {"entry_date": text(form, "entry_date", 20), "memo": text(form, "memo", 500)}
    body = {"entry_date": values["entry_date"] or None, "memo": values["memo"] or None}
    key = idempotency_key(form)
    path = f"journal-entries/{quote(number[:MAX_CODE], safe='')}/reverse"
    try:
        reversal = await post(request, page, "POST", path, body, key=key)
    except UpstreamProblem as problem:
        if not refusal(problem) or problem.status == 404:
            raise
        errors, general = split_errors(problem, set(values))
        context = {"values": values, "errors": errors, "error": general, "key": key}
        return await _entry_page(
            request, page, number, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(f"/journal/{quote(reversal['number'], safe='')}?done=reversed", 303)
