"""The store's own stock movements: QC release of received material, transfers between
locations, and cycle-count adjustments. Each locks the item, moves the stock through the one
stock primitive (`services.inventory.stock`), which writes the ledger rows and emits
StockChanged, and records the change in the audit log; the commit is the caller's.

Every refusal happens before anything is written, so a refused request changes nothing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from services.inventory import stock
from services.inventory.domain import StockStatus
from services.inventory.models import Location, Lot, StockBalance
from services.inventory.movements import domain
from services.inventory.movements.schemas import (
    AdjustmentCreate,
    MovementLine,
    MovementOut,
    ReleaseCreate,
    TransferCreate,
)
from services.inventory.stock import LockedItem, Place, StockBook
from shared.audit import record_change
from shared.events.catalogue import StockAdjusted
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.problems import Conflict, InvalidInput, NotFound

TXN_RELEASE = "qc_release"
TXN_TRANSFER = "transfer"
TXN_ADJUSTMENT = "adjustment"


def release_material(uow: UnitOfWork, body: ReleaseCreate) -> MovementOut:
    """Received material in the QC hold passed inspection: pending_qc at QC -> approved at RAW,
    at the value it was held at. A production order's output is not released here: its QC
    decision is made on the QC station (production's QCPassed), which also tells the order."""
    book, item = _lock(uow, body.sku)
    _require_lot(uow, item, body.lot)
    _refuse_output_held_for_qc(uow, item, body.lot)
    source = Place(domain.RELEASE_FROM, body.lot, StockStatus.PENDING_QC)
    held = _held(book, item, source)
    if held == 0:
        raise Conflict(
            _(
                "Nothing of {sku} lot '{lot}' is waiting for QC release.",
                sku=item.sku,
                lot=body.lot,
            ),
            field="lot",
            code="nothing_pending",
        )
    qty = body.qty if body.qty is not None else held
    _require_no_more_than(qty, held, "qty")
    movement_id = _new_id("REL")
    destination = Place(domain.RELEASE_TO, body.lot, StockStatus.APPROVED)
    moved = stock.move(
        book,
        stock.Move(
            item_id=item.id,
            qty=qty,
            txn_type=TXN_RELEASE,
            reference_type="release",
            reference=movement_id,
            source=source,
            destination=destination,
            notes=body.notes,
        ),
    )
    stock.save(uow, book)
    out = _out(
        book, item, "release", movement_id, body.lot, qty, moved.value, [source, destination]
    )
    out.notes = body.notes
    record_change(uow, "inventory.stock.release", "lot", _lot_key(item, body.lot), None, out)
    return out


def transfer_stock(uow: UnitOfWork, body: TransferCreate) -> MovementOut:
    """Approved stock moves between two storage locations at its value; WIP, SCRAP and the QC
    hold are refused, as each empties only by its own process (see domain.NOT_TRANSFERABLE)."""
    if body.from_location == body.to_location:
        raise InvalidInput(
            _("Stock cannot be transferred to the place it is in."),
            field="to_location",
            code="same_location",
        )
    known = _known_locations(uow)
    for field, code in (("from_location", body.from_location), ("to_location", body.to_location)):
        _require_location(known, code, field)
        if code in domain.NOT_TRANSFERABLE:
            raise InvalidInput(
                _(
                    "Stock is not transferred into or out of {location}: it moves there only "
                    "through production, scrap or QC.",
                    location=code,
                ),
                field=field,
                code="location_not_transferable",
            )
    book, item = _lock(uow, body.sku)
    _require_lot(uow, item, body.lot)
    source = Place(body.from_location, body.lot, StockStatus.APPROVED)
    held = _held(book, item, source)
    _require_no_more_than(body.qty, held, "qty")
    movement_id = _new_id("TRF")
    destination = Place(body.to_location, body.lot, StockStatus.APPROVED)
    moved = stock.move(
        book,
        stock.Move(
            item_id=item.id,
            qty=body.qty,
            txn_type=TXN_TRANSFER,
            reference_type="transfer",
            reference=movement_id,
            source=source,
            destination=destination,
            notes=body.notes,
        ),
    )
    stock.save(uow, book)
    out = _out(
        book, item, "transfer", movement_id, body.lot, body.qty, moved.value, [source, destination]
    )
    out.notes = body.notes
    record_change(uow, "inventory.stock.transfer", "lot", _lot_key(item, body.lot), None, out)
    return out


def adjust_stock(uow: UnitOfWork, body: AdjustmentCreate) -> MovementOut:
    """A cycle count (or a known gain or loss) with a reason: StockAdjusted with the value of
    the change, found stock at the unit cost given (an opening balance must give one) or else
    at the item's moving average, lost stock at the unit cost of the balance it leaves."""
    if (body.qty_counted is None) == (body.qty_delta is None):
        raise InvalidInput(
            _("Give either the counted quantity or the change (qty_delta), one of the two."),
            field="qty_counted" if body.qty_counted is None else "qty_delta",
            code="count_or_delta",
        )
    known = _known_locations(uow)
    _require_location(known, body.location, "location")
    if body.location in domain.NOT_COUNTED:
        raise InvalidInput(
            _(
                "Stock in {location} is not adjusted by a count: it belongs to production "
                "orders or to scrap.",
                location=body.location,
            ),
            field="location",
            code="location_not_counted",
        )
    book, item = _lock(uow, body.sku)
    _require_lot(uow, item, body.lot)
    if body.location == domain.RELEASE_FROM:
        _refuse_output_held_for_qc(uow, item, body.lot)
    place = Place(body.location, body.lot, body.status)
    row = book.balance(item.id, place)
    held_qty = row.qty if row is not None else Decimal(0)
    held_value = row.value if row is not None else Decimal(0)
    delta = _delta(body, held_qty)
    _check_valuation(body, delta)
    found = _found_value(body, delta, item.average_cost, held_value) if delta > 0 else None
    adjustment_id = _new_id("ADJ")
    moved = stock.move(
        book,
        stock.Move(
            item_id=item.id,
            qty=abs(delta),
            txn_type=TXN_ADJUSTMENT,
            reference_type="adjustment",
            reference=adjustment_id,
            source=place if delta < 0 else None,
            destination=place if delta > 0 else None,
            # Found stock comes in at its stated cost or the average (the stock primitive moves
            # the average with it); lost stock leaves at its balance's unit cost.
            value=found,
            reason_code=body.reason_code,
            notes=body.notes,
        ),
    )
    value_delta = moved.value if delta > 0 else -moved.value
    stock.save(uow, book)
    uow.add_event(
        StockAdjusted(
            adjustment_id=adjustment_id,
            sku=item.sku,
            location=body.location,
            lot=body.lot or None,
            qty_delta=delta,
            value_delta=value_delta,
            reason_code=body.reason_code,
            reason=body.notes,
            adjusted_at=utc_now(),
        ),
        key=item.sku,
    )
    out = _out(book, item, "adjustment", adjustment_id, body.lot, delta, value_delta, [place])
    out.reason_code = body.reason_code
    out.notes = body.notes
    record_change(
        uow,
        "inventory.stock.adjust",
        "lot",
        _lot_key(item, body.lot),
        {"location": body.location, "status": body.status, "qty": held_qty, "value": held_value},
        out,
    )
    return out


# -- checks ------------------------------------------------------------------------------------


def _lock(uow: UnitOfWork, sku: str) -> tuple[StockBook, LockedItem]:
    book = stock.lock_items(uow, skus=[sku])
    item = book.item(sku)
    if item is None:
        raise NotFound(_("no item with SKU '{sku}'", sku=sku), field="sku")
    return book, item


def _known_locations(uow: UnitOfWork) -> set[str]:
    return set(uow.session.scalars(select(Location.code)))


def _require_location(known: set[str], code: str, field: str) -> None:
    if code not in known:
        raise InvalidInput(
            _("There is no location {location}.", location=code),
            field=field,
            code="unknown_location",
        )


def _require_lot(uow: UnitOfWork, item: LockedItem, lot: str) -> None:
    """A lot must be one the item has (on record, or on one of its balances); '' is no lot."""
    if not lot:
        return
    on_record = uow.session.scalar(
        select(Lot.id).where(Lot.item_id == item.id, Lot.code == lot).limit(1)
    )
    on_balance = uow.session.scalar(
        select(StockBalance.id)
        .where(StockBalance.item_id == item.id, StockBalance.lot == lot)
        .limit(1)
    )
    if on_record is None and on_balance is None:
        raise InvalidInput(
            _("{sku} has no lot {lot}.", sku=item.sku, lot=lot), field="lot", code="unknown_lot"
        )


def _refuse_output_held_for_qc(uow: UnitOfWork, item: LockedItem, lot: str) -> None:
    """A production order's output in the QC hold waits for its QC decision (production's
    QCPassed, which also closes the order); a release or a count there would take it from
    under that decision."""
    if not lot:
        return
    made_by = uow.session.scalar(
        select(Lot.order_code).where(Lot.item_id == item.id, Lot.code == lot)
    )
    if made_by:
        raise Conflict(
            _(
                "Lot {lot} is the output of production order {order}: it is inspected on the "
                "QC station.",
                lot=lot,
                order=made_by,
            ),
            field="lot",
            code="production_output",
        )


def _held(book: StockBook, item: LockedItem, place: Place) -> Decimal:
    row = book.balance(item.id, place)
    return row.qty if row is not None else Decimal(0)


def _require_no_more_than(qty: Decimal, held: Decimal, field: str) -> None:
    if qty > held:
        raise Conflict(
            _("Only {held} is there to move; {qty} was asked.", held=held, qty=qty),
            field=field,
            code="insufficient_stock",
            extensions={"qty_held": str(held)},
        )


def _delta(body: AdjustmentCreate, held: Decimal) -> Decimal:
    field = "qty_counted" if body.qty_counted is not None else "qty_delta"
    try:
        return domain.adjustment_delta(held, body.qty_counted, body.qty_delta)
    except domain.NothingToAdjust:
        raise InvalidInput(
            _("The count is what the balance holds ({held}): nothing to adjust.", held=held),
            field=field,
            code="nothing_to_adjust",
        ) from None
    except domain.MoreThanHeld:
        raise Conflict(
            _(
                "The balance holds {held}; it cannot lose more than that.",
                held=held,
            ),
            field=field,
            code="insufficient_stock",
            extensions={"qty_held": str(held)},
        ) from None


def _found_value(
    body: AdjustmentCreate, delta: Decimal, average_cost: Decimal, held_value: Decimal
) -> Decimal:
    try:
        return domain.found_value(delta, average_cost, body.unit_cost, held_value)
    except domain.ValueTooLarge:
        raise InvalidInput(
            _(
                "{qty} at {cost} each is worth more than a stock balance can hold.",
                qty=delta,
                cost=body.unit_cost if body.unit_cost is not None else average_cost,
            ),
            field="unit_cost"
            if body.unit_cost is not None
            else ("qty_counted" if body.qty_counted is not None else "qty_delta"),
            code="value_too_large",
        ) from None


def _check_valuation(body: AdjustmentCreate, delta: Decimal) -> None:
    try:
        domain.check_valuation(body.reason_code, delta, body.unit_cost)
    except domain.OpeningBalanceNotAGain:
        raise InvalidInput(
            _("An opening balance brings stock in: it cannot take {qty} away.", qty=-delta),
            field="qty_counted" if body.qty_counted is not None else "qty_delta",
            code="opening_balance_not_a_gain",
        ) from None
    except domain.OpeningBalanceWithoutCost:
        raise InvalidInput(
            _(
                "An opening balance needs the unit cost of the stock (0 when it has none, "
                "e.g. customer-supplied material)."
            ),
            field="unit_cost",
            code="unit_cost_required",
        ) from None
    except domain.CostOnLoss:
        raise InvalidInput(
            _(
                "A unit cost is only given for stock found: stock lost leaves at the cost it "
                "is held at."
            ),
            field="unit_cost",
            code="unit_cost_on_loss",
        ) from None


# -- answers -----------------------------------------------------------------------------------


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


def _lot_key(item: LockedItem, lot: str) -> str:
    return f"{item.sku}/{lot}" if lot else item.sku


def _out(
    book: StockBook,
    item: LockedItem,
    movement: str,
    movement_id: str,
    lot: str,
    qty: Decimal,
    value: Decimal,
    places: list[Place],
) -> MovementOut:
    lines = []
    for place in places:
        row = book.balance(item.id, place)
        lines.append(
            MovementLine(
                location=place.location,
                lot=place.lot,
                status=place.status,
                qty=row.qty if row is not None else Decimal(0),
                value=row.value if row is not None else Decimal(0),
            )
        )
    return MovementOut(
        movement=movement,
        movement_id=movement_id,
        sku=item.sku,
        lot=lot,
        qty=qty,
        value=value,
        balances=lines,
    )
