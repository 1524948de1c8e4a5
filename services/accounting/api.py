"""Accounting's ledger API under /api/v1: the chart of accounts, the accounts posting rules use,
the journal (read, export, manual entries, reversals) and the periods.

Reads need accounting.books.read; posting accounting.books.post; accounts
accounting.accounts.manage; periods accounting.periods.manage (admin only). Reports live in
`reports/`, the QuickBooks feed in `quickbooks/`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from services.accounting import service
from services.accounting.domain import DocumentType, EntryType
from services.accounting.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    EntryTypeOut,
    JournalEntryOut,
    JournalEntrySummaryOut,
    ManualEntryCreate,
    PeriodOut,
    PostingAccountOut,
    PostingAccountUpdate,
    ReversalCreate,
)
from services.accounting.service import JournalFilters
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.i18n import _
from shared.web.commands import run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission
from shared.web.xlsx import workbook_response

router = APIRouter(prefix="/api/v1", tags=["accounting"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.BOOKS_READ))]
Poster = Annotated[TokenClaims, Depends(require_permission(Action.BOOKS_POST))]
AccountsManager = Annotated[TokenClaims, Depends(require_permission(Action.BOOKS_ACCOUNTS))]
PeriodsManager = Annotated[TokenClaims, Depends(require_permission(Action.BOOKS_PERIODS))]
Pages = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]


def journal_filters(
    date_from: date | None = None,
    date_to: date | None = None,
    entry_type: EntryType | None = None,
    account_code: Annotated[str | None, Query(max_length=10)] = None,
    document_type: DocumentType | None = None,
    document_ref: Annotated[str | None, Query(max_length=100)] = None,
) -> JournalFilters:
    return JournalFilters(
        date_from=date_from,
        date_to=date_to,
        entry_type=entry_type,
        account_code=account_code,
        document_type=document_type,
        document_ref=document_ref,
    )


Filters = Annotated[JournalFilters, Depends(journal_filters)]


@router.get("/journal-entries", response_model=Page[JournalEntrySummaryOut])
def list_journal_entries(
    request: Request, _reader: Reader, page: Pages, filters: Filters, sort: Sort
) -> Page[JournalEntrySummaryOut]:
    """Entries, newest first; filter by dates, type, account (any line), document."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_journal_entries(uow, page, filters, sort)


@router.get("/journal-entries.xlsx", response_class=Response)
def export_journal_entries(
    request: Request, _reader: Reader, filters: Filters, sort: Sort
) -> Response:
    """The entries of the list, one row per line, as a workbook."""
    with runtime_of(request).uow(read_only=True) as uow:
        rows = service.journal_export_rows(uow, filters, sort)
    headers = [
        _("Entry"),
        _("Date"),
        _("Type"),
        _("Document type"),
        _("Document"),
        _("Memo"),
        _("Line"),
        _("Account"),
        _("Account name"),
        _("Debit"),
        _("Credit"),
        _("Item"),
        _("Location"),
        _("Production order"),
        _("Sales order"),
        _("Purchase order"),
        _("Line memo"),
        _("Reverses"),
        _("Source event type"),
        _("Source event"),
    ]
    return workbook_response(
        "journal",
        str(_("Journal")),
        [str(header) for header in headers],
        rows,
        timezone=runtime_of(request).settings.plant_timezone,
    )


@router.get("/journal-entries/{number}", response_model=JournalEntryOut)
def get_journal_entry(number: str, request: Request, _reader: Reader) -> JournalEntryOut:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.get_journal_entry(uow, number)


@router.post("/journal-entries", status_code=201, response_model=JournalEntryOut)
def post_manual_entry(body: ManualEntryCreate, request: Request, _poster: Poster) -> JSONResponse:
    """A manual entry: balanced, on active accounts, in an open period (Idempotency-Key)."""
    return run_command(request, lambda uow: service.post_manual_entry(uow, body), status_code=201)


@router.post("/journal-entries/{number}/reverse", status_code=201, response_model=JournalEntryOut)
def reverse_entry(
    number: str, request: Request, _poster: Poster, body: ReversalCreate | None = None
) -> JSONResponse:
    """Post the entry's mirror, linked to it (dated today unless `entry_date` is given)."""
    today = plant_today(runtime_of(request).settings)
    return run_command(
        request,
        lambda uow: service.reverse_entry(uow, number, body or ReversalCreate(), today),
        status_code=201,
    )


@router.get("/entry-types", response_model=list[EntryTypeOut])
def entry_types(_reader: Reader) -> list[EntryTypeOut]:
    return service.entry_types()


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(
    request: Request, _reader: Reader, active: bool | None = None
) -> list[AccountOut]:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_accounts(uow, active)


@router.post("/accounts", status_code=201, response_model=AccountOut)
def create_account(body: AccountCreate, request: Request, _m: AccountsManager) -> JSONResponse:
    return run_command(request, lambda uow: service.create_account(uow, body), status_code=201)


@router.patch("/accounts/{code}", response_model=AccountOut)
def update_account(
    code: str, body: AccountUpdate, request: Request, _m: AccountsManager
) -> JSONResponse:
    return run_command(request, lambda uow: service.update_account(uow, code, body))


@router.get("/posting-accounts", response_model=list[PostingAccountOut])
def list_posting_accounts(request: Request, _reader: Reader) -> list[PostingAccountOut]:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_posting_accounts(uow)


@router.put("/posting-accounts/{role}", response_model=PostingAccountOut)
def set_posting_account(
    role: str, body: PostingAccountUpdate, request: Request, _m: AccountsManager
) -> JSONResponse:
    return run_command(
        request, lambda uow: service.set_posting_account(uow, role, body.account_code)
    )


@router.get("/periods", response_model=list[PeriodOut])
def list_periods(
    request: Request,
    _reader: Reader,
    year: Annotated[int | None, Query(ge=2000, le=2999)] = None,
) -> list[PeriodOut]:
    """The twelve months of a year (default: this year), open unless closed."""
    year = year or plant_today(runtime_of(request).settings).year
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_periods(uow, year)


@router.post("/periods/{period}/close", response_model=PeriodOut)
def close_period(period: str, request: Request, _m: PeriodsManager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_period_status(uow, period, "closed"))


@router.post("/periods/{period}/reopen", response_model=PeriodOut)
def reopen_period(period: str, request: Request, _m: PeriodsManager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_period_status(uow, period, "open"))
