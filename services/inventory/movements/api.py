"""HTTP API of this package (see its __init__): POST /stock/release, /stock/transfers and
/stock/adjustments. Each is a command: one transaction, Idempotency-Key honoured."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.inventory.movements import service
from services.inventory.movements.schemas import (
    AdjustmentCreate,
    MovementOut,
    ReleaseCreate,
    TransferCreate,
)
from shared.auth.permissions import Action
from shared.web.commands import run_command
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["stock-movements"])


@router.post(
    "/stock/release",
    status_code=201,
    response_model=MovementOut,
    dependencies=[Depends(require_permission(Action.STOCK_RELEASE))],
)
def release_material(body: ReleaseCreate, request: Request) -> JSONResponse:
    """Release received material from the QC hold to raw stock (pending_qc -> approved)."""
    return run_command(request, lambda uow: service.release_material(uow, body), status_code=201)


@router.post(
    "/stock/transfers",
    status_code=201,
    response_model=MovementOut,
    dependencies=[Depends(require_permission(Action.STOCK_MOVE))],
)
def transfer_stock(body: TransferCreate, request: Request) -> JSONResponse:
    """Move approved stock of one lot from one storage location to another."""
    return run_command(request, lambda uow: service.transfer_stock(uow, body), status_code=201)


@router.post(
    "/stock/adjustments",
    status_code=201,
    response_model=MovementOut,
    dependencies=[Depends(require_permission(Action.STOCK_ADJUST))],
)
def adjust_stock(body: AdjustmentCreate, request: Request) -> JSONResponse:
    """Correct a balance after a count (qty_counted) or by a known change (qty_delta), with a
    reason; publishes StockAdjusted with the value of the change."""
    return run_command(request, lambda uow: service.adjust_stock(uow, body), status_code=201)
