"""HTTP API of the scrap reason codes: everyone reads them (the run and QC forms list them);
admin adds, deactivates and reactivates (production.scrap_codes.manage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.production.scrap import service
from services.production.scrap.domain import ScrapCategory
from services.production.scrap.schemas import ScrapCodeCreate, ScrapCodeOut
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.web.commands import run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["scrap-codes"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.PRODUCTION_ORDERS_READ))]
Manager = Annotated[TokenClaims, Depends(require_permission(Action.SCRAP_CODES_MANAGE))]


@router.get("/scrap-codes", response_model=Page[ScrapCodeOut])
def list_scrap_codes(
    request: Request,
    _: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    sort: Annotated[str | None, Depends(sort_param)],
    category: ScrapCategory | None = None,
    active: bool | None = None,
) -> Page[ScrapCodeOut]:
    """The scrap reason codes, by category then code; `sort` is code, category or active."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_scrap_codes(uow, page, category, active, sort)


@router.get("/scrap-codes/{code}", response_model=ScrapCodeOut)
def get_scrap_code(code: str, request: Request, _: Reader) -> ScrapCodeOut:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.get_scrap_code(uow, code)


@router.post("/scrap-codes", status_code=201, response_model=ScrapCodeOut)
def create_scrap_code(body: ScrapCodeCreate, request: Request, _: Manager) -> JSONResponse:
    return run_command(request, lambda uow: service.create_scrap_code(uow, body), status_code=201)


@router.post("/scrap-codes/{code}/deactivate", response_model=ScrapCodeOut)
def deactivate_scrap_code(code: str, request: Request, _: Manager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_scrap_code_active(uow, code, False))


@router.post("/scrap-codes/{code}/reactivate", response_model=ScrapCodeOut)
def reactivate_scrap_code(code: str, request: Request, _: Manager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_scrap_code_active(uow, code, True))
