"""BOM use cases: draft versions, release (one released version per product), obsolete, lists,
and the explosion and where-used that orders and planners ask of the released BOMs.

Every use case takes an open unit of work and leaves the commit to its caller. The released BOMs
an explosion needs are read in one query (a recursive CTE walking down from the product), and
each process keeps what it read until the BOM revision moves (`released_structure`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Numeric, Select, and_, func, select, type_coerce

from services.production.bom import domain
from services.production.bom.domain import Bom, BomLine, BomStatus, explode, explosion_order
from services.production.bom.models import BomLineRow, BomRevision, BomVersion
from services.production.bom.schemas import (
    BomContent,
    BomCreate,
    BomLineOut,
    BomOut,
    BomSummaryOut,
    ExplosionOut,
    WhereUsedAnswer,
    WhereUsedOut,
)
from services.production.items.models import KnownItem
from shared.audit import record_change
from shared.db import dialect_insert
from shared.events.catalogue import BomLine as ReleasedLine
from shared.events.catalogue import BomReleased
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, contains_text, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound

HUNDRED = Decimal(100)
# Rows of an indented explosion at most: a widely shared sub-assembly repeats under every
# parent, so a BOM of 10,000 lines can have hundreds of thousands of paths.
MAX_TREE_ROWS = 5000
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
    released = released_structure(uow, sku)
    if sku not in released.boms:
        raise NoReleasedBom(sku)
    needs = explode(sku, qty, released.boms, released.order_below(sku))
    return released.boms[sku].version, sorted(needs.items())


@dataclass(frozen=True)
class ReleasedBoms:
    """The released BOMs this process has read from one database at one revision (a
    snapshot: it is replaced, never changed, so a reader holding it is never disturbed)."""

    revision: int
    boms: Mapping[str, Bom]
    # The products whose whole structure below is in `boms` (or that have no released BOM).
    complete: frozenset[str]
    # The unit of each component, from the lines that list it.
    uoms: Mapping[str, str]
    # Each exploded product's explosion order, worked out once per snapshot.
    orders: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def order_below(self, sku: str) -> tuple[str, ...]:
        order = self.orders.get(sku)
        if order is None:
            order = self.orders[sku] = explosion_order(sku, self.boms)
        return order


_released_cache: WeakKeyDictionary[Any, ReleasedBoms] = WeakKeyDictionary()
_released_cache_lock = threading.Lock()
_CHANGES_RELEASED = "production.bom.changes_released"


def released_structure(uow: UnitOfWork, sku: str) -> ReleasedBoms:
    """The released BOMs under `sku` (and any others already read at the same revision).

    An explosion reads ten thousand lines that change a few times a week, so each process
    keeps what it read, tagged with the BOM revision it read *before* the lines: a release or
    obsolete in between raises the revision, and the next call reads again. (Read the other way
    round, lines of revision N could be kept as N + 1 and served stale.) One cheap query per
    call checks the revision; every replica sees another's release at its next call."""
    revision = _revision(uow)
    engine = uow.session.get_bind()
    known = _released_cache.get(engine)
    if known is not None and known.revision == revision and sku in known.complete:
        return known
    found = released_boms_below(uow, sku, in_line_order=True)
    if uow.session.info.get(_CHANGES_RELEASED):
        # This transaction changed the released set and has not committed: what it sees is
        # not yet anyone's revision.
        return ReleasedBoms(
            revision=revision,
            boms=found,
            complete=frozenset(found) | {sku},
            uoms={line.component_sku: line.uom for bom in found.values() for line in bom.lines},
        )
    with _released_cache_lock:
        known = _released_cache.get(engine)
        base = known if known is not None and known.revision == revision else None
        merged = ReleasedBoms(
            revision=revision,
            boms={**(base.boms if base else {}), **found},
            complete=(base.complete if base else frozenset()) | found.keys() | {sku},
            uoms={
                **(base.uoms if base else {}),
                **{line.component_sku: line.uom for bom in found.values() for line in bom.lines},
            },
        )
        _released_cache[engine] = merged
    return merged


def forget_released_boms() -> None:
    """Drop what this process keeps of the released BOMs (benchmarks time the reading)."""
    with _released_cache_lock:
        _released_cache.clear()


