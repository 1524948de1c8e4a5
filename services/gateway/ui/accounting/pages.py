"""The books, read only: the journal, one entry with its lines, and the trial balance.

The accounting issue extends these (statements, reconciliation, manual entries); for now an
accountant or supervisor can follow every posting back to its document and export what they see.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from services.gateway.ui import upstream
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from services.gateway.ui.tables import Column, Filter, Table
from shared.auth.permissions import Action
from shared.i18n import Text, _, language_scope
from shared.web.xlsx import workbook_response

router = APIRouter()

ENTRY_TYPES = (("material_receipt", _("Material receipt")),)

journal = Table(
    name="journal",
    title=_("Journal entries"),
    service="accounting",
    path="journal-entries",
    columns=(
        Column("number", _("Entry"), sort="number", link="/journal/{number}"),
        Column("entry_date", _("Date"), kind="date", sort="entry_date"),
        Column("entry_type", _("Type"), kind="status", sort="entry_type", labels=dict(ENTRY_TYPES)),
        Column("document_ref", _("Document"), sort="document_ref"),
        Column("memo", _("Memo")),
        Column("total_debit", _("Amount"), kind="money", sort="total_debit"),
    ),
    filters=(
        Filter("date_from", _("From"), kind="date"),
        Filter("date_to", _("To"), kind="date"),
        Filter("entry_type", _("Type"), kind="select", options=ENTRY_TYPES),
        Filter("document_ref", _("Document")),
    ),
    default_sort="-entry_date",
    live="journal",
)
journal.mount(router, "/journal", Action.BOOKS_READ, "accounting/journal.html")


@router.get("/journal/{number}")
async def journal_entry(number: str, request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    entry = await upstream.get_json(
        request, page.user, "accounting", f"journal-entries/{quote(number, safe='')}"
    )
    return render(request, page, "accounting/entry.html", {"entry": entry})


async def _trial_balance(request: Request, page: Page) -> tuple[dict[str, Any], Text | None]:
    as_of = request.query_params.get("as_of") or None
    error: Text | None = None
    try:
        if as_of:
            date.fromisoformat(as_of)
    except ValueError:
        error, as_of = _("Enter a date (YYYY-MM-DD)."), None
    params = {"as_of": as_of} if as_of else None
    trial: dict[str, Any] = await upstream.get_json(
        request, page.user, "accounting", "trial-balance", params
    )
    return trial, error


@router.get("/trial-balance")
async def trial_balance(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    trial, error = await _trial_balance(request, page)
    return render(request, page, "accounting/trial_balance.html", {"trial": trial, "error": error})


@router.get("/trial-balance.xlsx")
async def trial_balance_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    trial, _error = await _trial_balance(request, page)
    with language_scope(page.language):
        headers = [
            str(label)
            for label in (_("Account"), _("Name"), _("Type"), _("Debit"), _("Credit"), _("Balance"))
        ]
        title = str(_("Trial balance"))
    rows = [
        [row["code"], row["name"], row["account_type"], *_amounts(row)] for row in trial["rows"]
    ]
    rows.append(["", str(_("Total")), "", *_amounts(trial)])
    return workbook_response(
        f"trial-balance-{trial['as_of']}", title, headers, rows, timezone=page.timezone
    )


def _amounts(row: dict[str, Any]) -> list[Any]:
    return [
        Decimal(row["total_debit"]),
        Decimal(row["total_credit"]),
        Decimal(row["balance"]) if "balance" in row else None,
    ]


feature = Feature(
    name="accounting",
    router=router,
    order=40,
    nav=(
        NavLink(_("Journal"), "/journal", Action.BOOKS_READ),
        NavLink(_("Trial balance"), "/trial-balance", Action.BOOKS_READ),
    ),
)
