"""The scheduling grid's use cases: the open lines with their figures, totals and FG cards, one
projection cell saved, a line's cell history. They take an open unit of work and leave the
commit to the caller.

Two planners never overwrite each other silently: a save names the row version the planner's
grid showed, and the order's row is locked (FOR UPDATE) before the version is compared, so of
two saves naming the same version exactly one is applied; the other is refused with the row as
it is now. Every save of any line of an order takes the same lock, the lock shipping and
cancelling take too, so a line cannot close between the check and the write.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select

from services.mrp.planning.models import StockLevel
from services.mrp.sales.domain import extended_value
from services.mrp.sales.models import Customer, KnownItem, SalesOrder, SalesOrderLine
from services.mrp.schedule import domain
from services.mrp.schedule.domain import (
    ZERO,
    OpenLine,
    ProjectionField,
    ScheduleRuleBroken,
    Stock,
)
from services.mrp.schedule.models import LineProjection, ProjectionChange
from services.mrp.schedule.schemas import (
    CardValueOut,
    CellSave,
    FgCardsOut,
    ProjectionChangeOut,
    ProjectionHistory,
    ProjectionOut,
    ScheduleOut,
    ScheduleRow,
    ScheduleTotals,
)
from shared.audit import record_change
from shared.events.catalogue import ScheduleProjectionChanged
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import PageParams, contains_text
from shared.web.problems import Conflict, InvalidInput, NotFound

FINISHED_ITEM_TYPE = "finished"
# A line without a business unit of its own is in its order's.
line_business_unit = func.coalesce(SalesOrderLine.business_unit, SalesOrder.business_unit)
OPEN_LINE = (
    SalesOrder.status.not_in([str(status) for status in domain.CLOSED_STATUSES]),
    SalesOrderLine.qty_shipped < SalesOrderLine.qty_ordered,
)


@dataclass(frozen=True)
class ScheduleFilters:
    """Which open lines to show; a due filter leaves out lines without a due date, and
    `updated_since` lines whose projections were never saved."""

    customer_code: str | None = None
    business_unit: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    sku: str | None = None
    search: str | None = None
    updated_since: datetime | None = None


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------

SORTS: dict[str, Any] = {
    "due_date": SalesOrderLine.due_date,
    "so_number": SalesOrder.number,
    "customer": Customer.name,
    "sku": SalesOrderLine.sku,
    "business_unit": line_business_unit,
    "updated_at": LineProjection.updated_at,
}


def schedule(
    uow: UnitOfWork,
    filters: ScheduleFilters,
    page: PageParams,
    today: date,
    sort: str | None = None,
) -> ScheduleOut:
    """The page of lines asked for, the totals of every line matching the filters, and the
    plant's FG cards (which the filters do not narrow)."""
    rows, cards = _rows_and_cards(uow, filters, today, sort)
    return ScheduleOut(
        items=rows[page.offset : page.offset + page.limit],
        total=len(rows),
        limit=page.limit,
        offset=page.offset,
        totals=totals_of(rows),
        cards=cards,
    )


@dataclass(frozen=True)
class Export:
    """The grid as a workbook: its lines with the total row, and the FG value cards."""

    lines: list[list[Any]]
    cards: list[list[Any]]


def export(
    uow: UnitOfWork, filters: ScheduleFilters, today: date, sort: str | None = None
) -> Export:
    """Every line the grid would show with these filters, then the total row; and the plant's
    FG value cards (which the filters do not narrow), as the page shows them above the grid."""
    rows, cards = _rows_and_cards(uow, filters, today, sort)
    return Export(lines=list(_line_cells(rows)), cards=card_cells(cards))


