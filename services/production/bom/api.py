"""HTTP API of BOMs under /api/v1/boms: versions (draft -> released -> obsolete, one released
per product), the released BOM of a product, its explosion and where-used."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.production.bom import service
from services.production.bom.domain import BomStatus
from services.production.bom.schemas import (
    BomContent,
    BomCreate,
    BomOut,
    BomSummaryOut,
    ExplosionOut,
    WhereUsedAnswer,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.i18n import _
from shared.web.commands import new_uow, run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission
from shared.web.xlsx import workbook_response

router = APIRouter(prefix="/api/v1", tags=["boms"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.BOMS_READ))]
Writer = Annotated[TokenClaims, Depends(require_permission(Action.BOMS_WRITE))]
Pages = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]
SkuFilter = Annotated[str | None, Query(max_length=64)]
Search = Annotated[str | None, Query(max_length=100)]
Version = Annotated[int, Path(ge=1, le=1_000_000)]
ExplodedQty = Annotated[Decimal, Query(gt=0, max_digits=18, decimal_places=4)]


@router.post("/boms", status_code=201, response_model=BomOut)
def create_bom(body: BomCreate, request: Request, user: Writer) -> JSONResponse:
    """A new draft version of a product's BOM (numbered after its last version)."""
    return run_command(
        request, lambda uow: service.create_draft(uow, body, user.user), status_code=201
    )


@router.get("/boms", response_model=Page[BomSummaryOut])
def list_boms(
    request: Request,
    _user: Reader,
    page: Pages,
    sort: Sort,
    sku: SkuFilter = None,
    status: BomStatus | None = None,
    q: Search = None,
) -> Page[BomSummaryOut]:
    """BOM versions; `sku` one product's, `q` part of a SKU; `sort` is sku, version, status,
    line_count, created_at, updated_at or released_at (a leading '-' for descending)."""
    with new_uow(request) as uow:
        return service.list_boms(uow, page, sku, status, q, sort)


@router.get("/boms.xlsx", response_class=Response)
def export_boms(
    request: Request,
    _user: Reader,
    sort: Sort,
    sku: SkuFilter = None,
    status: BomStatus | None = None,
    q: Search = None,
) -> Response:
    """The same list, every page of it, as a workbook."""
    headers = [
        _("SKU"),
        _("Version"),
        _("Status"),
        _("Output qty"),
        _("UoM"),
        _("Lines"),
        _("Released at"),
        _("Released by"),
        _("Updated at"),
        _("Updated by"),
        _("Notes"),
    ]
    with new_uow(request) as uow:
        return workbook_response(
            "boms",
            str(_("BOMs")),
            [str(header) for header in headers],
            service.export_rows(uow, sku, status, q, sort),
            timezone=runtime_of(request).settings.plant_timezone,
        )


@router.get("/boms/{sku}", response_model=BomOut)
def get_released_bom(sku: str, request: Request, _user: Reader) -> BomOut:
    """The product's released version."""
    with new_uow(request) as uow:
        return service.get_released(uow, sku)


@router.get("/boms/{sku}/versions/{version}", response_model=BomOut)
def get_bom_version(sku: str, version: Version, request: Request, _user: Reader) -> BomOut:
    with new_uow(request) as uow:
        return service.get_version(uow, sku, version)


@router.put("/boms/{sku}/versions/{version}", response_model=BomOut)
def update_bom(
    sku: str, version: Version, body: BomContent, request: Request, user: Writer
) -> JSONResponse:
    """Replace a draft's lines (and output quantity, unit, notes)."""
    return run_command(
        request, lambda uow: service.update_draft(uow, sku, version, body, user.user)
    )


@router.post("/boms/{sku}/versions/{version}/release", response_model=BomOut)
def release_bom(sku: str, version: Version, request: Request, user: Writer) -> JSONResponse:
    """Release a draft; the product's previously released version becomes obsolete."""
    return run_command(request, lambda uow: service.release(uow, sku, version, user.user))


@router.post("/boms/{sku}/versions/{version}/obsolete", response_model=BomOut)
def obsolete_bom(sku: str, version: Version, request: Request, user: Writer) -> JSONResponse:
    return run_command(request, lambda uow: service.make_obsolete(uow, sku, version, user.user))


@router.get("/boms/{sku}/explosion", response_model=ExplosionOut, response_class=Response)
def explode_bom(
    sku: str,
    request: Request,
    _user: Reader,
    qty: ExplodedQty = Decimal(1),
    tree: bool = True,
    levels: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Response:
    """What making `qty` of the product needs through the released BOMs at every level: the
    total per leaf item and (unless `tree=false`) the indented BOM with each row's quantity,
    down to `levels` levels (all by default), cut at 5,000 rows (`tree_truncated`)."""
    with new_uow(request) as uow:
        answer = service.explosion(uow, sku, qty, tree=tree, levels=levels)
    # Written by pydantic-core straight away: thousands of rows the service has just built
    # need no second validation on the way out.
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get("/boms/{sku}/where-used", response_model=WhereUsedAnswer)
def where_used(sku: str, request: Request, _user: Reader) -> WhereUsedAnswer:
    """Every product that uses the item, at every level, by each path (released BOMs)."""
    with new_uow(request) as uow:
        return service.where_used(uow, sku)
