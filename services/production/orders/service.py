"""Production order use cases: create, schedule, start (in two steps around inventory's
reservation), record runs and QC decisions (with the reprint of a shortfall), cancel, and read
orders, lists and reprint chains. Each takes an open unit of work and leaves the commit to its
caller; every change publishes the order's whole state (ProductionOrderChanged, key = code).

Production never touches stock: starting asks inventory to reserve the components (the API
layer makes that call, between `plan_start` and `record_start`), and the events tell inventory
what happened on the floor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Select, case, func, select

from services.production.bom.service import requirements_for
from services.production.items.models import KnownItem
from services.production.items.service import active_item
from services.production.orders import domain
from services.production.orders.domain import (
    PRIORITY_RANK,
    OrderStatus,
    OrderType,
    Priority,
    QcFigures,
)
from services.production.orders.models import (
    OrderCounter,
    OrderShortage,
    ProductionOrder,
    ProductionRun,
    QcRecord,
)
from services.production.orders.schemas import (
    ChainOrderOut,
    ChainTotalsOut,
    OrderCancel,
    OrderCreate,
    OrderDetail,
    OrderOut,
    OrderSchedule,
    QcCreate,
    QcRecordOut,
    QcResult,
    ReprintHistoryOut,
    RunCreate,
    RunOut,
    RunResult,
    ShortageOut,
)
from services.production.scrap.service import usable_code
from shared import context
from shared.audit import record_change
from shared.clock import plant_date
from shared.counters import take_next
from shared.events.catalogue import (
    ComponentRequirement,
    PrintCompleted,
    ProductionOrderChanged,
    ProductionStarted,
    QCPassed,
    ReprintCreated,
    Shortage,
)
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, contains_text, paginate
from shared.web.problems import Conflict, NotFound, ServiceUnavailable

ZERO = Decimal(0)
# The reprint of a shortfall no QC decision or run explains (all passed units were counted,
# fewer printed than ordered) is booked under this standard code.
FALLBACK_REPRINT_REASON = "OTHER"
SYSTEM_USER = "system"


# --- create, schedule, cancel -------------------------------------------------------------


def create_order(uow: UnitOfWork, data: OrderCreate, settings: Settings) -> OrderDetail:
    """A draft order for a known, active item with a released BOM."""
    item = active_item(uow, data.sku)
    order_type = domain.order_type_for(data.order_type, data.so_number, data.so_line_no)
    qty_to_make = domain.qty_to_make_for(data.qty_ordered, data.qty_to_make)
    domain.check_dates(
        data.due_date, plant_date(data.planned_start, settings) if data.planned_start else None
    )
    bom_version, _needs = requirements_for(uow, item.sku, qty_to_make)
    order = _new_order(
        uow,
        settings,
        sku=item.sku,
        order_type=order_type,
        so_number=data.so_number,
        so_line_no=data.so_line_no,
        qty_ordered=data.qty_ordered,
        qty_to_make=qty_to_make,
        priority=data.priority,
        due_date=data.due_date,
        line_code=data.line_code,
        planned_start=data.planned_start,
        notes=data.notes or None,
        bom_version=bom_version,
        requires_qc=item.requires_qc,
    )
    out = _publish(uow, order)
    record_change(uow, "production.orders.create", "production_order", order.code, None, out)
    return out


def schedule_order(uow: UnitOfWork, code: str, data: OrderSchedule) -> OrderDetail:
    """Put a draft order (or a scheduled one again) on a line and a start time."""
    order = _order_for_update(uow, code)
    domain.check_transition(code, OrderStatus(order.status), OrderStatus.SCHEDULED)
    before = _detail(uow, order)
    if data.line_code is not None:
        order.line_code = data.line_code
    if data.planned_start is not None:
        order.planned_start = data.planned_start
    if data.priority is not None:
        order.priority = data.priority.value
    order.status = OrderStatus.SCHEDULED.value
    order.updated_at = utc_now()
    out = _publish(uow, order)
    record_change(uow, "production.orders.schedule", "production_order", code, before, out)
    return out


def cancel_order(uow: UnitOfWork, code: str, data: OrderCancel) -> OrderDetail:
    """Cancel an order not yet printed. Inventory hears ProductionOrderChanged(cancelled): it
    releases what is still reserved and returns material already in WIP."""
    order = _order_for_update(uow, code)
    domain.check_transition(code, OrderStatus(order.status), OrderStatus.CANCELLED)
    before = _detail(uow, order)
    now = utc_now()
    order.status = OrderStatus.CANCELLED.value
    order.cancel_reason = data.reason
    order.cancelled_at = order.updated_at = now
    out = _publish(uow, order)
    record_change(uow, "production.orders.cancel", "production_order", code, before, out)
    return out


# --- start ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartPlan:
    """What starting an order reserves: its BOM exploded for the quantity to make."""

    order_code: str
    bom_version: int
    components: tuple[tuple[str, Decimal], ...]

    def reservation(self, allow_insufficient: bool) -> dict[str, Any]:
        """The body of inventory's POST /api/v1/reservations (docs/production.md)."""
        return {
            "reference_type": "production_order",
            "reference": self.order_code,
            "lines": [{"sku": sku, "qty": format(qty, "f")} for sku, qty in self.components],
            "allow_insufficient": allow_insufficient,
        }


class ReservedLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sku: str
    qty_required: Decimal
    qty_reserved: Decimal
    qty_available: Decimal = ZERO
    qty_short: Decimal = ZERO


class ReservationAnswer(BaseModel):
    """Inventory's answer to a reservation, the part production reads."""

    model_config = ConfigDict(extra="ignore")

    status: str
    lines: list[ReservedLine]


class StartAbandoned(Conflict):
    """The start cannot go on after the reservation was made (the API releases it)."""


def plan_start(uow: UnitOfWork, code: str) -> StartPlan | None:
    """The reservation starting `code` needs; None when it is already in progress (starting it
    again changes nothing). Refused for an order that is neither draft nor scheduled."""
    order = _order(uow, code)
    status = OrderStatus(order.status)
    if status is OrderStatus.IN_PROGRESS:
        return None
    domain.check_transition(code, status, OrderStatus.IN_PROGRESS)
    bom_version, needs = requirements_for(uow, order.sku, order.qty_to_make)
    return StartPlan(code, bom_version, tuple(needs))


def not_started(uow: UnitOfWork, code: str) -> bool:
    """True while nothing was started on the order: a reservation made for it is not in use."""
    status = uow.session.scalar(select(ProductionOrder.status).where(ProductionOrder.code == code))
    return status in (
        OrderStatus.DRAFT.value,
        OrderStatus.SCHEDULED.value,
        OrderStatus.CANCELLED.value,
    )


def read_reservation(answer: Any) -> ReservationAnswer:
    try:
        return ReservationAnswer.model_validate(answer)
    except ValidationError as exc:
        raise ServiceUnavailable(
            _("The inventory service answered the reservation in a form production cannot read."),
            code="peer_answer_unreadable",
        ) from exc


def record_start(
    uow: UnitOfWork, code: str, plan: StartPlan | None, answer: ReservationAnswer | None
) -> OrderDetail:
    """In progress: ProductionStarted lists the exploded requirement (inventory issues what
    the reservation holds of it), shortages are kept on the order. Already in progress:
    returned unchanged."""
    order = _order_for_update(uow, code)
    status = OrderStatus(order.status)
    if status is OrderStatus.IN_PROGRESS:
        return _detail(uow, order)
    if plan is None or answer is None:  # in progress when planned, printed or cancelled now
        raise domain.transition_refused(code, status, OrderStatus.IN_PROGRESS)
    if not domain.can_move(status, OrderStatus.IN_PROGRESS):
        raise StartAbandoned(
            _(
                "Production order {code} became {status} while it was being started; "
                "nothing was started.",
                code=code,
                status=status.value,
            ),
            field="status",
            code="order_transition",
        )
    shortages = [line for line in answer.lines if line.qty_short > 0]
    before = _detail(uow, order)
    now = utc_now()
    order.status = OrderStatus.IN_PROGRESS.value
    order.bom_version = plan.bom_version
    order.started_at = order.updated_at = now
    order.shortages = [
        OrderShortage(
            sku=line.sku,
            qty_required=line.qty_required,
            qty_available=max(line.qty_available, ZERO),
            qty_short=line.qty_short,
        )
        for line in shortages
    ]
    uow.session.flush()
    uow.add_event(
        ProductionStarted(
            order_code=order.code,
            sku=order.sku,
            qty=order.qty_to_make,
            bom_version=plan.bom_version,
            # The whole requirement: inventory issues what the reservation holds of it, so an
            # order started with allow_insufficient and nothing in stock still starts.
            components=tuple(
                ComponentRequirement(sku=sku, qty=qty) for sku, qty in sorted(plan.components)
            ),
            line_code=order.line_code,
            so_number=order.so_number,
            so_line_no=order.so_line_no,
            started_at=now,
        ),
        key=order.code,
    )
    out = _publish(uow, order)
    record_change(uow, "production.orders.start", "production_order", code, before, out)
    return out


