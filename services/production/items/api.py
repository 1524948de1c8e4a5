"""HTTP API of production's item read model: the items production can make or consume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.production.items import service
from services.production.items.schemas import KnownItemOut
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.web.commands import runtime_of
from shared.web.pagination import Page, PageParams, page_params
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["items"])

ItemReader = Annotated[TokenClaims, Depends(require_permission(Action.ITEMS_READ))]


@router.get("/items", response_model=Page[KnownItemOut])
def list_items(
    request: Request,
    _: ItemReader,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = True,
) -> Page[KnownItemOut]:
    """The items production knows (from inventory's events); `q` finds part of a SKU or name."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_known_items(uow, page, q, active)


@router.get("/items/{sku}", response_model=KnownItemOut)
def get_item(sku: str, request: Request, _: ItemReader) -> KnownItemOut:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.get_known_item(uow, sku)
