"""HTTP API of production orders' material: the per-order material summary, one or many."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.inventory.wip import materials
from services.inventory.wip.schemas import OrderMaterialsOut, OrdersMaterialsOut
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.i18n import _
from shared.web.commands import runtime_of
from shared.web.problems import InvalidInput
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["wip"])

StockReader = Annotated[TokenClaims, Depends(require_permission(Action.STOCK_READ))]
MAX_ORDERS = 500
MAX_CODE = 64


@router.get("/production-orders/materials", response_model=OrdersMaterialsOut)
def list_order_materials(
    request: Request,
    _reader: StockReader,
    order: Annotated[list[str], Query(description="Order codes, repeated")],
) -> OrdersMaterialsOut:
    """The material summaries of many orders at once (`?order=A&order=B`), in the order asked."""
    codes = [code.strip() for code in order]
    if len(codes) > MAX_ORDERS:
        raise InvalidInput(
            _("At most {count} orders at once.", count=MAX_ORDERS), field="query.order"
        )
    if any(not code or len(code) > MAX_CODE for code in codes):
        raise InvalidInput(
            _("An order code is 1 to {length} characters.", length=MAX_CODE), field="query.order"
        )
    with runtime_of(request).uow(read_only=True) as uow:
        return OrdersMaterialsOut(orders=materials.order_materials(uow, codes))


@router.get("/production-orders/{code}/materials", response_model=OrderMaterialsOut)
def get_order_materials(
    code: Annotated[str, Path(min_length=1, max_length=MAX_CODE)],
    request: Request,
    _reader: StockReader,
) -> OrderMaterialsOut:
    """Per component and lot: reserved, issued, returned, relieved, in WIP; the output received
    and inspected; the WIP value left. An order inventory knows nothing of is `not_started`."""
    with runtime_of(request).uow(read_only=True) as uow:
        return materials.order_materials(uow, [code])[0]
