"""HTTP API of this package (see its __init__): both questions of a recall, one call each.

A lot code is whatever the vendor printed, "2026/03-A" included: the lot is a `path` parameter,
so a lot with a slash (sent as %2F or as is) still reaches its genealogy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from services.inventory.genealogy import service
from services.inventory.genealogy.schemas import LotSourcesOut, LotUsesOut
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.web.commands import new_uow
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["genealogy"])

StockReader = Annotated[TokenClaims, Depends(require_permission(Action.STOCK_READ))]
SkuPath = Annotated[str, Path(max_length=64)]
LotPath = Annotated[str, Path(max_length=64)]


@router.get("/genealogy/lots/{sku}/{lot:path}/sources", response_model=LotSourcesOut)
def lot_sources(sku: SkuPath, lot: LotPath, request: Request, _: StockReader) -> LotSourcesOut:
    """What went into this lot: the orders that made it, the component lots issued to them (down
    through sub-assemblies), and each purchased lot's vendor, purchase order and receipts."""
    with new_uow(request) as uow:
        return service.lot_sources(uow, sku, lot)


@router.get("/genealogy/lots/{sku}/{lot:path}/uses", response_model=LotUsesOut)
def lot_uses(sku: SkuPath, lot: LotPath, request: Request, _: StockReader) -> LotUsesOut:
    """Where this lot went: the orders it was issued to, the lots they made (up through the
    assemblies made of those), where those are now, and the shipments and customers."""
    with new_uow(request) as uow:
        return service.lot_uses(uow, sku, lot)