def _revision(uow: UnitOfWork) -> int:
    revision = uow.session.scalar(select(BomRevision.revision).where(BomRevision.id == 1))
    return int(revision or 0)


def _bump_revision(uow: UnitOfWork) -> None:
    """Count a change to the released set, in the change's transaction (whose own reads of
    the released BOMs are then not kept: it may yet roll back)."""
    uow.session.info[_CHANGES_RELEASED] = True
    table = BomRevision.__table__
    upsert = dialect_insert(uow.session, table).values(id=1, revision=1)
    uow.session.execute(
        upsert.on_conflict_do_update(
            index_elements=[table.c.id], set_={"revision": table.c.revision + 1}
        )
    )


_BOMS = BomVersion.__table__
_LINES = BomLineRow.__table__
_RELEASED = _BOMS.c.status == BomStatus.RELEASED.value
_RELEASED_LINES = (
    select(
        _BOMS.c.product_sku,
        _BOMS.c.version,
        _BOMS.c.output_qty,
        _LINES.c.component_sku,
        _LINES.c.qty_per,
        _LINES.c.uom,
        _LINES.c.scrap_pct,
    )
    .join(_LINES, _LINES.c.bom_id == _BOMS.c.id)
    .where(_RELEASED)
    .order_by(_BOMS.c.product_sku, _LINES.c.line_no)
)
# The same on PostgreSQL, read the cheapest way: NUMERIC comes back as an exact Decimal (no
# SQLite integer encoding to undo), and the scrap percent as the fraction the domain uses
# (a division by 100 is exact in NUMERIC), so ten thousand rows need no work per value.
_NUMERIC = Numeric(40, 20, asdecimal=True)
_RELEASED_LINES_NATIVE = select(
    _BOMS.c.product_sku,
    _BOMS.c.version,
    type_coerce(_BOMS.c.output_qty, _NUMERIC),
    _LINES.c.component_sku,
    type_coerce(_LINES.c.qty_per, _NUMERIC),
    _LINES.c.uom,
    type_coerce(_LINES.c.scrap_pct, _NUMERIC) / 100,
).join_from(_BOMS, _LINES, _LINES.c.bom_id == _BOMS.c.id)
_IN_LINE_ORDER = (_BOMS.c.id, _LINES.c.line_no)


def released_boms_below(uow: UnitOfWork, *skus: str, in_line_order: bool = False) -> dict[str, Bom]:
    """The released BOMs of `skus` and of every sub-assembly under them, by product SKU: one
    query, a recursive CTE that walks down the released BOMs from `skus`. Each BOM's lines in
    line order only when asked (`in_line_order`): the totals do not need the sort."""
    reach = (
        select(_BOMS.c.product_sku.label("sku"))
        .where(_RELEASED, _BOMS.c.product_sku.in_(skus))
        .cte("reach", recursive=True)
    )
    below = _BOMS.alias("below")
    reach = reach.union(
        select(_LINES.c.component_sku)
        .join_from(reach, _BOMS, and_(_BOMS.c.product_sku == reach.c.sku, _RELEASED))
        .join(_LINES, _LINES.c.bom_id == _BOMS.c.id)
        # Only the components that are sub-assemblies: leaves have no lines to load.
        .join(
            below,
            and_(
                below.c.product_sku == _LINES.c.component_sku,
                below.c.status == BomStatus.RELEASED.value,
            ),
        )
    )
    native = uow.session.get_bind().dialect.name == "postgresql"
    query = (
        (_RELEASED_LINES_NATIVE if native else _RELEASED_LINES)
        .where(_RELEASED, _BOMS.c.product_sku.in_(select(reach.c.sku)))
        .order_by(None)
    )
    if in_line_order:
        query = query.order_by(*_IN_LINE_ORDER)
    result = uow.session.execute(query)
    if not native:
        return _as_boms(result.all(), scrap_in_percent=True)
    # The driver's own tuples: no column here needs SQLAlchemy's processing (see above).
    rows = result.cursor.fetchall()  # type: ignore[attr-defined]
    result.close()
    return _as_boms(rows, scrap_in_percent=False)


