"""Use cases of production's item read model: keep it from ItemUpserted, and answer what the
orders and BOMs ask of it (is this a known, active item; does its output need QC)."""

from __future__ import annotations

from sqlalchemy import select

from services.production.items.models import KnownItem
from services.production.items.schemas import KnownItemOut
from shared.events.catalogue import ItemUpserted
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, contains_text, paginate
from shared.web.problems import InvalidInput, NotFound


def remember_item(uow: UnitOfWork, item: ItemUpserted, sequence: int) -> None:
    """Keep production's copy of an item; an older or repeated event changes nothing."""
    known = uow.session.get(KnownItem, item.sku, with_for_update=True)
    if known is None:
        uow.session.add(
            KnownItem(
                sku=item.sku,
                name=item.name,
                uom=item.uom,
                item_type=item.item_type,
                make_or_buy=item.make_or_buy,
                active=item.active,
                requires_qc=item.requires_qc,
                sequence=sequence,
            )
        )
        return
    if sequence <= known.sequence:
        return
    known.name, known.uom, known.active = item.name, item.uom, item.active
    known.item_type, known.make_or_buy = item.item_type, item.make_or_buy
    known.requires_qc, known.sequence = item.requires_qc, sequence


def find_item(uow: UnitOfWork, sku: str) -> KnownItem | None:
    return uow.session.get(KnownItem, sku)


def get_known_item(uow: UnitOfWork, sku: str) -> KnownItemOut:
    item = uow.session.get(KnownItem, sku)
    if item is None:
        raise NotFound(_("production does not know an item '{sku}' (yet)", sku=sku), field="sku")
    return KnownItemOut.model_validate(item)


def active_item(uow: UnitOfWork, sku: str, *, field: str = "sku") -> KnownItem:
    """The known, active item `sku`, or a 422 naming `field`."""
    item = uow.session.get(KnownItem, sku)
    if item is None or not item.active:
        raise InvalidInput(
            _("unknown or inactive item SKU '{sku}'", sku=sku), field=field, code="unknown_item"
        )
    return item


def list_known_items(
    uow: UnitOfWork, page: PageParams, search: str | None = None, active: bool | None = True
) -> Page[KnownItemOut]:
    """The items production knows, as it learned them from inventory's events."""
    query = select(KnownItem)
    if active is not None:
        query = query.where(KnownItem.active.is_(active))
    if search:
        query = query.where(contains_text(search, KnownItem.sku, KnownItem.name))
    return paginate(uow.session, query.order_by(KnownItem.sku), page, KnownItemOut.model_validate)
