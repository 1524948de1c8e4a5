"""Reservations: stock held for a production order's components or a sales order's lines.

`reserve` is the one way stock gets promised: under the items' row locks (via
`services.inventory.stock`), available = approved RAW and FG on hand less every open
reservation's remaining quantity, so concurrent requests never promise the same unit twice and
available never goes below zero. Idempotent by reference: a line already reserved under the
reference (same SKU and line number) is answered as it is and reserves nothing more; the
existing lines are read after the locks, so a repeat racing the first request sees its rows.
(A new line under an existing reference, e.g. another sales order line, is reserved; so is a
line released before anything was issued, e.g. after a start was abandoned.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from services.inventory import domain, stock
from services.inventory.models import Item, Reservation
from services.inventory.reservations.schemas import (
    ReservationCreate,
    ReservationLineOut,
    ReservationOut,
)
from shared.audit import record_change
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.types import Amount, UtcDateTime
from shared.uow import UnitOfWork
from shared.values import four_places
from shared.web.problems import Conflict, InvalidInput, NotFound

OPEN = "open"
CLOSED = "closed"
ZERO = Decimal(0)


@dataclass(frozen=True)
class Line:
    """One requested line: an item, its quantity and the line number (0 for production)."""

    sku: str
    qty: Decimal
    line_no: int = 0


def create_reservation(uow: UnitOfWork, body: ReservationCreate) -> ReservationOut:
    """POST /api/v1/reservations: `reserve`, audited as the caller's change."""
    lines = [Line(line.sku, line.qty, line.line_no or 0) for line in body.lines]
    out = reserve(uow, body.reference_type, body.reference, lines, body.allow_insufficient)
    record_change(
        uow,
        "inventory.reservations.create",
        "reservation",
        f"{body.reference_type}/{body.reference}",
        None,
        out,
    )
    return out


def reserve(
    uow: UnitOfWork,
    reference_type: str,
    reference: str,
    lines: Sequence[Line],
    allow_insufficient: bool = False,
    *,
    book: stock.StockBook | None = None,
    save: bool = True,
) -> ReservationOut:
    """Reserve `lines` for the reference; see the module docstring.

    Short lines: refused (409 `insufficient_stock` with `shortages`, nothing reserved) unless
    `allow_insufficient`, which reserves what is available and reports the rest as short.
    With `book` the items are already locked (the caller saves); otherwise they are locked here
    in id order and the change is saved with its StockChanged events.
    """
    wanted = _merged(lines)
    if book is None:
        book = stock.lock_items(uow, skus={line.sku for line in wanted})
    items = {item.sku: item for item in book.items.values()}
    for index, line in enumerate(wanted):
        if line.sku not in items:
            raise InvalidInput(
                _("no item with SKU '{sku}'", sku=line.sku), field=f"lines.{index}.sku"
            )
    existing = {
        (row.item_id, row.line_no): row
        for row in uow.session.execute(
            _ROWS_OF_REFERENCE, {"rtype": reference_type, "ref": reference}
        )
    }
    out_lines: list[ReservationLineOut] = []
    new_rows: list[dict[str, Any]] = []
    reopened: list[dict[str, Any]] = []
    shortages: list[dict[str, str]] = []
    now = utc_now()
    for line in wanted:
        item = items[line.sku]
        row = existing.get((item.id, line.line_no))
        if row is not None and not _released(row):
            out_lines.append(_line_out(line.sku, row))
            continue
        outcome = domain.reservation_line(line.qty, stock.available(book, item.id))
        if outcome.qty_short > 0:
            shortages.append(
                {
                    "sku": line.sku,
                    "qty_required": four_places(outcome.qty_required),
                    "qty_available": four_places(outcome.qty_available),
                    "qty_short": four_places(outcome.qty_short),
                }
            )
        if outcome.qty_reserved > 0:
            stock.hold(book, item.id, outcome.qty_reserved)
        (reopened if row is not None else new_rows).append(
            {
                "row_id": row.id if row is not None else None,
                "reference_type": reference_type,
                "reference": reference,
                "line_no": line.line_no,
                "item_id": item.id,
                "qty_required": outcome.qty_required,
                "qty_available": outcome.qty_available,
                "qty_reserved": outcome.qty_reserved,
                "qty_issued": ZERO,
                "qty_released": ZERO,
                "status": OPEN,
                "created_at": now,
                "updated_at": now,
            }
        )
        out_lines.append(
            ReservationLineOut(
                sku=line.sku,
                line_no=line.line_no,
                qty_required=outcome.qty_required,
                qty_reserved=outcome.qty_reserved,
                qty_available=outcome.qty_available,
                qty_short=outcome.qty_short,
                qty_issued=ZERO,
                qty_released=ZERO,
                status=OPEN,
            )
        )
    if shortages and not allow_insufficient:
        raise Conflict(
            _(
                "Not enough stock to reserve for {reference}: {count} item(s) short.",
                reference=reference,
                count=len(shortages),
            ),
            field="lines",
            code="insufficient_stock",
            extensions={"shortages": shortages},
        )
    if new_rows:
        uow.session.execute(
            _INSERT_RESERVATION, [{k: v for k, v in r.items() if k != "row_id"} for r in new_rows]
        )
    if reopened:
        uow.session.execute(
            _REOPEN_RESERVATION,
            [
                {
                    "row_id": r["row_id"],
                    "required": r["qty_required"],
                    "available": r["qty_available"],
                    "reserved": r["qty_reserved"],
                    "now": now,
                }
                for r in reopened
            ],
        )
    if save:
        stock.save(uow, book)
    return _reservation_out(reference_type, reference, out_lines)


