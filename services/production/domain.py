"""BOM rules on plain values (issue 6): versions, explosion to raw requirements, where-used, and
the refusal of a BOM that contains itself at any depth.

No database here: `service.py` (to come) loads the released BOMs it needs into a mapping from
product SKU to `Bom` and asks these functions. Quantities are exact `Decimal`s; an exploded
requirement is rounded *up* to four places at the end, so a job is never issued less material
than its BOM asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from shared.i18n import _
from shared.values import FOUR_PLACES
from shared.web.problems import Conflict, InvalidInput


class BomStatus(StrEnum):
    DRAFT = "draft"
    RELEASED = "released"
    OBSOLETE = "obsolete"


# Which status each may move to; a released version becomes obsolete when another is released.
BOM_TRANSITIONS: Mapping[BomStatus, frozenset[BomStatus]] = {
    BomStatus.DRAFT: frozenset({BomStatus.RELEASED, BomStatus.OBSOLETE}),
    BomStatus.RELEASED: frozenset({BomStatus.OBSOLETE}),
    BomStatus.OBSOLETE: frozenset(),
}


@dataclass(frozen=True)
class BomLine:
    component_sku: str
    qty_per: Decimal  # of the component, per one unit of the product
    uom: str
    # Extra the component loses in making (0.05: 5 % more is issued than the product holds).
    scrap_factor: Decimal = Decimal(0)

    def gross_per_unit(self) -> Decimal:
        return self.qty_per * (1 + self.scrap_factor)


@dataclass(frozen=True)
class Bom:
    product_sku: str
    version: int
    status: BomStatus
    lines: tuple[BomLine, ...]


def check_transition(current: BomStatus, wanted: BomStatus) -> None:
    if wanted not in BOM_TRANSITIONS[current]:
        raise Conflict(
            _(
                "A BOM version that is {current} cannot become {wanted}.",
                current=current.value,
                wanted=wanted.value,
            ),
            field="status",
            code="bom_transition",
        )


def check_lines(product_sku: str, lines: Iterable[BomLine]) -> None:
    """A BOM's own lines: positive quantities, a scrap factor in [0, 1), no duplicate component,
    and not the product itself."""
    seen: set[str] = set()
    for index, line in enumerate(lines):
        field = f"lines.{index}"
        if line.component_sku == product_sku:
            raise InvalidInput(
                _("A BOM cannot list its own product {sku}.", sku=product_sku),
                field=f"{field}.component_sku",
                code="bom_cycle",
            )
        if line.component_sku in seen:
            raise InvalidInput(
                _("{sku} is listed twice: give it one line.", sku=line.component_sku),
                field=f"{field}.component_sku",
            )
        seen.add(line.component_sku)
        if line.qty_per <= 0:
            raise InvalidInput(_("Must be greater than {gt}.", gt=0), field=f"{field}.qty_per")
        if not Decimal(0) <= line.scrap_factor < 1:
            raise InvalidInput(
                _("The scrap factor is a fraction from 0 up to (not including) 1."),
                field=f"{field}.scrap_factor",
            )


def find_cycle(product_sku: str, boms: Mapping[str, Bom]) -> list[str] | None:
    """The path by which `product_sku` contains itself through `boms` (product -> its BOM to
    use), e.g. ['A', 'B', 'C', 'A'], or None when it does not."""
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(sku: str) -> list[str] | None:
        if sku in on_path:
            return [*path[path.index(sku) :], sku]
        if sku in done or sku not in boms:
            return None
        path.append(sku)
        on_path.add(sku)
        for line in boms[sku].lines:
            cycle = visit(line.component_sku)
            if cycle is not None:
                return cycle
        path.pop()
        on_path.discard(sku)
        done.add(sku)
        return None

    return visit(product_sku)


def refuse_cycle(candidate: Bom, released: Mapping[str, Bom]) -> None:
    """Refuse `candidate` when, with the other products' released BOMs, it contains itself."""
    cycle = find_cycle(candidate.product_sku, {**released, candidate.product_sku: candidate})
    if cycle is not None:
        raise Conflict(
            _("This BOM contains itself: {path}.", path=" → ".join(cycle)),
            field="lines",
            code="bom_cycle",
        )


def explode(product_sku: str, qty: Decimal, boms: Mapping[str, Bom]) -> dict[str, Decimal]:
    """What making `qty` of `product_sku` needs, flattened to the items that have no BOM of
    their own (raw, bought, customer-supplied), scrap factors applied at every level."""
    if qty <= 0:
        raise InvalidInput(_("Must be greater than {gt}.", gt=0), field="qty")
    cycle = find_cycle(product_sku, boms)
    if cycle is not None:
        raise Conflict(
            _("This BOM contains itself: {path}.", path=" → ".join(cycle)), code="bom_cycle"
        )
    if product_sku not in boms:
        raise InvalidInput(
            _("{sku} has no released BOM.", sku=product_sku), field="product_sku", code="no_bom"
        )
    totals: dict[str, Decimal] = {}

    def add(sku: str, needed: Decimal) -> None:
        bom = boms.get(sku)
        if bom is None:
            totals[sku] = totals.get(sku, Decimal(0)) + needed
            return
        for line in bom.lines:
            add(line.component_sku, needed * line.gross_per_unit())

    add(product_sku, qty)
    return {
        sku: total.quantize(FOUR_PLACES, rounding=ROUND_CEILING) for sku, total in totals.items()
    }


def where_used(component_sku: str, boms: Mapping[str, Bom]) -> dict[str, int]:
    """Every product whose BOM uses `component_sku`, directly (1) or through others (2, 3, …),
    each at the shallowest level it is found."""
    parents: dict[str, set[str]] = {}
    for product, bom in boms.items():
        for line in bom.lines:
            parents.setdefault(line.component_sku, set()).add(product)
    levels: dict[str, int] = {}
    frontier, level = {component_sku}, 0
    while frontier:
        level += 1
        found = {p for sku in frontier for p in parents.get(sku, ()) if p not in levels}
        found.discard(component_sku)
        for product in found:
            levels[product] = level
        frontier = found
    return levels