def _as_boms(rows: Iterable[Any], *, scrap_in_percent: bool) -> dict[str, Bom]:
    headers: dict[str, tuple[int, Decimal]] = {}
    lines: dict[str, list[BomLine]] = {}
    hundred, new_line = HUNDRED, BomLine
    for product, version, output_qty, component, qty_per, uom, scrap in rows:
        found = lines.get(product)
        if found is None:
            headers[product] = (version, output_qty)
            found = lines[product] = []
        if scrap_in_percent and scrap:
            scrap = scrap / hundred
        found.append(new_line(component, qty_per, uom, scrap))
    return {
        product: Bom(product, version, BomStatus.RELEASED, tuple(lines[product]), output_qty)
        for product, (version, output_qty) in headers.items()
    }


# --- the items a BOM may name ------------------------------------------------------------


def known_items(uow: UnitOfWork, skus: Iterable[str]) -> dict[str, KnownItem]:
    """The active items among `skus` that production knows (its read model of inventory's
    item master), by SKU."""
    wanted = sorted(set(skus))
    found: dict[str, KnownItem] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        for item in uow.session.scalars(
            select(KnownItem).where(KnownItem.sku.in_(chunk), KnownItem.active.is_(True))
        ):
            found[item.sku] = item
    return found


# --- drafts --------------------------------------------------------------------------------


def create_draft(uow: UnitOfWork, data: BomCreate, by: str) -> BomOut:
    """A new draft version of `data.sku`'s BOM, numbered after the product's last version."""
    product, items = _checked_items(uow, data.sku, data)
    last = uow.session.scalar(
        select(func.max(BomVersion.version)).where(BomVersion.product_sku == data.sku)
    )
    now = utc_now()
    bom = BomVersion(
        product_sku=data.sku,
        version=(last or 0) + 1,
        status=BomStatus.DRAFT.value,
        created_at=now,
        created_by=by,
        updated_at=now,
        updated_by=by,
    )
    _fill(bom, data, product, items)
    _refuse_cycle(uow, bom)
    uow.session.add(bom)
    uow.session.flush()
    out = bom_out(bom)
    record_change(uow, "production.boms.create", "bom", _entity(bom), None, out)
    return out


def update_draft(uow: UnitOfWork, sku: str, version: int, data: BomContent, by: str) -> BomOut:
    """Replace a draft's lines, output quantity, unit and notes."""
    bom = _version(uow, sku, version, lock=True)
    if bom.status != BomStatus.DRAFT.value:
        raise Conflict(
            _(
                "Version {version} of {sku} is {status}: only a draft can be changed; "
                "create a new version.",
                version=version,
                sku=sku,
                status=bom.status,
            ),
            field="status",
            code="bom_not_draft",
        )
    before = bom_out(bom)
    product, items = _checked_items(uow, sku, data)
    bom.lines.clear()
    uow.session.flush()  # the old lines go before new ones take their numbers
    _fill(bom, data, product, items)
    _refuse_cycle(uow, bom)
    bom.updated_at, bom.updated_by = utc_now(), by
    uow.session.flush()
    out = bom_out(bom)
    record_change(uow, "production.boms.update", "bom", _entity(bom), before, out)
    return out


def _checked_items(
    uow: UnitOfWork, sku: str, data: BomContent
) -> tuple[KnownItem, dict[str, KnownItem]]:
    """The product and the components, each a known active item; the lines' own checks."""
    items = known_items(uow, [sku, *(line.component_sku for line in data.lines)])
    product = items.get(sku)
    if product is None:
        raise InvalidInput(
            _("unknown or inactive item SKU '{sku}'", sku=sku), field="sku", code="unknown_item"
        )
    numbers: set[int] = set()
    for index, line in enumerate(data.lines):
        if line.component_sku not in items:
            raise InvalidInput(
                _("unknown or inactive item SKU '{sku}'", sku=line.component_sku),
                field=f"lines.{index}.component_sku",
                code="unknown_item",
            )
        number = line.line_no or index + 1
        if number in numbers:
            raise InvalidInput(
                _("Line number {line_no} is used twice.", line_no=number),
                field=f"lines.{index}.line_no",
            )
        numbers.add(number)
    domain.check_lines(sku, _domain_lines(data))
    return product, items