def get_reservation(uow: UnitOfWork, reference_type: str, reference: str) -> ReservationOut:
    rows = list(uow.session.execute(_ROWS_WITH_SKU, {"rtype": reference_type, "ref": reference}))
    if not rows:
        raise _no_reservation(reference_type, reference)
    return _reservation_out(reference_type, reference, [_line_out(r.sku, r) for r in rows])


def release_reservation(uow: UnitOfWork, reference_type: str, reference: str) -> ReservationOut:
    """DELETE /api/v1/reservations/{type}/{reference}: release what is still open (audited).
    Releasing again changes nothing; an unknown reference is 404."""
    before = get_reservation(uow, reference_type, reference)
    release_open(uow, reference_type, reference)
    after = get_reservation(uow, reference_type, reference)
    if after != before:
        record_change(
            uow,
            "inventory.reservations.release",
            "reservation",
            f"{reference_type}/{reference}",
            before,
            after,
        )
    return after


def release_open(
    uow: UnitOfWork,
    reference_type: str,
    reference: str,
    *,
    book: stock.StockBook | None = None,
    save: bool = True,
) -> dict[int, Decimal]:
    """Close the reference's open lines, releasing their remaining quantity; returns what was
    released per item. Without `book`, the items are locked here first and the rows read again
    after the locks (an issue may have changed them meanwhile)."""
    if book is None:
        item_ids = [
            row.item_id
            for row in uow.session.execute(
                _ROWS_OF_REFERENCE, {"rtype": reference_type, "ref": reference}
            )
            if row.status == OPEN
        ]
        if not item_ids:
            return {}
        book = stock.lock_items(uow, item_ids=item_ids)
    released: dict[int, Decimal] = {}
    changes: list[dict[str, Any]] = []
    now = utc_now()
    for row in uow.session.execute(_ROWS_OF_REFERENCE, {"rtype": reference_type, "ref": reference}):
        if row.status != OPEN:
            continue
        remaining = row.qty_reserved - row.qty_issued - row.qty_released
        changes.append(
            {
                "row_id": row.id,
                "issued": row.qty_issued,
                "released": row.qty_released + remaining,
                "new_status": CLOSED,
                "now": now,
            }
        )
        if remaining and row.item_id in book.items:
            stock.hold(book, row.item_id, -remaining)
            released[row.item_id] = released.get(row.item_id, ZERO) + remaining
    if changes:
        uow.session.execute(_SET_RESERVATION, changes)
    if save:
        stock.save(uow, book)
    return released