def _reserved_by_sku(answer: ReservationAnswer) -> dict[str, Decimal]:
    reserved: dict[str, Decimal] = {}
    for line in answer.lines:
        if line.qty_reserved > 0:
            reserved[line.sku] = reserved.get(line.sku, ZERO) + line.qty_reserved
    return reserved


def _shortage_json(line: ReservedLine) -> dict[str, str]:
    return {
        "sku": line.sku,
        "qty_required": format(line.qty_required, "f"),
        "qty_available": format(line.qty_available, "f"),
        "qty_short": format(line.qty_short, "f"),
    }


# --- runs -----------------------------------------------------------------------------------


def record_run(uow: UnitOfWork, code: str, data: RunCreate, settings: Settings) -> RunResult:
    """Count a run of an order in progress; its final run prints the order. PrintCompleted
    tells inventory to book the output: material is consumed there and only there.

    When the final run leaves nothing to inspect (an item that needs no QC, or no good unit at
    all) the order is completed at once, and its shortfall reprinted as after QC."""
    order = _order_for_update(uow, code)
    domain.check_run(code, OrderStatus(order.status), data.qty_good, data.qty_bad)
    scrap_code = (
        usable_code(uow, data.scrap_reason_code, field="scrap_reason_code").code
        if data.qty_bad > 0 or data.scrap_reason_code
        else None
    )
    before = _detail(uow, order)
    now = utc_now()
    run_no = len(order.runs) + 1
    run = ProductionRun(
        order_id=order.id,
        run_no=run_no,
        run_id=f"{order.code}-R{run_no}",
        qty_good=data.qty_good,
        qty_bad=data.qty_bad,
        scrap_reason_code=scrap_code,
        notes=data.notes or None,
        final_run=data.final_run,
        line_code=order.line_code,
        completed_at=now,
        recorded_by=_actor(),
    )
    uow.session.add(run)
    order.runs.append(run)
    order.qty_good += data.qty_good
    order.qty_bad += data.qty_bad
    if not order.requires_qc:
        order.qty_passed += data.qty_good  # straight to FG: accepted without inspection
    reprint: ProductionOrder | None = None
    if data.final_run:
        order.status = domain.status_after_final_run(order.requires_qc, order.qty_good).value
        order.printed_at = now
        if order.status == OrderStatus.COMPLETED.value:
            order.completed_at = now
            if data.reprint:
                reprint = _reprint_if_short(uow, settings, order, None, [])
    order.updated_at = now
    uow.session.flush()
    uow.add_event(
        PrintCompleted(
            order_code=order.code,
            run_id=run.run_id,
            sku=order.sku,
            qty_good=run.qty_good,
            qty_bad=run.qty_bad,
            scrap_reason_code=scrap_code,
            requires_qc=order.requires_qc,
            final_run=run.final_run,
            notes=run.notes,
            line_code=order.line_code,
            completed_at=now,
        ),
        key=order.code,
    )
    reprint_out = _announce_reprint(uow, order, reprint, None, now)
    out = _publish(uow, order)
    record_change(uow, "production.orders.run", "production_order", code, before, out)
    return RunResult(**RunOut.model_validate(run).model_dump(), order=out, reprint=reprint_out)