def _domain_lines(data: BomContent) -> list[BomLine]:
    return [
        BomLine(line.component_sku, line.qty_per, line.uom or "", line.scrap_pct / HUNDRED)
        for line in data.lines
    ]


def _fill(
    bom: BomVersion, data: BomContent, product: KnownItem, items: dict[str, KnownItem]
) -> None:
    bom.output_qty = data.output_qty
    bom.uom = data.uom or product.uom
    bom.notes = data.notes or None
    bom.lines = [
        BomLineRow(
            line_no=line.line_no or index + 1,
            component_sku=line.component_sku,
            qty_per=line.qty_per,
            uom=line.uom or items[line.component_sku].uom,
            scrap_pct=line.scrap_pct,
            notes=line.notes or None,
        )
        for index, line in enumerate(data.lines)
    ]


def _refuse_cycle(uow: UnitOfWork, bom: BomVersion) -> None:
    """Refuse `bom` if, with the released BOMs of its sub-assemblies, it contains itself."""
    candidate = _as_domain(bom)
    released = released_boms_below(uow, *(line.component_sku for line in candidate.lines))
    domain.refuse_cycle(candidate, released)


# --- release and obsolete ------------------------------------------------------------------


def release(uow: UnitOfWork, sku: str, version: int, by: str) -> BomOut:
    """Release a draft: it becomes the product's one released version (the one released before
    it becomes obsolete, in the same transaction) and BomReleased carries it to its readers.

    The BOM revision is raised first: its row lock makes releases take turns, so two releases
    that would close a loop between them (A listing B, B listing A) cannot both pass the cycle
    check before either has committed; the second sees the first's BOM and is refused."""
    bom = _version(uow, sku, version, lock=True)
    domain.check_transition(BomStatus(bom.status), BomStatus.RELEASED)
    _bump_revision(uow)
    unknown = {line.component_sku for line in bom.lines} - set(
        known_items(uow, [line.component_sku for line in bom.lines])
    )
    if unknown:
        raise Conflict(
            _(
                "{skus}: no longer a known active item; change the draft before releasing it.",
                skus=", ".join(sorted(unknown)),
            ),
            field="lines",
            code="unknown_item",
        )
    _refuse_cycle(uow, bom)
    now = utc_now()
    previous = uow.session.scalar(
        select(BomVersion)
        .where(BomVersion.product_sku == sku, BomVersion.status == BomStatus.RELEASED.value)
        .with_for_update()
    )
    if previous is not None:
        before = bom_out(previous)
        _obsolete(previous, now, by)
        uow.session.flush()  # the old version leaves the one-released index first
        record_change(
            uow, "production.boms.obsolete", "bom", _entity(previous), before, bom_out(previous)
        )
    before = bom_out(bom)
    bom.status = BomStatus.RELEASED.value
    bom.released_at, bom.released_by = now, by
    bom.updated_at, bom.updated_by = now, by
    uow.session.flush()
    uow.add_event(
        BomReleased(
            sku=bom.product_sku,
            bom_version=bom.version,
            output_qty=bom.output_qty,
            lines=tuple(
                ReleasedLine(
                    line_no=line.line_no,
                    component_sku=line.component_sku,
                    qty_per=line.qty_per,
                    scrap_pct=line.scrap_pct,
                )
                for line in bom.lines
            ),
            released_at=now,
        ),
        key=bom.product_sku,
    )
    out = bom_out(bom)
    record_change(uow, "production.boms.release", "bom", _entity(bom), before, out)
    return out


def make_obsolete(uow: UnitOfWork, sku: str, version: int, by: str) -> BomOut:
    """Retire a draft or the released version (the product then has none released)."""
    bom = _version(uow, sku, version, lock=True)
    domain.check_transition(BomStatus(bom.status), BomStatus.OBSOLETE)
    before = bom_out(bom)
    if bom.status == BomStatus.RELEASED.value:
        _bump_revision(uow)
    _obsolete(bom, utc_now(), by)
    uow.session.flush()
    out = bom_out(bom)
    record_change(uow, "production.boms.obsolete", "bom", _entity(bom), before, out)
    return out


