"""Purchase suggestions as a use case: the MRP's shortages become one draft purchase order per
preferred vendor, through the same create path as a buyer's PO (its number from the same
counter, its PurchaseOrderChanged and audit entry as any other). What cannot be placed is
answered with its reason; when nothing can be, nothing is created (422 naming `lines`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from services.purchasing import service as orders
from services.purchasing.models import KnownItem
from services.purchasing.schemas import PoLineCreate, PurchaseOrderCreate
from services.purchasing.suggestions import domain
from services.purchasing.suggestions.domain import Need, PlannedLine, ShortageLine, Terms
from services.purchasing.suggestions.schemas import (
    PurchaseSuggestionRequest,
    PurchaseSuggestionsOut,
    UnplacedOut,
)
from services.purchasing.vendor_items.models import VendorItem
from services.purchasing.vendor_items.service import preferred_vendor_items
from shared.i18n import Text, _
from shared.uow import UnitOfWork
from shared.web.problems import InvalidInput

# A PO's notes hold 1000 characters (PurchaseOrderCreate and the purchase_orders column).
NOTES_LIMIT = 1000


def suggest_purchases(
    uow: UnitOfWork, request: PurchaseSuggestionRequest, today: date
) -> PurchaseSuggestionsOut:
    """Draft POs for the shortages in `request`; `today` is the plant's business day."""
    needs = domain.merge(
        [ShortageLine(line.sku, line.qty, line.need_by, line.reference) for line in request.lines]
    )
    skus = [need.sku for need in needs]
    items = {
        item.sku: item
        for item in uow.session.scalars(select(KnownItem).where(KnownItem.sku.in_(skus)))
    }
    sources = preferred_vendor_items(uow, skus)
    by_vendor: dict[str, list[PlannedLine]] = {}
    unplaced: list[UnplacedOut] = []
    for need in needs:
        planned, why = _place(need, items.get(need.sku), sources.get(need.sku), today)
        if planned is not None:
            by_vendor.setdefault(sources[need.sku].vendor.code, []).append(planned)
        elif why is not None:
            unplaced.append(
                UnplacedOut(sku=need.sku, qty=need.qty, reason=str(why[1]), code=why[0])
            )
    if not by_vendor:
        raise InvalidInput(
            _(
                "None of the lines can be ordered: {reasons}",
                reasons="; ".join(line.reason for line in unplaced),
            ),
            field="lines",
            code="nothing_to_order",
            extensions={"unplaced": [line.model_dump(mode="json") for line in unplaced]},
        )
    origin = str(_("Drafted by the MRP from material shortages."))
    created = [
        orders.create_purchase_order(
            uow,
            PurchaseOrderCreate(
                vendor_code=vendor_code,
                notes=domain.notes_text(origin, request.notes, lines, NOTES_LIMIT),
                lines=[
                    PoLineCreate(
                        sku=line.sku, qty=line.qty, unit_cost=line.unit_cost, due_date=line.due_date
                    )
                    for line in lines
                ],
            ),
            today,
        )
        for vendor_code, lines in sorted(by_vendor.items())
    ]
    return PurchaseSuggestionsOut(orders=created, unplaced=unplaced)


def _place(
    need: Need, item: KnownItem | None, source: VendorItem | None, today: date
) -> tuple[PlannedLine | None, tuple[str, Text] | None]:
    """The PO line for a need, or why there is none: (code, reason)."""
    if item is None:
        return None, ("unknown_item", _("Item {sku} is not known to purchasing.", sku=need.sku))
    if not item.active:
        return None, ("inactive_item", _("Item {sku} is inactive.", sku=need.sku))
    if source is None:
        return None, (
            "no_preferred_vendor",
            _(
                "Item {sku} has no preferred vendor; mark one of its vendor items preferred.",
                sku=need.sku,
            ),
        )
    if not source.vendor.active:
        return None, (
            "inactive_vendor",
            _(
                "The preferred vendor {code} of item {sku} is inactive.",
                code=source.vendor.code,
                sku=need.sku,
            ),
        )
    terms = Terms(
        vendor_code=source.vendor.code,
        unit_cost=source.unit_cost,
        moq=source.moq,
        order_multiple=source.order_multiple,
        lead_time_days=source.lead_time_days,
    )
    planned = domain.plan_line(need, terms, today)
    if planned is None:
        return None, (
            "too_large",
            _(
                "{qty} of item {sku} is more than one purchase order line can hold.",
                qty=need.qty,
                sku=need.sku,
            ),
        )
    return planned, None