# --- QC and reprints ------------------------------------------------------------------------


def record_qc(uow: UnitOfWork, code: str, data: QcCreate, settings: Settings) -> QcResult:
    """Pass and fail part or all of a printed order's good output. Once all of it is inspected
    the order is completed and, unless `reprint` is false, the shortfall against the quantity
    ordered becomes a reprint order in the same chain (one per order: `reprint_of` is unique)."""
    order = _order_for_update(uow, code)
    figures = QcFigures(order.qty_good, order.qty_passed, order.qty_failed)
    domain.check_qc(
        code,
        OrderStatus(order.status),
        order.requires_qc,
        figures,
        data.qty_passed,
        data.qty_failed,
    )
    reason = (
        usable_code(uow, data.reason_code, field="reason_code").code
        if data.qty_failed > 0 or data.reason_code
        else None
    )
    before = _detail(uow, order)
    now = utc_now()
    qc_no = len(order.qc_records) + 1
    record = QcRecord(
        order_id=order.id,
        qc_no=qc_no,
        qc_record_id=f"{order.code}-QC{qc_no}",
        qty_passed=data.qty_passed,
        qty_failed=data.qty_failed,
        reason_code=reason,
        notes=data.notes or None,
        reprint_order_code=None,
        inspected_at=now,
        inspected_by=_actor(),
    )
    earlier = [r.reason_code for r in order.qc_records if r.qty_failed > 0]
    uow.session.add(record)
    order.qc_records.append(record)
    order.qty_passed += data.qty_passed
    order.qty_failed += data.qty_failed
    order.updated_at = now
    fully_inspected = order.qty_passed + order.qty_failed >= order.qty_good
    if fully_inspected:
        order.status = OrderStatus.COMPLETED.value
        order.completed_at = now
    reprint = (
        _reprint_if_short(uow, settings, order, reason if data.qty_failed > 0 else None, earlier)
        if data.reprint and fully_inspected
        else None
    )
    record.reprint_order_code = reprint.code if reprint is not None else None
    uow.session.flush()
    uow.add_event(
        QCPassed(
            qc_record_id=record.qc_record_id,
            order_code=order.code,
            sku=order.sku,
            qty_passed=record.qty_passed,
            qty_failed=record.qty_failed,
            reason_code=reason,
            reprint_order_code=record.reprint_order_code,
            inspected_at=now,
        ),
        key=order.code,
    )
    reprint_out = _announce_reprint(uow, order, reprint, record.qc_record_id, now)
    out = _publish(uow, order)
    record_change(uow, "production.orders.qc", "production_order", code, before, out)
    return QcResult(
        **QcRecordOut.model_validate(record).model_dump(), order=out, reprint=reprint_out
    )


def _reprint_if_short(
    uow: UnitOfWork,
    settings: Settings,
    order: ProductionOrder,
    qc_reason: str | None,
    earlier_qc_reasons: Sequence[str | None],
) -> ProductionOrder | None:
    """The reprint of a completed order's shortfall (ordered, less passed), if it is short."""
    shortfall = domain.reprint_shortfall(order.qty_ordered, order.qty_passed)
    if shortfall <= 0:
        return None
    why = domain.reprint_reason(
        qc_reason,
        earlier_qc_reasons,
        [run.scrap_reason_code for run in order.runs if run.qty_bad > 0],
        FALLBACK_REPRINT_REASON,
    )
    return _create_reprint(uow, settings, order, shortfall, why)


def _announce_reprint(
    uow: UnitOfWork,
    original: ProductionOrder,
    reprint: ProductionOrder | None,
    qc_record_id: str | None,
    now: datetime,
) -> OrderOut | None:
    """ReprintCreated and the new order's state, audited; None when there is no reprint."""
    if reprint is None:
        return None
    uow.add_event(
        ReprintCreated(
            order_code=reprint.code,
            original_order_code=original.code,
            root_order_code=reprint.root_order_code or original.code,
            sku=reprint.sku,
            qty=reprint.qty_ordered,
            reason_code=reprint.reprint_reason or FALLBACK_REPRINT_REASON,
            qc_record_id=qc_record_id,
            created_at=now,
        ),
        key=reprint.code,
    )
    out = _publish(uow, reprint)
    record_change(uow, "production.orders.reprint", "production_order", reprint.code, None, out)
    return out


