"""HTTP API of reservations: reserve for a reference, read it, release what is open."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from services.inventory.reservations import service
from services.inventory.reservations.schemas import (
    ReferenceType,
    ReservationCreate,
    ReservationOut,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.web.commands import new_uow, run_command
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["reservations"])

Reserver = Annotated[TokenClaims, Depends(require_permission(Action.RESERVATIONS_WRITE))]
StockReader = Annotated[TokenClaims, Depends(require_permission(Action.STOCK_READ))]
Reference = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("/reservations", response_model=ReservationOut)
def create_reservation(body: ReservationCreate, request: Request, _: Reserver) -> JSONResponse:
    """Reserve stock for a production order or a sales order (idempotent by reference; 409
    `insufficient_stock` with `shortages` unless `allow_insufficient`)."""
    return run_command(request, lambda uow: service.create_reservation(uow, body))


@router.get("/reservations/{reference_type}/{reference}", response_model=ReservationOut)
def get_reservation(
    reference_type: ReferenceType, reference: Reference, request: Request, _: StockReader
) -> ReservationOut:
    with new_uow(request) as uow:
        return service.get_reservation(uow, reference_type, reference)


@router.delete("/reservations/{reference_type}/{reference}", response_model=ReservationOut)
def release_reservation(
    reference_type: ReferenceType, reference: Reference, request: Request, _: Reserver
) -> JSONResponse:
    """Release what the reservation still holds; releasing again changes nothing."""
    return run_command(
        request, lambda uow: service.release_reservation(uow, reference_type, reference)
    )
