"""Vendor items as use cases: list, add, change, deactivate and reactivate, and the preferred
vendor of each SKU. Each takes an open unit of work, leaves the commit to its caller, and
records an audit entry for what a user changed.

Every write to a SKU's vendor items first locks that SKU's known item, so the writes to one
SKU's vendor items run one after the other: "make preferred" reads the SKU's current preferred
row after the lock and un-marks it in the same transaction (each change audited), and two
buyers making two vendors preferred at once leave exactly one, the later. The partial unique
index on (sku) where preferred is the database's last word should anything bypass the lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select

from services.purchasing.models import KnownItem, Vendor
from services.purchasing.vendor_items.models import VendorItem
from services.purchasing.vendor_items.schemas import (
    VendorItemCreate,
    VendorItemOut,
    VendorItemUpdate,
)
from shared.audit import record_change
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, contains_text, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound

ENTITY = "vendor_item"

VENDOR_ITEM_SORTS: dict[str, Any] = {
    "sku": VendorItem.sku,
    "vendor": Vendor.code,
    "item_name": KnownItem.name,
    "unit_cost": VendorItem.unit_cost,
    "moq": VendorItem.moq,
    "lead_time_days": VendorItem.lead_time_days,
    "preferred": VendorItem.preferred,
    "active": VendorItem.active,
}


def list_vendor_items(
    uow: UnitOfWork,
    page: PageParams,
    *,
    vendor_code: str | None = None,
    sku: str | None = None,
    preferred: bool | None = None,
    active: bool | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> Page[VendorItemOut]:
    """Vendor items by SKU, then vendor; `search` finds part of a SKU, item name or part
    number."""
    query = _with_items(select(VendorItem, KnownItem))
    if vendor_code:
        query = query.where(Vendor.code == vendor_code.strip())
    if sku:
        query = query.where(VendorItem.sku == sku.strip())
    if preferred is not None:
        query = query.where(VendorItem.preferred.is_(preferred))
    if active is not None:
        query = query.where(VendorItem.active.is_(active))
    if search:
        query = query.where(
            contains_text(search, VendorItem.sku, KnownItem.name, VendorItem.vendor_part_number)
        )
    query = apply_sort(query, sort, VENDOR_ITEM_SORTS, default="sku", tiebreak=VendorItem.id)
    return paginate(uow.session, query, page, lambda row: vendor_item_out(row[0], row[1]))


def list_items_of_vendor(
    uow: UnitOfWork,
    code: str,
    page: PageParams,
    *,
    active: bool | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> Page[VendorItemOut]:
    """One vendor's items; a vendor that does not exist is a 404 (an empty list would hide a
    typo)."""
    vendor = vendor_row(uow, code)
    return list_vendor_items(
        uow, page, vendor_code=vendor.code, active=active, search=search, sort=sort
    )


def get_vendor_item(uow: UnitOfWork, vendor_code: str, sku: str) -> VendorItemOut:
    row = _vendor_item_row(uow, vendor_row(uow, vendor_code), sku)
    return vendor_item_out(row, uow.session.get(KnownItem, row.sku))


def create_vendor_item(uow: UnitOfWork, vendor_code: str, data: VendorItemCreate) -> VendorItemOut:
    """A new vendor item of a known, active item; preferred at once if asked."""
    vendor = vendor_row(uow, vendor_code)
    if not vendor.active:
        raise Conflict(
            _("Vendor {code} is inactive; it takes no new items.", code=vendor.code),
            field="code",
            code="inactive_vendor",
        )
    item = _lock_item(uow, data.sku)
    if item is None or not item.active:
        raise InvalidInput(
            _("unknown or inactive item SKU '{sku}'", sku=data.sku),
            field="sku",
            code="unknown_item",
        )
    existing = uow.session.scalar(
        select(VendorItem.id).where(VendorItem.vendor_id == vendor.id, VendorItem.sku == data.sku)
    )
    if existing is not None:
        raise Conflict(
            _(
                "Vendor {code} already has item {sku}; change that one instead.",
                code=vendor.code,
                sku=data.sku,
            ),
            field="sku",
            code="duplicate",
        )
    now = utc_now()
    row = VendorItem(
        vendor_id=vendor.id,
        vendor=vendor,
        sku=data.sku,
        vendor_part_number=data.vendor_part_number,
        unit_cost=data.unit_cost,
        moq=data.moq,
        order_multiple=data.order_multiple,
        lead_time_days=data.lead_time_days,
        preferred=False,
        active=True,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    if data.preferred:
        _unmark_other_preferred(uow, row)
        row.preferred = True
        uow.session.flush()
    out = vendor_item_out(row, item)
    record_change(uow, "purchasing.vendor_items.create", ENTITY, _entity_id(row), None, out)
    return out


def update_vendor_item(
    uow: UnitOfWork, vendor_code: str, sku: str, changes: VendorItemUpdate
) -> VendorItemOut:
    """Change what `changes` names. `preferred: true` makes this the SKU's preferred vendor
    item and un-marks the one that was; an inactive vendor item cannot be made preferred."""
    vendor = vendor_row(uow, vendor_code)
    item = _lock_item(uow, sku)
    row = _vendor_item_row(uow, vendor, sku, for_update=True)
    before = vendor_item_out(row, item)
    values = changes.model_dump(exclude_unset=True)
    make_preferred = values.pop("preferred", None)
    changed = _set(row, values)
    if make_preferred is True and not row.preferred:
        if not row.active:
            raise Conflict(
                _(
                    "The vendor item {sku} of {code} is inactive; reactivate it before making "
                    "it preferred.",
                    sku=row.sku,
                    code=vendor.code,
                ),
                field="preferred",
                code="inactive_vendor_item",
            )
        _unmark_other_preferred(uow, row)
        row.preferred = changed = True
    elif make_preferred is False and row.preferred:
        row.preferred = changed = False
    if not changed:
        return before
    row.updated_at = utc_now()
    uow.session.flush()
    out = vendor_item_out(row, item)
    record_change(uow, "purchasing.vendor_items.update", ENTITY, _entity_id(row), before, out)
    return out


def set_vendor_item_active(
    uow: UnitOfWork, vendor_code: str, sku: str, active: bool
) -> VendorItemOut:
    """Deactivate (it stops being preferred too: suggestions never buy from it) or reactivate."""
    vendor = vendor_row(uow, vendor_code)
    item = _lock_item(uow, sku)
    row = _vendor_item_row(uow, vendor, sku, for_update=True)
    before = vendor_item_out(row, item)
    if row.active == active:
        return before
    row.active = active
    if not active:
        row.preferred = False
    row.updated_at = utc_now()
    uow.session.flush()
    out = vendor_item_out(row, item)
    action = "reactivate" if active else "deactivate"
    record_change(uow, f"purchasing.vendor_items.{action}", ENTITY, _entity_id(row), before, out)
    return out


def preferred_vendor_items(uow: UnitOfWork, skus: Iterable[str]) -> dict[str, VendorItem]:
    """SKU -> its active preferred vendor item (with its vendor), for the SKUs that have one."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = uow.session.scalars(
        select(VendorItem).where(
            VendorItem.sku.in_(wanted),
            VendorItem.preferred.is_(True),
            VendorItem.active.is_(True),
        )
    )
    return {row.sku: row for row in rows}