def _create_reprint(
    uow: UnitOfWork, settings: Settings, original: ProductionOrder, qty: Decimal, reason: str
) -> ProductionOrder:
    """A draft order for `qty` more of the original's item, high priority, in the original's
    chain: linked to the order it replaces and to the chain's root, next in sequence."""
    root = original.root_order_code or original.code
    last_seq = uow.session.scalar(
        select(func.max(ProductionOrder.reprint_seq)).where(ProductionOrder.root_order_code == root)
    )
    item = uow.session.get(KnownItem, original.sku)
    return _new_order(
        uow,
        settings,
        sku=original.sku,
        order_type=OrderType(original.order_type),
        so_number=original.so_number,
        so_line_no=original.so_line_no,
        qty_ordered=qty,
        qty_to_make=qty,
        priority=Priority.HIGH,
        due_date=original.due_date,
        line_code=original.line_code,
        planned_start=None,
        notes=None,
        bom_version=original.bom_version,
        requires_qc=item.requires_qc if item is not None else original.requires_qc,
        reprint_of=original.code,
        root_order_code=root,
        reprint_seq=(last_seq or 0) + 1,
        reprint_reason=reason,
    )


def reprint_history(uow: UnitOfWork, code: str) -> ReprintHistoryOut:
    """The chain `code` belongs to (from its root, in sequence) and its totals."""
    order = _order(uow, code)
    root_code = order.root_order_code or order.code
    chain = list(
        uow.session.scalars(
            select(ProductionOrder)
            .where(
                (ProductionOrder.code == root_code) | (ProductionOrder.root_order_code == root_code)
            )
            .order_by(ProductionOrder.reprint_seq, ProductionOrder.id)
        )
    )
    root = next(o for o in chain if o.code == root_code)
    totals = domain.chain_totals(
        root.qty_ordered,
        [
            domain.ChainOrder(o.qty_ordered, o.qty_good, o.qty_bad, o.qty_passed, o.qty_failed)
            for o in chain
        ],
    )
    return ReprintHistoryOut(
        root_order_code=root_code,
        sku=root.sku,
        orders=[
            ChainOrderOut(
                code=o.code,
                reprint_seq=o.reprint_seq,
                reprint_of=o.reprint_of,
                reprint_reason=o.reprint_reason,
                status=OrderStatus(o.status),
                qty_ordered=o.qty_ordered,
                qty_to_make=o.qty_to_make,
                qty_good=o.qty_good,
                qty_bad=o.qty_bad,
                qty_passed=o.qty_passed,
                qty_failed=o.qty_failed,
                created_at=o.created_at,
            )
            for o in chain
        ],
        totals=ChainTotalsOut(
            orders_in_chain=totals.orders_in_chain,
            qty_ordered=totals.qty_ordered,
            qty_printed=totals.qty_printed,
            qty_completed=totals.qty_completed,
            qty_scrapped=totals.qty_scrapped,
            effective_yield=totals.effective_yield,
        ),
    )


# --- reads ----------------------------------------------------------------------------------


def get_order(uow: UnitOfWork, code: str) -> OrderDetail:
    return _detail(uow, _order(uow, code))


@dataclass(frozen=True)
class OrderFilters:
    statuses: Sequence[OrderStatus] = ()
    line_code: str | None = None
    priority: Priority | None = None
    sku: str | None = None
    so_number: str | None = None
    root_order_code: str | None = None
    search: str | None = None


_PRIORITY_RANK = case(
    {priority.value: rank for priority, rank in PRIORITY_RANK.items()},
    value=ProductionOrder.priority,
    else_=0,
)
ORDER_SORTS: dict[str, Any] = {
    "code": ProductionOrder.code,
    "sku": ProductionOrder.sku,
    "status": ProductionOrder.status,
    "priority": _PRIORITY_RANK,
    "due_date": ProductionOrder.due_date,
    "planned_start": ProductionOrder.planned_start,
    "line_code": ProductionOrder.line_code,
    "qty_ordered": ProductionOrder.qty_ordered,
    "so_number": ProductionOrder.so_number,
    "created_at": ProductionOrder.created_at,
    "updated_at": ProductionOrder.updated_at,
}


