"""HTTP API of shipments: ship a sales order's lines out of finished goods, list and read them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from services.inventory.shipping import service
from services.inventory.shipping.schemas import ShipmentCreate, ShipmentOut
from services.inventory.shipping.service import ShipmentFilters
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.i18n import _
from shared.web.commands import new_uow, run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.problems import InvalidInput
from shared.web.security import require_permission
from shared.web.xlsx import workbook_response

router = APIRouter(prefix="/api/v1", tags=["shipments"])

Shipper = Annotated[TokenClaims, Depends(require_permission(Action.SHIPMENTS_WRITE))]
Reader = Annotated[TokenClaims, Depends(require_permission(Action.STOCK_READ))]
Pages = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]


def shipment_filters(
    so_number: Annotated[str | None, Query(max_length=64)] = None,
    customer_code: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[date | None, Query(description="First day, plant-local")] = None,
    date_to: Annotated[date | None, Query(description="Last day (included), plant-local")] = None,
) -> ShipmentFilters:
    if date_from is not None and date_to is not None and date_to < date_from:
        raise InvalidInput(_("The last day comes before the first day."), field="query.date_to")
    return ShipmentFilters(so_number, customer_code, date_from, date_to)


Filters = Annotated[ShipmentFilters, Depends(shipment_filters)]


@router.post("/shipments", status_code=201, response_model=ShipmentOut)
def ship(body: ShipmentCreate, request: Request, user: Shipper) -> JSONResponse:
    """Ship lines of a sales order: from the lines' allocation (available FG allocated first
    when it holds less), FIFO by lot; 409 naming the line when FG is short, 422 when a line
    would ship more than is open. Send an Idempotency-Key: a retry ships nothing more."""
    settings = runtime_of(request).settings
    return run_command(
        request, lambda uow: service.ship(uow, body, user.user, settings), status_code=201
    )


@router.get("/shipments", response_model=Page[ShipmentOut])
def list_shipments(
    request: Request, _reader: Reader, page: Pages, sort: Sort, filters: Filters
) -> Page[ShipmentOut]:
    """Shipments, newest first; filter by sales order, customer and plant-local days; `sort`
    is shipment_id, so_number, customer, shipped_at or ship_date ('-' for descending)."""
    with new_uow(request) as uow:
        return service.list_shipments(uow, page, filters, sort)


@router.get("/shipments.xlsx", response_class=Response)
def export_shipments(request: Request, _reader: Reader, sort: Sort, filters: Filters) -> Response:
    """The shipments of the list, one row per lot of each line, as a workbook."""
    headers = [
        _("Shipment"),
        _("Date"),
        _("Sales order"),
        _("Customer"),
        _("Business unit"),
        _("Line"),
        _("SKU"),
        _("Lot"),
        _("Qty"),
        _("Unit cost"),
        _("Unit price"),
        _("Cost value"),
        _("Sales value"),
    ]
    runtime = runtime_of(request)
    with runtime.uow(read_only=True) as uow:
        return workbook_response(
            "shipments",
            str(_("Shipments")),
            [str(header) for header in headers],
            list(service.export_rows(uow, filters, sort)),
            timezone=runtime.settings.plant_timezone,
        )


@router.get("/shipments/{shipment_id}", response_model=ShipmentOut)
def get_shipment(shipment_id: str, request: Request, _reader: Reader) -> ShipmentOut:
    with new_uow(request) as uow:
        return service.get_shipment(uow, shipment_id)