def card_cells(cards: FgCardsOut) -> list[list[Any]]:
    """One row per card: what it holds, the due days of the lines it covers (from, to; empty
    for no limit), its value at cost and at sales price; then, a row apart, the day they are
    worked out on and the SKUs counted at cost only."""
    day_after = cards.current_cutoff + timedelta(days=1)
    after_next = cards.next_cutoff + timedelta(days=1)
    cells: list[list[Any]] = [
        [str(label), first, last, card.at_cost, card.at_price]
        for label, first, last, card in (
            (_("FG on hand"), None, None, cards.total),
            (_("For lines due by the current cutoff"), None, cards.current_cutoff, cards.current),
            (_("For lines due in the next period"), day_after, cards.next_cutoff, cards.next),
            (_("Not needed by either"), after_next, None, cards.not_needed),
        )
    ]
    cells += [[], [str(_("Worked out on")), cards.as_of]]  # a row apart: not a card
    if cards.unpriced_skus:
        cells.append([str(_("No open line prices (at cost only)")), ", ".join(cards.unpriced_skus)])
    return cells


def _line_cells(rows: Sequence[ScheduleRow]) -> Iterator[list[Any]]:
    for row in rows:
        yield [
            row.so_number,
            row.line_no,
            row.customer_code,
            row.customer_name,
            row.business_unit,
            row.sku,
            row.due_date,
            row.qty_ordered,
            row.qty_shipped,
            row.fg_on_hand,
            row.fg_covering,
            row.net_qty,
            row.unit_price,
            row.ordered_value,
            row.net_value,
            row.low_risk_qty,
            row.low_risk_value,
            row.high_risk_qty,
            row.high_risk_value,
            row.updated_by,
            row.updated_at,
        ]
    total = totals_of(rows)
    yield [
        str(_("Total ({count} lines)", count=total.lines)),
        None,
        None,
        None,
        None,
        None,
        None,
        total.qty_ordered,
        total.qty_shipped,
        None,
        total.fg_covering,
        total.net_qty,
        None,
        total.ordered_value,
        total.net_value,
        total.low_risk_qty,
        total.low_risk_value,
        total.high_risk_qty,
        total.high_risk_value,
        None,
        None,
    ]


def totals_of(rows: Sequence[ScheduleRow]) -> ScheduleTotals:
    def total(name: str) -> Decimal:
        return sum((getattr(row, name) or ZERO for row in rows), ZERO)

    return ScheduleTotals(
        lines=len(rows),
        **{
            name: total(name)
            for name in (
                "qty_ordered",
                "qty_shipped",
                "qty_open",
                "fg_covering",
                "net_qty",
                "ordered_value",
                "net_value",
                "low_risk_qty",
                "low_risk_value",
                "high_risk_qty",
                "high_risk_value",
            )
        },
    )


def _rows_and_cards(
    uow: UnitOfWork, filters: ScheduleFilters, today: date, sort: str | None
) -> tuple[list[ScheduleRow], FgCardsOut]:
    """Every open line counts for the cover (the stock goes to the earliest lines whatever
    the grid shows), then the lines matching the filters become the rows."""
    every_line = _open_lines(uow)
    stock = _fg_stock(uow, {line.sku for line in every_line})
    covered = domain.cover_by_line(every_line, {sku: s.on_hand for sku, s in stock.items()})
    current, following = domain.cutoffs(today)
    rows = [
        _row(found, stock, covered, current, following)
        for found in uow.session.execute(_matching(filters, sort))
    ]
    cards = domain.fg_cards(today, every_line, stock, covered)
    return rows, _cards_out(cards)


def _open_lines(uow: UnitOfWork) -> list[OpenLine]:
    query = (
        select(
            SalesOrderLine.id,
            SalesOrder.number,
            SalesOrderLine.line_no,
            SalesOrderLine.sku,
            SalesOrderLine.due_date,
            SalesOrderLine.qty_ordered,
            SalesOrderLine.qty_shipped,
            SalesOrderLine.unit_price,
            SalesOrderLine.qty_allocated,
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.so_id)
        .where(*OPEN_LINE)
    )
    return [OpenLine(*found) for found in uow.session.execute(query)]


