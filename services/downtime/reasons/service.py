"""Downtime reason use cases: the tree per facility as a list and nested, supervisors adding,
moving, recolouring, deactivating and (when never used) deleting reasons, and the one check
every downtime entry makes (`usable_leaf`).

Trees are small (tens to a few hundred reasons per facility), so a list or a tree is built from
all the reasons concerned in memory: paths, depths and leaves need the whole chain anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from services.downtime.entries.models import Downtime
from services.downtime.plant.models import Facility
from services.downtime.plant.service import facility_row, usable_facility
from services.downtime.reasons.domain import ReasonNode, ReasonTree
from services.downtime.reasons.models import DowntimeReason
from services.downtime.reasons.schemas import (
    ReasonCreate,
    ReasonNodeOut,
    ReasonOut,
    ReasonUpdate,
)
from shared.audit import record_change
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams
from shared.web.problems import Conflict, InvalidInput, NotFound

# ?sort= keys of the flat list; "path" is the tree read top to bottom.
SORTS: dict[str, Callable[[ReasonTree, DowntimeReason], Any]] = {
    "path": lambda tree, row: tree.display_key(row.code),
    "code": lambda tree, row: row.code,
    "name": lambda tree, row: row.name.casefold(),
    "sort_order": lambda tree, row: row.sort_order,
    "depth": lambda tree, row: tree.depth(row.code),
    "planned": lambda tree, row: row.planned,
    "active": lambda tree, row: row.active,
}


def list_reasons(
    uow: UnitOfWork,
    page: PageParams,
    facility_code: str | None = None,
    active: bool | None = None,
    parent_code: str | None = None,
    sort: str | None = None,
) -> Page[ReasonOut]:
    """The reasons (of one facility, active or not, children of one reason), each with its
    path, depth, and whether it is a leaf, usable and in use; in tree order by default."""
    rows = _reasons(uow, facility_code.strip().upper() if facility_code else None)
    tree = _tree(rows)
    chosen = [
        row
        for row in rows
        if (active is None or row.active == active)
        and (parent_code is None or row.parent_code == parent_code.strip().upper())
    ]
    chosen = _sorted(tree, chosen, sort)
    total = len(chosen)
    shown = chosen[page.offset : page.offset + page.limit]
    used = _in_use(uow, [row.code for row in shown])
    return Page(
        items=[reason_out(tree, row, row.code in used) for row in shown],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


def get_reason(uow: UnitOfWork, code: str) -> ReasonOut:
    row = reason_row(uow, code)
    tree = _tree(_reasons(uow, row.facility_code))
    return reason_out(tree, row, bool(_in_use(uow, [row.code])))


def reason_tree(uow: UnitOfWork, facility_code: str, active: bool = True) -> list[ReasonNodeOut]:
    """The facility's reasons nested under their parents, each level by sort order then name;
    with `active`, only the reasons an operator can reach (active, under active parents)."""
    facility = facility_row(uow, facility_code)
    rows = {row.code: row for row in _reasons(uow, facility.code)}
    tree = _tree(rows.values())

    def nodes(parent: str | None) -> list[ReasonNodeOut]:
        return [
            ReasonNodeOut(
                code=child.code,
                name=child.name,
                colour=rows[child.code].colour,
                planned=rows[child.code].planned,
                active=child.active,
                children=nodes(child.code),
            )
            for child in tree.children(parent)
            if child.active or not active
        ]

    return nodes(None)


def create_reason(uow: UnitOfWork, data: ReasonCreate) -> ReasonOut:
    if uow.session.get(DowntimeReason, data.code) is not None:
        raise Conflict(
            _("A downtime reason {code} already exists.", code=data.code),
            field="code",
            code="duplicate",
        )
    facility = usable_facility(uow, data.facility_code, field="facility_code")
    parent = _parent(uow, data.parent_code, facility) if data.parent_code else None
    planned = data.planned if data.planned is not None else bool(parent and parent.planned)
    now = utc_now()
    row = DowntimeReason(
        code=data.code,
        facility_code=facility.code,
        parent_code=parent.code if parent else None,
        name=data.name,
        colour=data.colour,
        planned=planned,
        active=True,
        sort_order=data.sort_order,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    out = _fresh_out(uow, row)
    record_change(uow, "downtime.reasons.create", "downtime_reason", row.code, None, out)
    return out


def update_reason(uow: UnitOfWork, code: str, changes: ReasonUpdate) -> ReasonOut:
    """Rename, recolour, re-flag, reorder, or move a reason under another parent of its
    facility (never under itself or one of its own descendants)."""
    row = reason_row(uow, code, for_update=True)
    before = _fresh_out(uow, row)
    values = changes.model_dump(exclude_unset=True)
    if "parent_code" in values and values["parent_code"] != row.parent_code:
        # The facility's row is locked: two moves in one tree are checked for cycles in turn.
        facility = facility_row(uow, row.facility_code, for_update=True)
        new_parent = values["parent_code"]
        if new_parent is not None:
            _parent(uow, new_parent, facility)
            if _tree(_reasons(uow, row.facility_code)).would_cycle(row.code, new_parent):
                raise InvalidInput(
                    _(
                        "{parent} is {code} itself or one of its sub-reasons; a reason cannot "
                        "sit under itself.",
                        parent=new_parent,
                        code=row.code,
                    ),
                    field="parent_code",
                    code="reason_cycle",
                )
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if not changed:
        return before
    row.updated_at = utc_now()
    uow.session.flush()
    out = _fresh_out(uow, row)
    record_change(uow, "downtime.reasons.update", "downtime_reason", row.code, before, out)
    return out


def set_reason_active(uow: UnitOfWork, code: str, active: bool) -> ReasonOut:
    """Deactivate a reason (it and everything under it can no longer be chosen; entries that
    named them keep them), or reactivate it (its subtree comes back as it was)."""
    row = reason_row(uow, code, for_update=True)
    before = _fresh_out(uow, row)
    if row.active == active:
        return before
    row.active = active
    row.updated_at = utc_now()
    uow.session.flush()
    out = _fresh_out(uow, row)
    action = "reactivate" if active else "deactivate"
    record_change(uow, f"downtime.reasons.{action}", "downtime_reason", row.code, before, out)
    return out


def delete_reason(uow: UnitOfWork, code: str) -> None:
    """Delete a reason no downtime entry names and no reason sits under; else 409
    `reason_in_use` (deactivate it instead)."""
    row = reason_row(uow, code, for_update=True)
    before = _fresh_out(uow, row)
    child = uow.session.scalar(
        select(DowntimeReason.code)
        .where(DowntimeReason.parent_code == row.code)
        .order_by(DowntimeReason.sort_order, DowntimeReason.name)
        .limit(1)
    )
    if before.in_use or child is not None:
        raise Conflict(
            _(
                "Downtime reason {code} is in use ({why}); deactivate it instead of deleting it.",
                code=row.code,
                why=_("downtime entries name it")
                if before.in_use
                else _("it has sub-reasons, e.g. {child}", child=child),
            ),
            field="code",
            code="reason_in_use",
        )
    uow.session.delete(row)
    uow.session.flush()
    record_change(uow, "downtime.reasons.delete", "downtime_reason", row.code, before, None)


def usable_leaf(uow: UnitOfWork, code: str, facility_code: str, *, field: str) -> DowntimeReason:
    """The reason `code` if an operator at `facility_code` may choose it for a stop: a reason
    of that facility, active under active ancestors, and a leaf among the active reasons.
    Otherwise a 422 naming `field`: unknown_reason, reason_of_other_facility, inactive_reason
    or reason_not_a_leaf."""
    row = uow.session.get(DowntimeReason, code.strip().upper())
    if row is None:
        raise InvalidInput(
            _("There is no downtime reason {code}.", code=code),
            field=field,
            code="unknown_reason",
        )
    if row.facility_code != facility_code:
        raise InvalidInput(
            _(
                "Downtime reason {code} belongs to facility {other}, not {facility}.",
                code=row.code,
                other=row.facility_code,
                facility=facility_code,
            ),
            field=field,
            code="reason_of_other_facility",
        )
    inactive = _first_inactive(uow, row)
    if inactive is not None:
        raise InvalidInput(
            _(
                "Downtime reason {code} is deactivated; choose an active one.",
                code=row.code,
            )
            if inactive is row
            else _(
                "Downtime reason {code} sits under {parent}, which is deactivated; choose an "
                "active one.",
                code=row.code,
                parent=inactive.code,
            ),
            field=field,
            code="inactive_reason",
        )
    child = uow.session.scalar(
        select(DowntimeReason.code)
        .where(DowntimeReason.parent_code == row.code, DowntimeReason.active.is_(True))
        .order_by(DowntimeReason.sort_order, DowntimeReason.name)
        .limit(1)
    )
    if child is not None:
        raise InvalidInput(
            _(
                "Downtime reason {code} is a group; choose one of the reasons under it, e.g. "
                "{child}.",
                code=row.code,
                child=child,
            ),
            field=field,
            code="reason_not_a_leaf",
        )
    return row


def reason_row(uow: UnitOfWork, code: str, *, for_update: bool = False) -> DowntimeReason:
    row = uow.session.get(DowntimeReason, code.strip().upper(), with_for_update=for_update)
    if row is None:
        raise NotFound(
            _("There is no downtime reason {code}.", code=code),
            field="code",
            code="unknown_reason",
        )
    return row


def reason_out(tree: ReasonTree, row: DowntimeReason, in_use: bool) -> ReasonOut:
    return ReasonOut(
        code=row.code,
        facility_code=row.facility_code,
        parent_code=row.parent_code,
        name=row.name,
        colour=row.colour,
        planned=row.planned,
        active=row.active,
        sort_order=row.sort_order,
        path=tree.path(row.code),
        depth=tree.depth(row.code),
        is_leaf=tree.is_leaf(row.code),
        usable=tree.usable(row.code),
        in_use=in_use,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _parent(uow: UnitOfWork, code: str, facility: Facility) -> DowntimeReason:
    """The reason `code` as a parent for a reason of `facility`, or a 422 on `parent_code`."""
    parent = uow.session.get(DowntimeReason, code)
    if parent is None:
        raise InvalidInput(
            _("There is no downtime reason {code} to put this one under.", code=code),
            field="parent_code",
            code="unknown_parent",
        )
    if parent.facility_code != facility.code:
        raise InvalidInput(
            _(
                "Downtime reason {code} belongs to facility {other}; a sub-reason of "
                "{facility} goes under a reason of {facility}.",
                code=parent.code,
                other=parent.facility_code,
                facility=facility.code,
            ),
            field="parent_code",
            code="parent_of_other_facility",
        )
    return parent


def _first_inactive(uow: UnitOfWork, row: DowntimeReason) -> DowntimeReason | None:
    """`row` if it is deactivated, else its nearest deactivated ancestor, else None."""
    seen: set[str] = set()
    node: DowntimeReason | None = row
    while node is not None and node.code not in seen:
        if not node.active:
            return node
        seen.add(node.code)
        node = uow.session.get(DowntimeReason, node.parent_code) if node.parent_code else None
    return None


def _reasons(uow: UnitOfWork, facility_code: str | None) -> list[DowntimeReason]:
    query = select(DowntimeReason).order_by(DowntimeReason.code)
    if facility_code is not None:
        query = query.where(DowntimeReason.facility_code == facility_code)
    return list(uow.session.scalars(query))


def _tree(rows: Iterable[DowntimeReason]) -> ReasonTree:
    return ReasonTree(
        ReasonNode(
            code=row.code,
            parent_code=row.parent_code,
            name=row.name,
            active=row.active,
            sort_order=row.sort_order,
        )
        for row in rows
    )


def _fresh_out(uow: UnitOfWork, row: DowntimeReason) -> ReasonOut:
    return reason_out(_tree(_reasons(uow, row.facility_code)), row, bool(_in_use(uow, [row.code])))


def _in_use(uow: UnitOfWork, codes: list[str]) -> set[str]:
    """The codes among `codes` some downtime entry names."""
    if not codes:
        return set()
    return set(
        uow.session.scalars(
            select(Downtime.reason_code).where(Downtime.reason_code.in_(codes)).distinct()
        )
    )


def _sorted(tree: ReasonTree, rows: list[DowntimeReason], sort: str | None) -> list[DowntimeReason]:
    chosen = sort or "path"
    name = chosen.lstrip("-")
    if name not in SORTS:
        raise InvalidInput(
            _(
                "Cannot sort by {name}; choose one of: {choices}.",
                name=name,
                choices=", ".join(SORTS),
            ),
            field="query.sort",
            code="unknown_sort",
        )
    key = SORTS[name]
    by_code = sorted(rows, key=lambda row: row.code)
    return sorted(by_code, key=lambda row: key(tree, row), reverse=chosen.startswith("-"))
