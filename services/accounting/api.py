"""Accounting's HTTP API under /api/v1: read the journal, the chart and the trial balance.

Every route needs a valid service token; any role may read. Postings come only from events, so
there are no commands here yet.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.accounting import service
from services.accounting.schemas import (
    AccountOut,
    JournalEntryOut,
    JournalEntrySummaryOut,
    TrialBalanceOut,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.web.commands import new_uow, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["accounting"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.BOOKS_READ))]
Pages = Annotated[PageParams, Depends(page_params)]


@router.get("/journal-entries", response_model=Page[JournalEntrySummaryOut])
def list_journal_entries(
    request: Request,
    _: Reader,
    page: Pages,
    date_from: date | None = None,
    date_to: date | None = None,
    entry_type: Annotated[str | None, Query(max_length=40)] = None,
    document_ref: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str | None, Depends(sort_param)] = None,
) -> Page[JournalEntrySummaryOut]:
    with new_uow(request) as uow:
        return service.list_journal_entries(
            uow,
            page,
            date_from=date_from,
            date_to=date_to,
            entry_type=entry_type,
            document_ref=document_ref,
            sort=sort,
        )


@router.get("/journal-entries/{number}", response_model=JournalEntryOut)
def get_journal_entry(number: str, request: Request, _: Reader) -> JournalEntryOut:
    with new_uow(request) as uow:
        return service.get_journal_entry(uow, number)


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(request: Request, _: Reader) -> list[AccountOut]:
    with new_uow(request) as uow:
        return service.list_accounts(uow)


@router.get("/trial-balance", response_model=TrialBalanceOut)
def trial_balance(
    request: Request,
    _: Reader,
    as_of: Annotated[
        date | None,
        Query(description="Entries dated up to this day (default: the plant's today)"),
    ] = None,
) -> TrialBalanceOut:
    today = plant_today(runtime_of(request).settings)
    with new_uow(request) as uow:
        return service.trial_balance(uow, as_of or today)
