"""BOM rules on plain values (issue 6): versions, explosion to raw requirements (flattened and
as an indented tree), where-used, and the refusal of a BOM that contains itself at any depth.

No database here: `service.py` loads the released BOMs it needs into a mapping from product SKU
to `Bom` and asks these functions. Quantities are exact `Decimal`s; an exploded requirement is
rounded *up* to four places at the end, so a job is never issued less material than its BOM
asks for.

A BOM's lines make `output_qty` units of its product (a sheet of 12 labels, a batch of 5 kg):
one unit needs `qty_per / output_qty` of each component, plus its scrap.

The explosion walks each product once, parents before their components (a topological order),
carrying the summed demand down: a sub-assembly used in a hundred places is exploded once, so
the work grows with the number of BOM lines reached, not with the number of paths through them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from enum import StrEnum
from typing import NamedTuple

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


# Digits of the explosion's arithmetic: a BOM making 3 units divides by 3, so the figures are
# not exact decimals; with 40 digits the error is ~1e-26 of a 1e14 quantity, and a requirement
# is first rounded to 12 places (wiping that noise out: 2/3 x 3 is 2, not 2.0001) and then up.
EXPLOSION_DIGITS = 40
NOISE = Decimal("1e-12")


class BomLine(NamedTuple):
    # A named tuple rather than a dataclass: an explosion loads ten thousand of them.
    component_sku: str
    qty_per: Decimal  # of the component, per `output_qty` of the product
    uom: str
    # Extra the component loses in making (0.05: 5 % more is issued than the product holds).
    scrap_factor: Decimal = Decimal(0)


def _per_unit(qty_per: Decimal, scrap_factor: Decimal, output_qty: Decimal) -> Decimal:
    gross = qty_per * (1 + scrap_factor) if scrap_factor else qty_per
    return gross if output_qty == 1 else gross / output_qty


@dataclass(frozen=True)
class Bom:
    product_sku: str
    version: int
    status: BomStatus
    lines: tuple[BomLine, ...]
    output_qty: Decimal = Decimal(1)  # units of the product the lines make

    # (component, how much of it one unit of the product takes, scrap included), per line.
    factors: tuple[tuple[str, Decimal], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        output_qty = self.output_qty
        factors = []
        with localcontext() as ctx:
            ctx.prec = EXPLOSION_DIGITS
            for component, qty_per, _uom, scrap_factor in self.lines:
                gross = qty_per * (1 + scrap_factor) if scrap_factor else qty_per
                factors.append((component, gross if output_qty == 1 else gross / output_qty))
        object.__setattr__(self, "factors", tuple(factors))

    def needs(self, line: BomLine, units: Decimal) -> Decimal:
        """How much of `line`'s component making `units` of the product takes."""
        with localcontext() as ctx:
            ctx.prec = EXPLOSION_DIGITS
            return units * _per_unit(line.qty_per, line.scrap_factor, self.output_qty)


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


def explode(
    product_sku: str,
    qty: Decimal,
    boms: Mapping[str, Bom],
    order: Sequence[str] | None = None,
) -> dict[str, Decimal]:
    """What making `qty` of `product_sku` needs, flattened to the items that have no BOM of
    their own (raw, bought, customer-supplied), scrap factors applied at every level.

    `order` is `explosion_order(product_sku, boms)`, for a caller that keeps it between
    explosions of the same BOMs."""
    _check_explosion(product_sku, qty, boms)
    if order is None:
        order = explosion_order(product_sku, boms)
    demand: dict[str, Decimal] = {product_sku: qty}
    totals: dict[str, Decimal] = {}
    zero = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = EXPLOSION_DIGITS
        for sku in order:
            needed = demand.pop(sku)
            bom = boms.get(sku)
            if bom is None:
                totals[sku] = needed
                continue
            for component, factor in bom.factors:
                demand[component] = demand.get(component, zero) + needed * factor
        return {
            sku: total.quantize(NOISE, rounding=ROUND_HALF_EVEN).quantize(
                FOUR_PLACES, rounding=ROUND_CEILING
            )
            for sku, total in totals.items()
        }


def explosion_order(product_sku: str, boms: Mapping[str, Bom]) -> tuple[str, ...]:
    """Every item below `product_sku` (itself first), each after every product above it
    (Kahn's topological order), so an explosion passes each item's whole demand down once.
    A BOM that contains itself has no such order and is refused, with its path."""
    parents = _parent_counts(product_sku, boms)
    if parents[product_sku]:  # a line below lists the product itself
        _refuse_loop(product_sku, boms)
    order: list[str] = []
    ready = [product_sku]
    while ready:
        sku = ready.pop()
        order.append(sku)
        bom = boms.get(sku)
        if bom is None:
            continue
        for component, _factor in bom.factors:
            left = parents[component] - 1
            parents[component] = left
            if not left:
                ready.append(component)
    if len(order) < len(parents):  # some item never became ready: it is on a loop
        _refuse_loop(product_sku, boms)
    return tuple(order)


