"""HTTP API of the accounting reports under /api/v1, each as JSON and as a workbook beside it
(`<path>.xlsx`, the same figures): trial balance, general-ledger detail, profit and loss,
balance sheet, COGS by item, inventory by account, the ledger check, and the reconciliation of
the inventory accounts with inventory's own valuation (asked over HTTP, as the user).

Days are the plant's business days, as entry dates are. Reading needs accounting.books.read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from services.accounting.reports import service
from services.accounting.reports.schemas import (
    BalanceSheetOut,
    CostsByItemOut,
    GeneralLedgerOut,
    InventoryValuationOut,
    LedgerCheckOut,
    PeerDocumentValues,
    PeerValuation,
    ProfitAndLossOut,
    ReconciliationOut,
    TrialBalanceOut,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.i18n import Text, _
from shared.uow import UnitOfWork
from shared.web.commands import runtime_of
from shared.web.pagination import PageParams, page_params
from shared.web.peers import call_peer
from shared.web.problems import InvalidInput, ServiceUnavailable, problem_responses
from shared.web.security import require_permission
from shared.web.xlsx import XLSX_MEDIA_TYPE, workbook_response

router = APIRouter(prefix="/api/v1", tags=["accounting-reports"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.BOOKS_READ))]
Pages = Annotated[PageParams, Depends(page_params)]
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as an Excel workbook",
        "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def _today(request: Request) -> date:
    return plant_today(runtime_of(request).settings)


def as_of_day(
    request: Request,
    as_of: Annotated[
        date | None, Query(description="Entries dated up to this day (default: the plant's today)")
    ] = None,
) -> date:
    return as_of or _today(request)


def day_range(
    request: Request,
    date_from: Annotated[
        date | None,
        Query(description="First day, included (default: the first of date_to's month)"),
    ] = None,
    date_to: Annotated[
        date | None, Query(description="Last day, included (default: the plant's today)")
    ] = None,
) -> tuple[date, date]:
    last = date_to or _today(request)
    first = date_from or last.replace(day=1)
    service.check_range(first, last)
    return first, last


AsOf = Annotated[date, Depends(as_of_day)]
Range = Annotated[tuple[date, date], Depends(day_range)]
AccountCode = Annotated[str, Query(min_length=1, max_length=10, description="The account")]


def _read(request: Request, use_case: Callable[[UnitOfWork], T]) -> T:
    uow: UnitOfWork = runtime_of(request).uow(read_only=True)
    with uow:
        return use_case(uow)


def _workbook(
    request: Request, filename: str, title: Text, headers: list[Text], rows: list[list[Any]]
) -> Response:
    return workbook_response(
        filename,
        str(title),
        [str(header) for header in headers],
        rows,
        timezone=runtime_of(request).settings.plant_timezone,
    )


# --- trial balance ------------------------------------------------------------------------------


@router.get("/trial-balance", response_model=TrialBalanceOut)
def trial_balance(request: Request, _reader: Reader, as_of: AsOf) -> TrialBalanceOut:
    """Every active account (and any inactive one with activity): its debits and credits up to
    `as_of`, the balance on its normal side, the totals, and whether they balance."""
    return _read(request, lambda uow: service.trial_balance(uow, as_of))


@router.get("/trial-balance.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def trial_balance_xlsx(request: Request, _reader: Reader, as_of: AsOf) -> Response:
    report = _read(request, lambda uow: service.trial_balance(uow, as_of))
    rows: list[list[Any]] = [
        [row.code, row.name, str(row.account_type), row.total_debit, row.total_credit, row.balance]
        for row in report.rows
    ]
    rows.append([str(_("Total")), None, None, report.total_debit, report.total_credit, None])
    return _workbook(
        request,
        f"trial-balance-{as_of.isoformat()}",
        _("Trial balance"),
        [_("Account"), _("Name"), _("Type"), _("Debit"), _("Credit"), _("Balance")],
        rows,
    )


# --- general ledger -----------------------------------------------------------------------------


@router.get("/reports/general-ledger", response_model=GeneralLedgerOut)
def general_ledger(
    request: Request, _reader: Reader, account_code: AccountCode, days: Range, page: Pages
) -> GeneralLedgerOut:
    """One account's lines dated in the range, oldest first, a page at a time (`limit`,
    `offset`), each with the account's balance after it; the opening balance (everything
    before `date_from`) and the closing balance (everything up to `date_to`). 404 for an
    unknown account."""
    first, last = days
    return _read(request, lambda uow: service.general_ledger(uow, account_code, first, last, page))


@router.get("/reports/general-ledger.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def general_ledger_xlsx(
    request: Request, _reader: Reader, account_code: AccountCode, days: Range
) -> Response:
    """Every line of the range (at most 100,000), between an opening and a closing row."""
    first, last = days
    report = _read(
        request, lambda uow: service.general_ledger_export(uow, account_code, first, last)
    )
    opening = [None, first, None, None, None, str(_("Opening balance")), None, None]
    rows: list[list[Any]] = [[*opening, report.opening_balance]]
    rows.extend(
        [
            line.entry_number,
            line.entry_date,
            line.entry_type,
            line.document_type,
            line.document_ref,
            line.memo,
            line.debit,
            line.credit,
            line.balance,
            line.item_sku,
            line.location,
            line.production_order,
            line.sales_order,
            line.purchase_order,
        ]
        for line in report.lines
    )
    rows.append(
        [
            None,
            last,
            None,
            None,
            None,
            str(_("Closing balance")),
            report.total_debit,
            report.total_credit,
            report.closing_balance,
        ]
    )
    return _workbook(
        request,
        f"general-ledger-{account_code}-{first.isoformat()}-{last.isoformat()}",
        _("General ledger"),
        [
            _("Entry"),
            _("Date"),
            _("Type"),
            _("Document type"),
            _("Document"),
            _("Memo"),
            _("Debit"),
            _("Credit"),
            _("Balance"),
            _("SKU"),
            _("Location"),
            _("Production order"),
            _("Sales order"),
            _("Purchase order"),
        ],
        rows,
    )


# --- statements ---------------------------------------------------------------------------------


@router.get("/reports/profit-and-loss", response_model=ProfitAndLossOut)
def profit_and_loss(request: Request, _reader: Reader, days: Range) -> ProfitAndLossOut:
    """Revenue, cost of goods sold, gross profit, scrap, other expenses and net income of the
    entries dated in the range, by account."""
    first, last = days
    return _read(request, lambda uow: service.profit_and_loss(uow, first, last))


@router.get("/reports/profit-and-loss.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def profit_and_loss_xlsx(request: Request, _reader: Reader, days: Range) -> Response:
    first, last = days
    report = _read(request, lambda uow: service.profit_and_loss(uow, first, last))
    rows: list[list[Any]] = []
    for section in report.sections:
        rows.extend([section.title, row.code, row.name, row.amount] for row in section.rows)
        rows.append([section.title, None, str(_("Total")), section.total])
    rows.append([str(_("Gross profit")), None, None, report.gross_profit])
    rows.append([str(_("Net income")), None, None, report.net_income])
    return _workbook(
        request,
        f"profit-and-loss-{first.isoformat()}-{last.isoformat()}",
        _("Profit and loss"),
        [_("Section"), _("Account"), _("Name"), _("Amount")],
        rows,
    )


@router.get("/reports/balance-sheet", response_model=BalanceSheetOut)
def balance_sheet(request: Request, _reader: Reader, as_of: AsOf) -> BalanceSheetOut:
    """Assets, liabilities and equity at the end of `as_of`; equity shows the current year's
    earnings as a line, so `balanced` is true when assets = liabilities + equity."""
    return _read(request, lambda uow: service.balance_sheet(uow, as_of))


@router.get("/reports/balance-sheet.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def balance_sheet_xlsx(request: Request, _reader: Reader, as_of: AsOf) -> Response:
    report = _read(request, lambda uow: service.balance_sheet(uow, as_of))
    rows: list[list[Any]] = []
    for section in (report.assets, report.liabilities, report.equity):
        rows.extend([section.title, row.code, row.name, row.amount] for row in section.rows)
        rows.append([section.title, None, str(_("Total")), section.total])
    rows.append([str(_("Liabilities and equity")), None, None, report.total_liabilities_and_equity])
    return _workbook(
        request,
        f"balance-sheet-{as_of.isoformat()}",
        _("Balance sheet"),
        [_("Section"), _("Account"), _("Name"), _("Amount")],
        rows,
    )


# --- COGS and inventory by item -----------------------------------------------------------------


@router.get("/reports/cogs", response_model=CostsByItemOut)
def costs_by_item(request: Request, _reader: Reader, days: Range) -> CostsByItemOut:
    """Cost of goods sold, scrap and inventory adjustments of the range by item (the lines'
    item; `sku` null for lines without one), with the totals."""
    first, last = days
    return _read(request, lambda uow: service.costs_by_item(uow, first, last))


@router.get("/reports/cogs.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def costs_by_item_xlsx(request: Request, _reader: Reader, days: Range) -> Response:
    first, last = days
    report = _read(request, lambda uow: service.costs_by_item(uow, first, last))
    rows: list[list[Any]] = [
        [row.sku, row.cost_of_goods_sold, row.scrap, row.inventory_adjustments, row.total]
        for row in report.items
    ]
    totals = report.totals
    rows.append(
        [
            str(_("Total")),
            totals.cost_of_goods_sold,
            totals.scrap,
            totals.inventory_adjustments,
            totals.total,
        ]
    )
    return _workbook(
        request,
        f"cogs-{first.isoformat()}-{last.isoformat()}",
        _("COGS by item"),
        [_("SKU"), _("Cost of goods sold"), _("Scrap"), _("Inventory adjustments"), _("Total")],
        rows,
    )


@router.get("/reports/inventory-valuation", response_model=InventoryValuationOut)
def inventory_valuation(request: Request, _reader: Reader, as_of: AsOf) -> InventoryValuationOut:
    """The GL balance of each inventory account (the raw materials, work in progress and
    finished goods posting accounts) at the end of `as_of`, and by item."""
    return _read(request, lambda uow: service.inventory_valuation(uow, as_of))


@router.get("/reports/inventory-valuation.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def inventory_valuation_xlsx(request: Request, _reader: Reader, as_of: AsOf) -> Response:
    report = _read(request, lambda uow: service.inventory_valuation(uow, as_of))
    rows: list[list[Any]] = []
    for account in report.accounts:
        rows.extend(
            [account.code, account.name, item.sku, None, item.balance] for item in account.items
        )
        rows.extend(
            [account.code, account.name, None, order.production_order, order.balance]
            for order in account.production_orders
        )
        rows.append([account.code, account.name, str(_("Total")), None, account.balance])
    rows.append([str(_("Total")), None, None, None, report.total])
    return _workbook(
        request,
        f"gl-inventory-{as_of.isoformat()}",
        _("Inventory by account"),
        [_("Account"), _("Name"), _("SKU"), _("Production order"), _("Balance")],
        rows,
    )


# --- ledger check -------------------------------------------------------------------------------


@router.get("/reports/ledger-check", response_model=LedgerCheckOut)
def ledger_check(request: Request, _reader: Reader) -> LedgerCheckOut:
    """The day balances the reports read, against a straight sum of the journal lines per
    account and day: `matches`, or the accounts (and days) that differ. Reads every line."""
    return _read(request, service.ledger_check)


@router.get("/reports/ledger-check.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def ledger_check_xlsx(request: Request, _reader: Reader) -> Response:
    report = _read(request, service.ledger_check)
    rows: list[list[Any]] = [
        [
            row.code,
            row.kept_debit,
            row.kept_credit,
            row.lines_debit,
            row.lines_credit,
            ", ".join(day.isoformat() for day in row.days),
        ]
        for row in report.mismatches
    ]
    return _workbook(
        request,
        "ledger-check",
        _("Ledger check"),
        [
            _("Account"),
            _("Kept debits"),
            _("Kept credits"),
            _("Line debits"),
            _("Line credits"),
            _("Days that differ"),
        ],
        rows,
    )


# --- reconciliation ----------------------------------------------------------------------------


async def _ask_inventory(request: Request, path: str, params: dict[str, str], shape: type[M]) -> M:
    answer = await call_peer(request, "inventory", "GET", path, params=params)
    try:
        return shape.model_validate(answer)
    except ValidationError as exc:
        raise ServiceUnavailable(
            _("The inventory service gave an answer this report cannot read."),
            code="peer_unreadable",
        ) from exc


async def _reconciliation(
    request: Request, as_of: date, explain: bool, documents_from: date | None
) -> ReconciliationOut:
    if documents_from is not None and documents_from > as_of:
        raise InvalidInput(
            _("The first day of the documents comes after as_of."),
            field="query.documents_from",
            code="documents_from_after_as_of",
        )
    ledger = await run_in_threadpool(_read, request, lambda uow: service.ledger_side(uow, as_of))
    day = {"as_of": as_of.isoformat(), "items": "false"}  # the class totals are compared
    valuation = await _ask_inventory(request, "/api/v1/valuation", day, PeerValuation)
    report = service.reconciliation(ledger, valuation)
    if not (report.flagged and explain):
        return report
    days = {"date_to": as_of.isoformat()}
    if documents_from is not None:
        days["date_from"] = documents_from.isoformat()
    documents = await _ask_inventory(
        request, "/api/v1/valuation/documents", days, PeerDocumentValues
    )
    by_document = await run_in_threadpool(
        _read, request, lambda uow: service.ledger_by_document(uow, ledger, documents_from)
    )
    return service.explain(report, ledger, by_document, documents)


Explain = Annotated[
    bool,
    Query(description="List the documents and items that explain a flagged difference"),
]
DocumentsFrom = Annotated[
    date | None,
    Query(
        description="Compare only the documents' movements from this day on (default: all "
        "of the books; the comparison reads every line on the inventory accounts)"
    ),
]


@router.get(
    "/reports/reconciliation",
    response_model=ReconciliationOut,
    responses=problem_responses(503),
)
async def reconciliation(
    request: Request,
    _reader: Reader,
    as_of: AsOf,
    explain: Explain = True,
    documents_from: DocumentsFrom = None,
) -> ReconciliationOut:
    """Each inventory account's GL balance at the end of `as_of` beside the inventory
    service's own valuation of its class (raw, wip, finished), the difference, `flagged` above
    0.01; when any is flagged, the documents (and items) whose GL and inventory figures
    differ (over the days from `documents_from`, when given). 503 when the inventory service
    does not answer."""
    return await _reconciliation(request, as_of, explain, documents_from)


@router.get(
    "/reports/reconciliation.xlsx",
    response_class=Response,
    responses={**XLSX_RESPONSE, **problem_responses(503)},
)
async def reconciliation_xlsx(
    request: Request,
    _reader: Reader,
    as_of: AsOf,
    explain: Explain = True,
    documents_from: DocumentsFrom = None,
) -> Response:
    report = await _reconciliation(request, as_of, explain, documents_from)
    rows: list[list[Any]] = [
        [
            str(_("Account")),
            row.code,
            row.name,
            None,
            row.gl_balance,
            row.inventory_value,
            row.difference,
            str(_("Yes")) if row.flagged else None,
        ]
        for row in report.accounts
    ]
    rows.extend(
        [
            str(_("Document")),
            document.account_code,
            f"{document.document_type} {document.document_ref}",
            item.sku,
            item.gl_amount,
            item.inventory_amount,
            item.difference,
            None,
        ]
        for document in report.documents
        for item in document.items
    )
    rows.extend(
        [
            str(_("Item")),
            item.account_code,
            None,
            item.sku,
            item.gl_amount,
            item.inventory_amount,
            item.difference,
            None,
        ]
        for item in report.items
    )
    return _workbook(
        request,
        f"reconciliation-{as_of.isoformat()}",
        _("Reconciliation"),
        [
            _("Row"),
            _("Account"),
            _("Name or document"),
            _("SKU"),
            _("GL"),
            _("Inventory"),
            _("Difference"),
            _("Flagged"),
        ],
        rows,
    )