def _obsolete(bom: BomVersion, now: Any, by: str) -> None:
    bom.status = BomStatus.OBSOLETE.value
    bom.obsoleted_at, bom.obsoleted_by = now, by
    bom.updated_at, bom.updated_by = now, by


# --- reading ---------------------------------------------------------------------------------


def get_version(uow: UnitOfWork, sku: str, version: int) -> BomOut:
    return bom_out(_version(uow, sku, version))


def get_released(uow: UnitOfWork, sku: str) -> BomOut:
    bom = uow.session.scalar(
        select(BomVersion).where(
            BomVersion.product_sku == sku, BomVersion.status == BomStatus.RELEASED.value
        )
    )
    if bom is None:
        raise NotFound(
            _("{sku} has no released BOM.", sku=sku), field="sku", code="no_released_bom"
        )
    return bom_out(bom)


_LINE_COUNT = (
    select(func.count())
    .where(BomLineRow.bom_id == BomVersion.id)
    .correlate(BomVersion)
    .scalar_subquery()
)
BOM_SORTS: dict[str, Any] = {
    "sku": BomVersion.product_sku,
    "version": BomVersion.version,
    "status": BomVersion.status,
    "line_count": _LINE_COUNT,
    "created_at": BomVersion.created_at,
    "updated_at": BomVersion.updated_at,
    "released_at": BomVersion.released_at,
}


def _list_query(
    sku: str | None, status: BomStatus | None, search: str | None, sort: str | None
) -> Select[Any]:
    query = select(BomVersion, _LINE_COUNT)
    if sku:
        query = query.where(BomVersion.product_sku == sku)
    if status:
        query = query.where(BomVersion.status == status.value)
    if search:
        query = query.where(contains_text(search, BomVersion.product_sku))
    return apply_sort(query, sort, BOM_SORTS, default="sku", tiebreak=BomVersion.id)


