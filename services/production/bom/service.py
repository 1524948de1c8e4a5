"""BOM use cases: draft versions, release (one released version per product), obsolete, lists,
and the explosion and where-used that orders and planners ask of the released BOMs.

Every use case takes an open unit of work and leaves the commit to its caller. The released BOMs
an explosion needs are loaded level by level (one query per level, all the products of that
level at once), so a five-level BOM costs five queries, not one per sub-assembly.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select

from services.production.bom.domain import Bom, BomLine, BomStatus, explode
from services.production.bom.models import BomLineRow, BomVersion
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.problems import Conflict

HUNDRED = Decimal(100)
# Products per IN (...) list: far below every driver's limit on bound parameters.
IN_CHUNK = 5000


class NoReleasedBom(Conflict):
    """The product has no released BOM version (so it cannot be made or exploded)."""

    def __init__(self, sku: str) -> None:
        super().__init__(
            _("{sku} has no released BOM.", sku=sku), field="sku", code="no_released_bom"
        )
        self.sku = sku


def requirements_for(
    uow: UnitOfWork, sku: str, qty: Decimal
) -> tuple[int, list[tuple[str, Decimal]]]:
    """The version of `sku`'s released BOM, and what making `qty` of it needs of each leaf item
    (one without a released BOM of its own) at all levels, scrap applied, exact and rounded up
    to four places; sorted by component SKU. `NoReleasedBom` when `sku` has no released BOM."""
    boms = released_boms_below(uow, sku)
    if sku not in boms:
        raise NoReleasedBom(sku)
    needs = explode(sku, qty, boms)
    return boms[sku].version, sorted(needs.items())


_RELEASED_LINES = (
    select(
        BomVersion.product_sku,
        BomVersion.version,
        BomVersion.output_qty,
        BomLineRow.component_sku,
        BomLineRow.qty_per,
        BomLineRow.uom,
        BomLineRow.scrap_pct,
    )
    .join(BomLineRow, BomLineRow.bom_id == BomVersion.id)
    .where(BomVersion.status == BomStatus.RELEASED.value)
    .order_by(BomVersion.product_sku, BomLineRow.line_no)
)


def released_boms_below(uow: UnitOfWork, sku: str) -> dict[str, Bom]:
    """The released BOM of `sku` and of every sub-assembly under it, by product SKU."""
    boms: dict[str, Bom] = {}
    seen = {sku}
    frontier: set[str] = {sku}
    while frontier:
        found = _released_boms_of(uow, frontier)
        boms.update(found)
        frontier = {
            line.component_sku
            for bom in found.values()
            for line in bom.lines
            if line.component_sku not in seen
        }
        seen |= frontier
    return boms


def _released_boms_of(uow: UnitOfWork, skus: Iterable[str]) -> dict[str, Bom]:
    wanted = sorted(skus)
    headers: dict[str, tuple[int, Decimal]] = {}
    lines: dict[str, list[BomLine]] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        rows = uow.session.execute(_RELEASED_LINES.where(BomVersion.product_sku.in_(chunk)))
        for product, version, output_qty, component, qty_per, uom, scrap_pct in rows:
            headers[product] = (version, output_qty)
            lines.setdefault(product, []).append(
                BomLine(component, qty_per, uom, scrap_pct / HUNDRED)
            )
    return {
        product: Bom(product, version, BomStatus.RELEASED, tuple(lines[product]), output_qty)
        for product, (version, output_qty) in headers.items()
    }
