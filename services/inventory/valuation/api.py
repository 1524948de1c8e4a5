"""HTTP API of inventory's valuation: its value by class and item as of a day, and the value
each document moved; JSON and XLSX. Accounting's reconciliation asks these as the user."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from services.inventory.valuation import service
from services.inventory.valuation.schemas import DocumentValuesOut, ValuationOut
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.commands import runtime_of
from shared.web.problems import InvalidInput
from shared.web.security import require_permission
from shared.web.xlsx import XLSX_MEDIA_TYPE, workbook_response

router = APIRouter(prefix="/api/v1", tags=["valuation"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.STOCK_READ))]
AsOf = Annotated[
    date | None,
    Query(description="The value at the end of this plant-local day (default: today)"),
]
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as an Excel workbook",
        "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


class DocumentDays:
    """The plant-local days a document breakdown covers; either end may be open."""

    def __init__(
        self,
        date_from: Annotated[
            date | None, Query(description="First day, plant-local (default: the beginning)")
        ] = None,
        date_to: Annotated[
            date | None, Query(description="Last day, included, plant-local (default: today)")
        ] = None,
    ) -> None:
        if date_from is not None and date_to is not None and date_to < date_from:
            raise InvalidInput(
                _("The last day comes before the first day."),
                field="query.date_to",
                code="date_to_before_date_from",
            )
        self.date_from = date_from
        self.date_to = date_to


Days = Annotated[DocumentDays, Depends()]


def _reading(request: Request) -> UnitOfWork:
    uow: UnitOfWork = runtime_of(request).uow(read_only=True)
    return uow


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(runtime_of(request).settings.plant_timezone)


def _valuation(request: Request, as_of: date | None, items: bool = True) -> ValuationOut:
    today = plant_today(runtime_of(request).settings)
    with _reading(request) as uow:
        return service.valuation(uow, as_of or today, today, _zone(request), items=items)


WithItems = Annotated[
    bool,
    Query(description="List every item too (false: the class totals alone, for a reconciliation)"),
]


@router.get("/valuation", response_model=ValuationOut)
def valuation(
    request: Request, _reader: Reader, as_of: AsOf = None, items: WithItems = True
) -> ValuationOut:
    """Inventory's value per class (raw, wip, finished: docs/accounting.md) and per item, at
    the end of `as_of`: from the balances for today, from the stock ledger for an earlier day.
    SCRAP holds no inventory value."""
    return _valuation(request, as_of, items)


@router.get("/valuation.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def valuation_xlsx(request: Request, _reader: Reader, as_of: AsOf = None) -> Response:
    report = _valuation(request, as_of)
    headers = [_("SKU"), _("Name"), _("Class"), _("Qty"), _("Value")]
    rows: list[list[Any]] = [
        [item.sku, item.name, str(item.inventory_class), item.qty, item.value]
        for item in report.items
    ]
    rows.extend(
        [str(_("Total")), None, str(row.inventory_class), None, row.value] for row in report.classes
    )
    rows.append([str(_("Total")), None, None, None, report.total])
    return workbook_response(
        f"inventory-valuation-{report.as_of.isoformat()}",
        str(_("Inventory valuation")),
        [str(header) for header in headers],
        rows,
    )


def _documents(request: Request, days: DocumentDays) -> DocumentValuesOut:
    with _reading(request) as uow:
        return service.document_values(uow, days.date_from, days.date_to, _zone(request))


@router.get("/valuation/documents", response_model=DocumentValuesOut)
def valuation_documents(request: Request, _reader: Reader, days: Days) -> DocumentValuesOut:
    """The net value each document moved per class (and item) over the days, from the stock
    ledger, named as the journal names it: a receipt's purchase order, a production order, a
    shipment's sales order, an adjustment's id. Transfers and QC releases stay within a class
    and are left out; so is SCRAP."""
    return _documents(request, days)


@router.get("/valuation/documents.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def valuation_documents_xlsx(request: Request, _reader: Reader, days: Days) -> Response:
    report = _documents(request, days)
    headers = [_("Document type"), _("Document"), _("Class"), _("SKU"), _("Value")]
    rows = [
        [row.document_type, row.document_ref, str(row.inventory_class), item.sku, item.value]
        for row in report.documents
        for item in row.items
    ]
    first = report.date_from.isoformat() if report.date_from else "start"
    last = report.date_to.isoformat() if report.date_to else "today"
    return workbook_response(
        f"inventory-documents-{first}-{last}",
        str(_("Inventory by document")),
        [str(header) for header in headers],
        rows,
    )