def list_boms(
    uow: UnitOfWork,
    page: PageParams,
    sku: str | None = None,
    status: BomStatus | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> Page[BomSummaryOut]:
    """BOM versions, by product and version unless `sort` says otherwise."""
    query = _list_query(sku, status, search, sort)
    return paginate(uow.session, query, page, lambda row: _summary(row[0], row[1]))


def export_rows(
    uow: UnitOfWork,
    sku: str | None = None,
    status: BomStatus | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> Iterator[list[Any]]:
    """The rows of the BOM list as the XLSX export shows them (every page)."""
    for bom, line_count in uow.session.execute(_list_query(sku, status, search, sort)):
        yield [
            bom.product_sku,
            bom.version,
            bom.status,
            bom.output_qty,
            bom.uom,
            line_count,
            bom.released_at,
            bom.released_by,
            bom.updated_at,
            bom.updated_by,
            bom.notes,
        ]


def explosion(
    uow: UnitOfWork,
    sku: str,
    qty: Decimal,
    *,
    tree: bool = True,
    levels: int | None = None,
) -> ExplosionOut:
    """What making `qty` of `sku` needs, through the released BOMs at every level: the total
    per leaf item, and (with `tree`) the indented BOM with each row's quantity, down to
    `levels` levels and at most MAX_TREE_ROWS rows."""
    released = released_structure(uow, sku)
    boms, uoms = released.boms, released.uoms
    if sku not in boms:
        raise NoReleasedBom(sku)
    needs = explode(sku, qty, boms, released.order_below(sku))
    indented = (
        domain.explosion_tree(sku, qty, boms, max_levels=levels, max_rows=MAX_TREE_ROWS)
        if tree
        else None
    )
    # Plain values validated at once by pydantic-core: far cheaper than a model per row.
    return ExplosionOut.model_validate(
        {
            "sku": sku,
            "version": boms[sku].version,
            "qty": qty,
            "uom": _uom_of(uow, sku),
            "requirements": [
                {"sku": component, "qty": needed, "uom": uoms[component]}
                for component, needed in sorted(needs.items())
            ],
            "tree_truncated": indented is not None and indented.truncated,
            "tree": None
            if indented is None
            else [
                {
                    "level": row.level,
                    "parent_sku": row.parent_sku,
                    "sku": row.sku,
                    "qty_per": row.qty_per,
                    "uom": row.uom,
                    "scrap_pct": row.scrap_factor * HUNDRED,
                    "qty": row.qty,
                    "has_bom": row.has_bom,
                }
                for row in indented.rows
            ],
        }
    )


def where_used(uow: UnitOfWork, sku: str) -> WhereUsedAnswer:
    """Every product above `sku` at every level, by each path, through released BOMs."""
    users = _released_users_above(uow, sku)
    parents = []
    for path in domain.where_used_paths(sku, users):
        bom = users[path[-1]]
        line = next(line for line in bom.lines if line.component_sku == path[-2])
        parents.append(
            WhereUsedOut(
                sku=path[-1],
                level=len(path) - 1,
                version=bom.version,
                path=list(path),
                qty_per=line.qty_per,
                uom=line.uom,
            )
        )
    return WhereUsedAnswer(sku=sku, parents=parents)


def _released_users_above(uow: UnitOfWork, sku: str) -> dict[str, Bom]:
    """The released BOMs that use `sku`, or use a product that does, and so on up; each
    holding only its lines that lead to `sku`."""
    found: dict[str, dict[str, Any]] = {}
    seen = {sku}
    frontier = {sku}
    while frontier:
        next_frontier: set[str] = set()
        wanted = sorted(frontier)
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            rows = uow.session.execute(_RELEASED_LINES.where(BomLineRow.component_sku.in_(chunk)))
            for product, version, output_qty, component, qty_per, uom, scrap_pct in rows:
                entry = found.setdefault(
                    product, {"version": version, "output_qty": output_qty, "lines": []}
                )
                entry["lines"].append(BomLine(component, qty_per, uom, scrap_pct / HUNDRED))
                if product not in seen:
                    seen.add(product)
                    next_frontier.add(product)
        frontier = next_frontier
    return {
        product: Bom(
            product,
            entry["version"],
            BomStatus.RELEASED,
            tuple(entry["lines"]),
            entry["output_qty"],
        )
        for product, entry in found.items()
    }


# --- helpers ---------------------------------------------------------------------------------


def _version(uow: UnitOfWork, sku: str, version: int, *, lock: bool = False) -> BomVersion:
    query = select(BomVersion).where(BomVersion.product_sku == sku, BomVersion.version == version)
    bom = uow.session.scalar(query.with_for_update() if lock else query)
    if bom is None:
        raise NotFound(
            _("{sku} has no BOM version {version}.", sku=sku, version=version),
            field="version",
            code="bom_not_found",
        )
    return bom


def _uom_of(uow: UnitOfWork, sku: str) -> str:
    uom = uow.session.scalar(
        select(BomVersion.uom).where(
            BomVersion.product_sku == sku, BomVersion.status == BomStatus.RELEASED.value
        )
    )
    return uom or ""


def _as_domain(bom: BomVersion) -> Bom:
    return Bom(
        bom.product_sku,
        bom.version,
        BomStatus(bom.status),
        tuple(
            BomLine(line.component_sku, line.qty_per, line.uom, line.scrap_pct / HUNDRED)
            for line in bom.lines
        ),
        bom.output_qty,
    )


def _entity(bom: BomVersion) -> str:
    return f"{bom.product_sku} v{bom.version}"


def _summary(bom: BomVersion, line_count: int) -> BomSummaryOut:
    return BomSummaryOut(
        sku=bom.product_sku,
        version=bom.version,
        status=BomStatus(bom.status),
        output_qty=bom.output_qty,
        uom=bom.uom,
        notes=bom.notes,
        line_count=line_count,
        created_at=bom.created_at,
        created_by=bom.created_by,
        updated_at=bom.updated_at,
        updated_by=bom.updated_by,
        released_at=bom.released_at,
        released_by=bom.released_by,
        obsoleted_at=bom.obsoleted_at,
        obsoleted_by=bom.obsoleted_by,
    )


def bom_out(bom: BomVersion) -> BomOut:
    lines: Sequence[BomLineRow] = bom.lines
    return BomOut(
        **_summary(bom, len(lines)).model_dump(),
        lines=[BomLineOut.model_validate(line) for line in lines],
    )
