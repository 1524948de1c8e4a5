"""`POST /api/v1/purchase-orders/suggestions`: the MRP's "suggest purchases" (docs/purchasing.md
"Purchase suggestions"). Those `purchasing.orders.suggest` names (planners, buyers,
supervisors) may call it; the MRP calls it as the planner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.purchasing.suggestions import service
from services.purchasing.suggestions.schemas import (
    PurchaseSuggestionRequest,
    PurchaseSuggestionsOut,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.web.commands import run_command, runtime_of
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["purchasing-suggestions"])

Suggester = Annotated[TokenClaims, Depends(require_permission(Action.PURCHASE_SUGGEST))]


@router.post("/purchase-orders/suggestions", status_code=201, response_model=PurchaseSuggestionsOut)
def suggest_purchase_orders(
    body: PurchaseSuggestionRequest, request: Request, _: Suggester
) -> JSONResponse:
    """Shortages in, draft purchase orders out: one per preferred vendor, each SKU's lines
    merged and rounded up to the vendor item's MOQ and order multiple, due by the need date
    (or today plus the lead time). `unplaced` lists what could not be ordered and why; when
    nothing can be, 422 naming `lines` and nothing is created. Honours Idempotency-Key."""
    today = plant_today(runtime_of(request).settings)
    return run_command(
        request, lambda uow: service.suggest_purchases(uow, body, today), status_code=201
    )