@dataclass(frozen=True)
class ReservedLine:
    """A reservation line as stored; `remaining` is what it still holds."""

    id: int
    item_id: int
    line_no: int
    qty_reserved: Decimal
    qty_issued: Decimal
    qty_released: Decimal
    status: str

    @property
    def remaining(self) -> Decimal:
        return (
            self.qty_reserved - self.qty_issued - self.qty_released if self.status == OPEN else ZERO
        )


def lines_of(uow: UnitOfWork, reference_type: str, reference: str) -> list[ReservedLine]:
    """The reference's lines (read them after locking their items to act on them)."""
    return [
        ReservedLine(
            r.id, r.item_id, r.line_no, r.qty_reserved, r.qty_issued, r.qty_released, r.status
        )
        for r in uow.session.execute(
            _ROWS_OF_REFERENCE, {"rtype": reference_type, "ref": reference}
        )
    ]


def issue_from(
    uow: UnitOfWork, book: stock.StockBook, line: ReservedLine, qty: Decimal, *, close: bool
) -> None:
    """Record that `qty` of the line was issued (shipped, or issued to WIP); with `close`, or
    once nothing remains, the line closes and what remains is released. The caller holds the
    item's lock (`book`) and saves the book."""
    write_issues(uow, [issue_change(book, line, qty, close=close)])


def issue_change(
    book: stock.StockBook, line: ReservedLine, qty: Decimal, *, close: bool
) -> dict[str, Any]:
    """`issue_from` without the write: the row's new figures, for `write_issues` (one
    statement for many lines)."""
    remaining = line.remaining
    released = line.qty_released
    status = line.status
    if close or remaining - qty <= 0:
        released += max(remaining - qty, ZERO)
        status = CLOSED
    freed = min(remaining, qty) + (released - line.qty_released)
    if freed:
        stock.hold(book, line.item_id, -freed)
    return {
        "row_id": line.id,
        "issued": line.qty_issued + qty,
        "released": released,
        "new_status": status,
        "now": utc_now(),
    }


def write_issues(uow: UnitOfWork, changes: list[dict[str, Any]]) -> None:
    if changes:
        uow.session.execute(_SET_RESERVATION, changes)


def allocate(
    uow: UnitOfWork,
    book: stock.StockBook,
    reference_type: str,
    reference: str,
    line_no: int,
    item_id: int,
    qty: Decimal,
) -> None:
    """Add `qty` to the reservation line (created, or topped up and reopened): e.g. a
    make-to-order order's passed units allocated to its sales order line. No availability check:
    the caller allocates units it has just made available under the same lock."""
    row = uow.session.execute(
        _ROW_OF_LINE, {"rtype": reference_type, "ref": reference, "item": item_id, "line": line_no}
    ).first()
    now = utc_now()
    if row is None:
        uow.session.execute(
            _INSERT_RESERVATION,
            {
                "reference_type": reference_type,
                "reference": reference,
                "line_no": line_no,
                "item_id": item_id,
                "qty_required": qty,
                "qty_available": qty,
                "qty_reserved": qty,
                "qty_issued": ZERO,
                "qty_released": ZERO,
                "status": OPEN,
                "created_at": now,
                "updated_at": now,
            },
        )
    else:
        # A closed line's released quantity stays released; the new units are held on top.
        uow.session.execute(
            _TOP_UP_RESERVATION,
            {
                "row_id": row.id,
                "add_qty": qty,
                "required": max(row.qty_required, row.qty_reserved + qty),
                "now": now,
            },
        )
    stock.hold(book, item_id, qty)


def _released(row: Any) -> bool:
    """A line released before anything was issued (e.g. a start abandoned): reserving it again
    holds the stock anew, instead of answering with a reservation that holds nothing."""
    return bool(row.status == CLOSED and row.qty_issued == 0 and row.qty_released > 0)