def _fg_stock(uow: UnitOfWork, sold_skus: set[str]) -> dict[str, Stock]:
    """Approved FG on hand (available + allocated: QC holds and WIP are not on the shelf) of
    every finished item and of anything an open line sells, with its average cost."""
    finished = select(KnownItem.sku).where(KnownItem.item_type == FINISHED_ITEM_TYPE)
    query = select(StockLevel).where(
        or_(StockLevel.sku.in_(finished), StockLevel.sku.in_(sorted(sold_skus)))
    )
    return {
        level.sku: Stock(on_hand=level.available + level.allocated, average_cost=level.average_cost)
        for level in uow.session.scalars(query)
    }


def _matching(filters: ScheduleFilters, sort: str | None) -> Select[*tuple[Any, ...]]:
    query = (
        select(
            SalesOrderLine,
            SalesOrder.number,
            SalesOrder.status,
            line_business_unit,
            Customer.code,
            Customer.name,
            KnownItem.name,
            LineProjection,
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.so_id)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .outerjoin(KnownItem, KnownItem.sku == SalesOrderLine.sku)
        .outerjoin(LineProjection, LineProjection.so_line_id == SalesOrderLine.id)
        .where(*OPEN_LINE)
    )
    if filters.customer_code:
        query = query.where(Customer.code == filters.customer_code)
    if filters.business_unit:
        query = query.where(line_business_unit == filters.business_unit)
    if filters.due_from:
        query = query.where(SalesOrderLine.due_date >= filters.due_from)
    if filters.due_to:
        query = query.where(SalesOrderLine.due_date <= filters.due_to)
    if filters.sku:
        query = query.where(SalesOrderLine.sku == filters.sku)
    if filters.updated_since:
        query = query.where(LineProjection.updated_at >= filters.updated_since)
    if filters.search:
        query = query.where(
            contains_text(
                filters.search,
                SalesOrder.number,
                Customer.code,
                Customer.name,
                SalesOrderLine.sku,
                KnownItem.name,
            )
        )
    return _sorted(query, sort)


def _sorted(query: Select[*tuple[Any, ...]], sort: str | None) -> Select[*tuple[Any, ...]]:
    """By the column asked for (due date by default; a leading '-' for descending), lines
    without a value last either way, then by due date, order and line number."""
    chosen = sort or "due_date"
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
    column = SORTS[name]
    first = column.desc() if chosen.startswith("-") else column.asc()
    return query.order_by(
        first.nulls_last(),
        SalesOrderLine.due_date.asc().nulls_last(),
        SalesOrder.number,
        SalesOrderLine.line_no,
    )


def _row(
    found: Sequence[Any],
    stock: dict[str, Stock],
    covered: dict[int, Decimal],
    current: date,
    following: date,
) -> ScheduleRow:
    line: SalesOrderLine = found[0]
    number, status, business_unit, customer_code, customer_name, item_name = found[1:7]
    projection: LineProjection | None = found[7]
    qty_open = line.qty_ordered - line.qty_shipped
    covering = covered.get(line.id, ZERO)
    net = domain.net_qty(qty_open, covering)
    low = projection.low_risk_qty if projection else None
    high = projection.high_risk_qty if projection else None
    held = stock.get(line.sku)
    return ScheduleRow(
        so_line_id=line.id,
        so_number=number,
        line_no=line.line_no,
        status=status,
        customer_code=customer_code,
        customer_name=customer_name,
        business_unit=business_unit,
        sku=line.sku,
        item_name=item_name,
        due_date=line.due_date,
        period=domain.period_of(line.due_date, current, following),
        qty_ordered=line.qty_ordered,
        qty_shipped=line.qty_shipped,
        qty_open=qty_open,
        fg_on_hand=held.on_hand if held else ZERO,
        fg_covering=covering,
        net_qty=net,
        unit_price=line.unit_price,
        ordered_value=extended_value(line.qty_ordered, line.unit_price),
        net_value=extended_value(net, line.unit_price),
        low_risk_qty=low,
        low_risk_value=domain.value(low, line.unit_price),
        high_risk_qty=high,
        high_risk_value=domain.value(high, line.unit_price),
        version=projection.version if projection else 0,
        updated_by=projection.updated_by if projection else None,
        updated_at=projection.updated_at if projection else None,
    )