def list_orders(
    uow: UnitOfWork, page: PageParams, filters: OrderFilters, sort: str | None = None
) -> Page[OrderOut]:
    """Orders, newest first unless `sort` says otherwise ('-priority' puts urgent first)."""
    return paginate(uow.session, _listing(filters, sort), page, lambda row: _out(row[0], row[1]))


def order_rows(uow: UnitOfWork, filters: OrderFilters, sort: str | None) -> Iterator[OrderOut]:
    """Every order of the same filtered, sorted list, for the export."""
    for order, name in uow.session.execute(_listing(filters, sort)):
        yield _out(order, name)


def _listing(filters: OrderFilters, sort: str | None) -> Select[Any]:
    query = select(ProductionOrder, KnownItem.name).outerjoin(
        KnownItem, KnownItem.sku == ProductionOrder.sku
    )
    if filters.statuses:
        query = query.where(ProductionOrder.status.in_([s.value for s in filters.statuses]))
    if filters.line_code:
        query = query.where(ProductionOrder.line_code == filters.line_code)
    if filters.priority:
        query = query.where(ProductionOrder.priority == filters.priority.value)
    if filters.sku:
        query = query.where(ProductionOrder.sku == filters.sku)
    if filters.so_number:
        query = query.where(ProductionOrder.so_number == filters.so_number)
    if filters.root_order_code:
        query = query.where(ProductionOrder.root_order_code == filters.root_order_code)
    if filters.search:
        query = query.where(
            contains_text(filters.search, ProductionOrder.code, ProductionOrder.sku)
        )
    return apply_sort(query, sort, ORDER_SORTS, default="-created_at", tiebreak=ProductionOrder.id)


# --- helpers --------------------------------------------------------------------------------


def _new_order(
    uow: UnitOfWork,
    settings: Settings,
    *,
    sku: str,
    order_type: OrderType,
    so_number: str | None,
    so_line_no: int | None,
    qty_ordered: Decimal,
    qty_to_make: Decimal,
    priority: Priority,
    due_date: date | None,
    line_code: str | None,
    planned_start: datetime | None,
    notes: str | None,
    bom_version: int | None,
    requires_qc: bool,
    reprint_of: str | None = None,
    root_order_code: str | None = None,
    reprint_seq: int = 0,
    reprint_reason: str | None = None,
) -> ProductionOrder:
    now = utc_now()
    year = plant_date(now, settings).year
    number = take_next(uow.session, OrderCounter.__table__, "last_number", year=year)
    order = ProductionOrder(
        code=domain.format_order_code(year, number),
        sku=sku,
        order_type=order_type.value,
        status=OrderStatus.DRAFT.value,
        qty_ordered=qty_ordered,
        qty_to_make=qty_to_make,
        qty_good=ZERO,
        qty_bad=ZERO,
        qty_passed=ZERO,
        qty_failed=ZERO,
        priority=priority.value,
        due_date=due_date,
        line_code=line_code,
        planned_start=planned_start,
        notes=notes,
        so_number=so_number,
        so_line_no=so_line_no,
        bom_version=bom_version,
        requires_qc=requires_qc,
        reprint_of=reprint_of,
        root_order_code=root_order_code,
        reprint_seq=reprint_seq,
        reprint_reason=reprint_reason,
        created_at=now,
        created_by=_actor(),
        updated_at=now,
        runs=[],
        qc_records=[],
        shortages=[],
    )
    uow.session.add(order)
    uow.session.flush()
    return order


def _actor() -> str:
    claims = context.get_current_user()
    return claims.user if claims is not None else SYSTEM_USER


def _order(uow: UnitOfWork, code: str) -> ProductionOrder:
    order = uow.session.scalar(select(ProductionOrder).where(ProductionOrder.code == code))
    if order is None:
        raise NotFound(_("There is no production order {code}.", code=code), field="code")
    return order