def _merged(lines: Sequence[Line]) -> list[Line]:
    """Lines of the same SKU and line number added together, in first-seen order."""
    merged: dict[tuple[str, int], Decimal] = {}
    for line in lines:
        key = (line.sku, line.line_no)
        merged[key] = merged.get(key, ZERO) + line.qty
    return [Line(sku, qty, line_no) for (sku, line_no), qty in merged.items()]


def _line_out(sku: str, row: Any) -> ReservationLineOut:
    return ReservationLineOut(
        sku=sku,
        line_no=row.line_no,
        qty_required=row.qty_required,
        qty_reserved=row.qty_reserved,
        qty_available=row.qty_available,
        qty_short=row.qty_required - row.qty_reserved,
        qty_issued=row.qty_issued,
        qty_released=row.qty_released,
        status=row.status,
    )


def _reservation_out(
    reference_type: str, reference: str, lines: list[ReservationLineOut]
) -> ReservationOut:
    if all(line.status == CLOSED for line in lines) and not any(line.qty_issued for line in lines):
        status = "released"
    elif any(line.qty_short > 0 for line in lines):
        status = "short"
    else:
        status = "reserved"
    return ReservationOut(
        reference_type=reference_type, reference=reference, status=status, lines=lines
    )


def _no_reservation(reference_type: str, reference: str) -> NotFound:
    return NotFound(
        _(
            "no reservation for {reference_type} '{reference}'",
            reference_type=reference_type,
            reference=reference,
        ),
        field="reference",
    )


_RESERVATIONS = cast(Table, Reservation.__table__)
_ITEMS = cast(Table, Item.__table__)
_ROW_COLUMNS = (
    _RESERVATIONS.c.id,
    _RESERVATIONS.c.item_id,
    _RESERVATIONS.c.line_no,
    _RESERVATIONS.c.qty_required,
    _RESERVATIONS.c.qty_available,
    _RESERVATIONS.c.qty_reserved,
    _RESERVATIONS.c.qty_issued,
    _RESERVATIONS.c.qty_released,
    _RESERVATIONS.c.status,
)
_OF_REFERENCE = (_RESERVATIONS.c.reference_type == bindparam("rtype")) & (
    _RESERVATIONS.c.reference == bindparam("ref")
)
_ROWS_OF_REFERENCE = select(*_ROW_COLUMNS).where(_OF_REFERENCE).order_by(_RESERVATIONS.c.id)
_ROWS_WITH_SKU = (
    select(*_ROW_COLUMNS, _ITEMS.c.sku)
    .join(_ITEMS, _ITEMS.c.id == _RESERVATIONS.c.item_id)
    .where(_OF_REFERENCE)
    .order_by(_RESERVATIONS.c.line_no, _RESERVATIONS.c.id)
)
_ROW_OF_LINE = select(*_ROW_COLUMNS).where(
    _OF_REFERENCE,
    _RESERVATIONS.c.item_id == bindparam("item"),
    _RESERVATIONS.c.line_no == bindparam("line"),
)
_INSERT_RESERVATION = insert(_RESERVATIONS)
_REOPEN_RESERVATION = (
    update(_RESERVATIONS)
    .where(_RESERVATIONS.c.id == bindparam("row_id"))
    .values(
        qty_required=bindparam("required", type_=Amount()),
        qty_available=bindparam("available", type_=Amount()),
        qty_reserved=bindparam("reserved", type_=Amount()),
        qty_issued=ZERO,
        qty_released=ZERO,
        status=OPEN,
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
_TOP_UP_RESERVATION = (
    update(_RESERVATIONS)
    .where(_RESERVATIONS.c.id == bindparam("row_id"))
    .values(
        qty_reserved=_RESERVATIONS.c.qty_reserved + bindparam("add_qty", type_=Amount()),
        qty_required=bindparam("required", type_=Amount()),
        status=OPEN,
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
_SET_RESERVATION = (
    update(_RESERVATIONS)
    .where(_RESERVATIONS.c.id == bindparam("row_id"))
    .values(
        qty_issued=bindparam("issued", type_=Amount()),
        qty_released=bindparam("released", type_=Amount()),
        status=bindparam("new_status"),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