def vendor_row(uow: UnitOfWork, code: str) -> Vendor:
    vendor = uow.session.scalar(select(Vendor).where(Vendor.code == code))
    if vendor is None:
        raise NotFound(_("no vendor with code '{code}'", code=code), field="code")
    return vendor


def vendor_item_out(row: VendorItem, item: KnownItem | None) -> VendorItemOut:
    return VendorItemOut(
        vendor_code=row.vendor.code,
        vendor_name=row.vendor.name,
        sku=row.sku,
        item_name=item.name if item is not None else None,
        uom=item.uom if item is not None else None,
        vendor_part_number=row.vendor_part_number,
        unit_cost=row.unit_cost,
        moq=row.moq,
        order_multiple=row.order_multiple,
        lead_time_days=row.lead_time_days,
        preferred=row.preferred,
        active=row.active,
        updated_at=row.updated_at,
    )


def _with_items(
    query: Select[VendorItem, KnownItem],
) -> Select[VendorItem, KnownItem]:
    return query.join(Vendor, Vendor.id == VendorItem.vendor_id).outerjoin(
        KnownItem, KnownItem.sku == VendorItem.sku
    )


def _lock_item(uow: UnitOfWork, sku: str) -> KnownItem | None:
    """The SKU's known item, locked until commit: the one door to writing its vendor items."""
    return uow.session.get(KnownItem, sku, with_for_update=True, populate_existing=True)


def _vendor_item_row(
    uow: UnitOfWork, vendor: Vendor, sku: str, *, for_update: bool = False
) -> VendorItem:
    query = select(VendorItem).where(VendorItem.vendor_id == vendor.id, VendorItem.sku == sku)
    if for_update:
        query = query.with_for_update(of=VendorItem).execution_options(populate_existing=True)
    row = uow.session.scalar(query)
    if row is None:
        raise NotFound(
            _("Vendor {code} has no item {sku}.", code=vendor.code, sku=sku),
            field="sku",
            code="unknown_vendor_item",
        )
    return row


def _unmark_other_preferred(uow: UnitOfWork, row: VendorItem) -> None:
    """Un-mark the SKU's other preferred vendor item (audited), and write that before `row`
    is marked: the unique index is checked row by row."""
    others = uow.session.scalars(
        select(VendorItem)
        .where(VendorItem.sku == row.sku, VendorItem.preferred.is_(True), VendorItem.id != row.id)
        .with_for_update(of=VendorItem)
        .execution_options(populate_existing=True)
    ).all()
    if not others:
        return
    item = uow.session.get(KnownItem, row.sku)
    now = utc_now()
    for other in others:
        before = vendor_item_out(other, item)
        other.preferred = False
        other.updated_at = now
        after = vendor_item_out(other, item)
        record_change(
            uow,
            "purchasing.vendor_items.unmark_preferred",
            ENTITY,
            _entity_id(other),
            before,
            after,
        )
    uow.session.flush()


def _set(row: VendorItem, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _entity_id(row: VendorItem) -> str:
    return f"{row.vendor.code}/{row.sku}"