def _order_for_update(uow: UnitOfWork, code: str) -> ProductionOrder:
    """The order's row locked until commit: two runs, two QC decisions or two starts of one
    order queue instead of both counting against the same figures. Its runs, QC records and
    shortages are loaded after the lock (selectin), so they are the committed ones."""
    order = uow.session.scalar(
        select(ProductionOrder)
        .where(ProductionOrder.code == code)
        .with_for_update(of=ProductionOrder)
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(_("There is no production order {code}.", code=code), field="code")
    return order


def _item_name(uow: UnitOfWork, sku: str) -> str | None:
    return uow.session.scalar(select(KnownItem.name).where(KnownItem.sku == sku))


def _out(order: ProductionOrder, item_name: str | None) -> OrderOut:
    return OrderOut(**_fields(order, item_name))


def _detail(uow: UnitOfWork, order: ProductionOrder) -> OrderDetail:
    return OrderDetail(
        **_fields(order, _item_name(uow, order.sku)),
        runs=[RunOut.model_validate(run) for run in order.runs],
        qc_records=[QcRecordOut.model_validate(record) for record in order.qc_records],
    )


def _fields(order: ProductionOrder, item_name: str | None) -> Mapping[str, Any]:
    awaiting = (
        QcFigures(order.qty_good, order.qty_passed, order.qty_failed).awaiting_qc
        if order.requires_qc
        else ZERO
    )
    return {
        "code": order.code,
        "sku": order.sku,
        "item_name": item_name,
        "order_type": OrderType(order.order_type),
        "status": OrderStatus(order.status),
        "qty_ordered": order.qty_ordered,
        "qty_to_make": order.qty_to_make,
        "qty_good": order.qty_good,
        "qty_bad": order.qty_bad,
        "qty_scrapped": order.qty_bad + order.qty_failed,
        "qty_passed": order.qty_passed,
        "qty_failed": order.qty_failed,
        "qty_awaiting_qc": awaiting,
        "priority": Priority(order.priority),
        "due_date": order.due_date,
        "line_code": order.line_code,
        "planned_start": order.planned_start,
        "notes": order.notes,
        "so_number": order.so_number,
        "so_line_no": order.so_line_no,
        "bom_version": order.bom_version,
        "requires_qc": order.requires_qc,
        "reprint_of": order.reprint_of,
        "root_order_code": order.root_order_code,
        "reprint_seq": order.reprint_seq,
        "reprint_reason": order.reprint_reason,
        "shortages": [ShortageOut.model_validate(s) for s in order.shortages],
        "cancel_reason": order.cancel_reason,
        "created_at": order.created_at,
        "created_by": order.created_by,
        "updated_at": order.updated_at,
        "started_at": order.started_at,
        "printed_at": order.printed_at,
        "completed_at": order.completed_at,
        "cancelled_at": order.cancelled_at,
    }


def _publish(uow: UnitOfWork, order: ProductionOrder) -> OrderDetail:
    """ProductionOrderChanged: the order's whole state now (key = its code); the detail back."""
    uow.add_event(
        ProductionOrderChanged(
            order_code=order.code,
            sku=order.sku,
            order_type=order.order_type,
            status=order.status,
            qty_ordered=order.qty_ordered,
            qty_to_make=order.qty_to_make,
            qty_good=order.qty_good,
            qty_scrapped=order.qty_bad + order.qty_failed,
            qty_passed=order.qty_passed,
            qty_failed=order.qty_failed,
            priority=order.priority,
            so_number=order.so_number,
            so_line_no=order.so_line_no,
            bom_version=order.bom_version,
            line_code=order.line_code,
            reprint_of=order.reprint_of,
            root_order_code=order.root_order_code,
            reprint_seq=order.reprint_seq,
            requires_qc=order.requires_qc,
            shortages=tuple(
                Shortage(
                    sku=s.sku,
                    qty_required=s.qty_required,
                    qty_available=s.qty_available,
                    qty_short=s.qty_short,
                )
                for s in order.shortages
            ),
            planned_start=order.planned_start,
            due_date=order.due_date,
        ),
        key=order.code,
    )
    return _detail(uow, order)
