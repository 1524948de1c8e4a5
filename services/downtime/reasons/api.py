"""HTTP API of the downtime service's reasons (docs/downtime.md): everyone reads the list and
the tree; supervisors and admin manage them (downtime.reasons.manage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from services.downtime.reasons import service
from services.downtime.reasons.schemas import (
    ReasonCreate,
    ReasonNodeOut,
    ReasonOut,
    ReasonUpdate,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.web.commands import run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["downtime-reasons"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.DOWNTIME_READ))]
Manager = Annotated[TokenClaims, Depends(require_permission(Action.DOWNTIME_REASONS_MANAGE))]
CodeFilter = Annotated[str | None, Query(max_length=32)]


@router.get("/reasons", response_model=Page[ReasonOut])
def list_reasons(
    request: Request,
    _: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    sort: Annotated[str | None, Depends(sort_param)],
    facility_code: CodeFilter = None,
    active: bool | None = None,
    parent_code: CodeFilter = None,
) -> Page[ReasonOut]:
    """The reasons as a flat list, each with its `path` ('Mechanical / Nozzle / Clogged') and
    `depth`; in tree order by default, or by `sort` (path, code, name, sort_order, depth,
    planned, active)."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_reasons(uow, page, facility_code, active, parent_code, sort)


@router.get("/reasons/{code}", response_model=ReasonOut)
def get_reason(code: str, request: Request, _: Reader) -> ReasonOut:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.get_reason(uow, code)


@router.get("/facilities/{code}/reason-tree", response_model=list[ReasonNodeOut])
def reason_tree(code: str, request: Request, _: Reader, active: bool = True) -> list[ReasonNodeOut]:
    """The facility's reasons nested under their parents, by sort order then name. With
    `active` (the default), what the tablet offers: active reasons under active parents."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.reason_tree(uow, code, active)


@router.post("/reasons", status_code=201, response_model=ReasonOut)
def create_reason(body: ReasonCreate, request: Request, _: Manager) -> JSONResponse:
    return run_command(request, lambda uow: service.create_reason(uow, body), status_code=201)


@router.patch("/reasons/{code}", response_model=ReasonOut)
def update_reason(code: str, body: ReasonUpdate, request: Request, _: Manager) -> JSONResponse:
    return run_command(request, lambda uow: service.update_reason(uow, code, body))


@router.post("/reasons/{code}/deactivate", response_model=ReasonOut)
def deactivate_reason(code: str, request: Request, _: Manager) -> JSONResponse:
    """Deactivate a reason: it and every reason under it can no longer be chosen."""
    return run_command(request, lambda uow: service.set_reason_active(uow, code, False))


@router.post("/reasons/{code}/reactivate", response_model=ReasonOut)
def reactivate_reason(code: str, request: Request, _: Manager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_reason_active(uow, code, True))


@router.delete("/reasons/{code}", status_code=204, response_class=Response)
def delete_reason(code: str, request: Request, _: Manager) -> Response:
    """Delete a reason never used and with nothing under it; else 409 `reason_in_use`."""
    run_command(request, lambda uow: service.delete_reason(uow, code), status_code=204)
    return Response(status_code=204)