def _cards_out(cards: domain.FgCards) -> FgCardsOut:
    def out(card: domain.CardValue) -> CardValueOut:
        return CardValueOut(at_cost=card.at_cost, at_price=card.at_price)

    return FgCardsOut(
        as_of=cards.as_of,
        current_cutoff=cards.current_cutoff,
        next_cutoff=cards.next_cutoff,
        total=out(cards.total),
        current=out(cards.current),
        next=out(cards.next),
        not_needed=out(cards.not_needed),
        unpriced_skus=cards.unpriced_skus,
    )


# --------------------------------------------------------------------------------------------
# Saving one cell
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LockedLine:
    line: SalesOrderLine
    so_number: str
    status: str


def save_cell(
    uow: UnitOfWork,
    so_line_id: int,
    target: ProjectionField,
    body: CellSave,
    user: str,
    timezone: str,
) -> ProjectionOut:
    """Save one projection cell when `body.version` is the row's version now: the version goes
    up by one, who and when are kept, the change joins the line's history and the audit log.
    A save that changes nothing (the same value again) records nothing."""
    locked = _lock_line(uow, so_line_id)
    line = locked.line
    projection = uow.session.get(LineProjection, line.id, populate_existing=True)
    current_version = projection.version if projection else 0
    if body.version != current_version:
        raise _stale(locked, projection, target, timezone)
    _apply_rule(
        lambda: domain.check_line_takes_projections(
            locked.so_number, line.line_no, locked.status, line.qty_ordered, line.qty_shipped
        )
    )
    _apply_rule(
        lambda: domain.check_projection_value(
            target, body.value, line.qty_ordered - line.qty_shipped
        )
    )
    old_value = getattr(projection, target.value) if projection else None
    if old_value == body.value:  # the same value again, or emptying a cell never filled
        return _projection_out(locked, projection, target)
    before = _snapshot(projection)
    now = utc_now()
    if projection is None:
        projection = LineProjection(so_line_id=line.id, version=0)
        uow.session.add(projection)
    setattr(projection, target.value, body.value)
    projection.version = current_version + 1
    projection.updated_by = user
    projection.updated_at = now
    uow.session.add(
        ProjectionChange(
            so_line_id=line.id,
            field=target.value,
            old_value=old_value,
            new_value=body.value,
            changed_by=user,
            changed_at=now,
        )
    )
    uow.session.flush()
    out = _projection_out(locked, projection, target)
    _publish(uow, locked, projection)
    record_change(
        uow,
        "mrp.schedule.save",
        "sales_order_line",
        f"{locked.so_number}/{line.line_no}",
        before,
        _snapshot(projection),
    )
    return out


def _publish(uow: UnitOfWork, locked: _LockedLine, projection: LineProjection) -> None:
    """ScheduleProjectionChanged: the line's projections after the save, for the open grids."""
    uow.add_event(
        ScheduleProjectionChanged(
            so_number=locked.so_number,
            line_no=locked.line.line_no,
            row_version=projection.version,
            low_risk_qty=projection.low_risk_qty,
            high_risk_qty=projection.high_risk_qty,
            updated_by=projection.updated_by,
            updated_at=projection.updated_at,
        ),
        key=f"{locked.so_number}/{locked.line.line_no}",
    )


def _lock_line(uow: UnitOfWork, so_line_id: int) -> _LockedLine:
    """The line, read after its order's row is locked (the lock every save, shipment and
    cancellation of the order takes), so what is checked is what is current."""
    so_id = uow.session.scalar(select(SalesOrderLine.so_id).where(SalesOrderLine.id == so_line_id))
    if so_id is None:
        raise NotFound(
            _("There is no sales-order line {id}.", id=so_line_id),
            field="so_line_id",
            code="unknown_line",
        )
    number, status = uow.session.execute(
        select(SalesOrder.number, SalesOrder.status).where(SalesOrder.id == so_id).with_for_update()
    ).one()
    line = uow.session.get(SalesOrderLine, so_line_id, populate_existing=True)
    assert line is not None  # a line is never deleted
    return _LockedLine(line=line, so_number=number, status=status)