def _parent_counts(product_sku: str, boms: Mapping[str, Bom]) -> dict[str, int]:
    """For every item below `product_sku`, how many BOM lines reachable from it list the item."""
    counts: dict[str, int] = {product_sku: 0}
    queue = [product_sku]
    for sku in queue:
        bom = boms.get(sku)
        if bom is None:
            continue
        for component, _factor in bom.factors:
            if component in counts:
                counts[component] += 1
            else:
                counts[component] = 1
                queue.append(component)
    return counts


def _refuse_loop(product_sku: str, boms: Mapping[str, Bom]) -> None:
    cycle = find_cycle(product_sku, boms)
    raise Conflict(
        _("This BOM contains itself: {path}.", path=" → ".join(cycle or [product_sku])),
        code="bom_cycle",
    )


def round_up(qty: Decimal) -> Decimal:
    """Up to four places, after the noise of the arithmetic is rounded away."""
    with localcontext() as ctx:
        ctx.prec = EXPLOSION_DIGITS
        clean = qty.quantize(NOISE, rounding=ROUND_HALF_EVEN)
    return clean.quantize(FOUR_PLACES, rounding=ROUND_CEILING)


@dataclass(frozen=True)
class TreeRow:
    """One line of the indented explosion: `sku` at `level` (1 = a component of the product
    itself) under `parent_sku`, and what the exploded quantity takes of it (rounded up)."""

    level: int
    parent_sku: str
    sku: str
    qty_per: Decimal
    uom: str
    scrap_factor: Decimal
    qty: Decimal
    has_bom: bool


@dataclass(frozen=True)
class ExplosionTree:
    rows: tuple[TreeRow, ...]
    # True when `max_rows` cut it short: a BOM whose sub-assemblies are shared widely has far
    # more rows (one per path) than lines, and nobody reads half a million of them.
    truncated: bool


def explosion_tree(
    product_sku: str,
    qty: Decimal,
    boms: Mapping[str, Bom],
    *,
    max_levels: int | None = None,
    max_rows: int | None = None,
) -> ExplosionTree:
    """The indented multi-level BOM of `qty` of `product_sku`, depth first in line order: each
    component under its parent with the quantity that parent's quantity needs of it; down to
    `max_levels` levels, and at most `max_rows` rows."""
    _check_explosion(product_sku, qty, boms)
    if find_cycle(product_sku, boms) is not None:
        _refuse_loop(product_sku, boms)
    # An explicit stack rather than recursion: a deep BOM cannot hit Python's recursion limit.
    rows: list[TreeRow] = []
    stack: list[tuple[int, str, BomLine, Decimal]] = []

    def push_components(level: int, sku: str, needed: Decimal) -> None:
        bom = boms[sku]
        for line in reversed(bom.lines):
            stack.append((level + 1, sku, line, bom.needs(line, needed)))

    push_components(0, product_sku, qty)
    while stack:
        if max_rows is not None and len(rows) >= max_rows:
            return ExplosionTree(tuple(rows), truncated=True)
        level, parent, line, needed = stack.pop()
        has_bom = line.component_sku in boms
        rows.append(
            TreeRow(
                level=level,
                parent_sku=parent,
                sku=line.component_sku,
                qty_per=line.qty_per,
                uom=line.uom,
                scrap_factor=line.scrap_factor,
                qty=round_up(needed),
                has_bom=has_bom,
            )
        )
        if has_bom and (max_levels is None or level < max_levels):
            push_components(level, line.component_sku, needed)
    return ExplosionTree(tuple(rows), truncated=False)


def _check_explosion(product_sku: str, qty: Decimal, boms: Mapping[str, Bom]) -> None:
    if qty <= 0:
        raise InvalidInput(_("Must be greater than {gt}.", gt=0), field="qty")
    if product_sku not in boms:
        raise InvalidInput(
            _("{sku} has no released BOM.", sku=product_sku), field="product_sku", code="no_bom"
        )


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


def where_used_paths(component_sku: str, boms: Mapping[str, Bom]) -> list[tuple[str, ...]]:
    """Every chain by which a product uses `component_sku`: ('INSERT', 'BRKT') for the bracket
    that lists it, ('INSERT', 'BRKT', 'KIT') for the kit above it, and so on to the top; the
    product a path ends at is a parent at level len(path) - 1. Depth first, sorted by SKU."""
    parents: dict[str, set[str]] = {}
    for product, bom in boms.items():
        for line in bom.lines:
            parents.setdefault(line.component_sku, set()).add(product)
    paths: list[tuple[str, ...]] = []
    stack: list[tuple[str, ...]] = [(component_sku,)]
    while stack:
        path = stack.pop()
        if len(path) > 1:
            paths.append(path)
        for parent in sorted(parents.get(path[-1], ()), reverse=True):
            if parent not in path:  # released BOMs have no cycle; a guard costs nothing
                stack.append((*path, parent))
    return paths