def _stale(
    locked: _LockedLine,
    projection: LineProjection | None,
    target: ProjectionField,
    timezone: str,
) -> Conflict:
    """409 concurrent_change carrying the row as it is now; the message says who changed it."""
    current = _projection_out(locked, projection, target)
    value = getattr(projection, target.value) if projection else None
    shown = domain.plain(value) if value is not None else str(_("empty"))
    if projection is None:
        detail = _(
            "{so_number} line {line_no} has changed since you loaded it. Your change was not "
            "saved; the grid shows the line as it is now.",
            so_number=locked.so_number,
            line_no=locked.line.line_no,
        )
    else:
        detail = _(
            "{user} changed {so_number} line {line_no} at {time} while you were editing: "
            "{field} is now {value}. Your change was not saved; enter it again if it still "
            "holds.",
            user=projection.updated_by,
            so_number=locked.so_number,
            line_no=locked.line.line_no,
            time=_local_time(projection.updated_at, timezone),
            field=domain.FIELD_NAMES[target],
            value=shown,
        )
    return Conflict(
        detail,
        field="version",
        code="concurrent_change",
        extensions={"current": current.model_dump(mode="json")},
    )


def _local_time(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _projection_out(
    locked: _LockedLine, projection: LineProjection | None, target: ProjectionField
) -> ProjectionOut:
    price = locked.line.unit_price
    low = projection.low_risk_qty if projection else None
    high = projection.high_risk_qty if projection else None
    return ProjectionOut(
        so_line_id=locked.line.id,
        so_number=locked.so_number,
        line_no=locked.line.line_no,
        field=target,
        value=low if target is ProjectionField.LOW_RISK_QTY else high,
        low_risk_qty=low,
        low_risk_value=domain.value(low, price),
        high_risk_qty=high,
        high_risk_value=domain.value(high, price),
        version=projection.version if projection else 0,
        updated_by=projection.updated_by if projection else None,
        updated_at=projection.updated_at if projection else None,
    )


def _snapshot(projection: LineProjection | None) -> dict[str, Any] | None:
    if projection is None:
        return None
    return {
        "low_risk_qty": projection.low_risk_qty,
        "high_risk_qty": projection.high_risk_qty,
        "version": projection.version,
    }


def _apply_rule(check: Any) -> None:
    """Run a domain check; a broken rule becomes the 409 or 422 the client sees."""
    try:
        check()
    except ScheduleRuleBroken as broken:
        error = Conflict if broken.conflict else InvalidInput
        raise error(broken.detail, field=broken.field, code=broken.code) from broken


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------


def history(uow: UnitOfWork, so_line_id: int, page: PageParams) -> ProjectionHistory:
    """The line's saved cells, newest first."""
    found = uow.session.execute(
        select(SalesOrder.number, SalesOrderLine.line_no)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.so_id)
        .where(SalesOrderLine.id == so_line_id)
    ).first()
    if found is None:
        raise NotFound(
            _("There is no sales-order line {id}.", id=so_line_id),
            field="so_line_id",
            code="unknown_line",
        )
    of_line = ProjectionChange.so_line_id == so_line_id
    total = uow.session.scalar(select(func.count(ProjectionChange.id)).where(of_line)) or 0
    changes = uow.session.scalars(
        select(ProjectionChange)
        .where(of_line)
        .order_by(ProjectionChange.changed_at.desc(), ProjectionChange.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    return ProjectionHistory(
        so_line_id=so_line_id,
        so_number=found[0],
        line_no=found[1],
        items=[
            ProjectionChangeOut(
                id=change.id,
                field=ProjectionField(change.field),
                old_value=change.old_value,
                new_value=change.new_value,
                changed_by=change.changed_by,
                changed_at=change.changed_at,
            )
            for change in changes
        ],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
