"""The mrp service alone (SQLite, or an empty PostgreSQL database) with its read models fed by
the events other services publish, as the inbox applies them: a test states the plant's stock,
BOMs, purchase orders and lines as events, adds customers and sales orders in mrp's own tables,
and runs the MRP. Nothing is relayed: the outbox keeps every event mrp published."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count
from pathlib import Path

from services import registry
from services.mrp.runs.models import MrpLineResult, MrpRun
from services.mrp.runs.service import run_mrp
from services.mrp.sales.models import Customer, SalesOrder, SalesOrderLine
from shared.bus.inprocess import InProcessBus
from shared.events.catalogue import (
    BomLine,
    BomReleased,
    CapacityChanged,
    EventPayload,
    ItemUpserted,
    LineCapacity,
    LineUpserted,
    PurchaseOrderChanged,
    PurchaseOrderLine,
    StockChanged,
)
from shared.events.envelope import Envelope, utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.uow import UnitOfWork
from tests.support.service_api import ServiceApi

SECRET = "mrp-plan-test-secret-" + "x" * 30
PLAN_DATE = date(2026, 11, 23)  # a Monday
D = Decimal


class MrpPlan(ServiceApi):
    def __init__(self, runtime: ServiceRuntime) -> None:
        super().__init__(runtime, SECRET)
        self._sequence = count(1)
        self.fed: list[Envelope] = []

    def uow(self) -> UnitOfWork:
        uow: UnitOfWork = self.runtime.uow()
        return uow

    # events ----------------------------------------------------------------------------------

    def feed(self, payload: EventPayload, key: str, producer: str = "test") -> Envelope:
        envelope = Envelope(
            type=payload.event_type,
            version=payload.version,
            producer=producer,
            key=key,
            sequence=next(self._sequence),
            payload=payload.model_dump(mode="json"),
        )
        self.apply([envelope])
        self.fed.append(envelope)
        return envelope

    def apply(self, envelopes: Iterable[Envelope]) -> None:
        failures = self.runtime.consumer.apply_batch(list(envelopes))
        assert not failures, failures

    def item(
        self,
        sku: str,
        *,
        make: bool = False,
        customer_supplied: bool = False,
        family: str | None = None,
        uom: str = "EA",
    ) -> None:
        self.feed(
            ItemUpserted(
                sku=sku,
                name=sku,
                uom=uom,
                item_type="finished" if make else "raw",
                make_or_buy="make" if make else "buy",
                customer_supplied=customer_supplied,
                family=family,
            ),
            key=sku,
        )

    def stock(self, sku: str, available: str = "0", pending_qc: str = "0", wip: str = "0") -> None:
        on_hand = D(available) + D(pending_qc)
        self.feed(
            StockChanged(
                sku=sku,
                on_hand=on_hand,
                available=D(available),
                allocated=D(0),
                pending_qc=D(pending_qc),
                wip=D(wip),
                open_reservations=D(0),
                average_cost=D(1),
            ),
            key=sku,
        )

    def bom(self, sku: str, *components: tuple[str, str], output_qty: str = "1") -> None:
        self.feed(
            BomReleased(
                sku=sku,
                bom_version=1,
                output_qty=D(output_qty),
                lines=tuple(
                    BomLine(line_no=n, component_sku=c, qty_per=D(q))
                    for n, (c, q) in enumerate(components, start=1)
                ),
                released_at=utc_now(),
            ),
            key=sku,
        )

    def purchase_order(
        self, number: str, *lines: tuple[str, str, str], status: str = "submitted"
    ) -> None:
        """lines: (sku, ordered, received)."""
        self.feed(
            PurchaseOrderChanged(
                po_number=number,
                vendor_code="V1",
                status=status,  # type: ignore[arg-type]
                order_date=PLAN_DATE,
                lines=tuple(
                    PurchaseOrderLine(
                        line_no=n, sku=sku, qty_ordered=D(q), qty_received=D(r), unit_cost=D(1)
                    )
                    for n, (sku, q, r) in enumerate(lines, start=1)
                ),
            ),
            key=number,
        )

    def line(
        self,
        code: str,
        *capacities: LineCapacity,
        shifts: tuple[int, ...] = (2, 2, 2, 2, 2, 0, 0),
        speed: str = "1",
    ) -> None:
        self.feed(
            LineUpserted(
                line_code=code, name=code, facility_code="PLANT-1", speed_modifier=D(speed)
            ),
            key=code,
        )
        self.feed(
            CapacityChanged(
                line_code=code,
                facility_code="PLANT-1",
                capacities=capacities,
                shifts_by_weekday=shifts,
            ),
            key=f"capacity:{code}",
        )

    # mrp's own rows --------------------------------------------------------------------------

    def customer(self, code: str, priority: int = 3) -> None:
        now = utc_now()
        with self.uow() as uow:
            uow.session.add(
                Customer(
                    code=code,
                    name=f"Customer {code}",
                    priority=priority,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.commit()

    def sales_order(
        self,
        number: str,
        customer: str,
        *lines: tuple[str, str, date | None],
        price: str = "10",
        penalty: bool = False,
        status: str = "open",
    ) -> None:
        """lines: (sku, qty, due)."""
        now = utc_now()
        with self.uow() as uow:
            customer_id = uow.session.query(Customer.id).filter_by(code=customer).scalar()
            so = SalesOrder(
                number=number,
                customer_id=customer_id,
                status=status,
                order_date=PLAN_DATE,
                business_unit="BU1",
                contractual_penalty=penalty,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(so)
            uow.session.flush()
            for n, (sku, qty, due) in enumerate(lines, start=1):
                uow.session.add(
                    SalesOrderLine(
                        so_id=so.id,
                        line_no=n,
                        sku=sku,
                        qty_ordered=D(qty),
                        qty_shipped=D(0),
                        qty_allocated=D(0),
                        unit_price=D(price),
                        due_date=due,
                    )
                )
            uow.commit()

    # the run ---------------------------------------------------------------------------------

    def run(self, plan_date: date = PLAN_DATE) -> dict[tuple[str, int], MrpLineResult]:
        with self.uow() as uow:
            run = run_mrp(uow, requested_by="planner-test", plan_date=plan_date)
            uow.commit()
            run_id = run.id
        return self.results(run_id)

    def results(self, run_id: int | None = None) -> dict[tuple[str, int], MrpLineResult]:
        with self.uow() as uow:
            if run_id is None:
                run_id = uow.session.query(MrpRun.id).order_by(MrpRun.id.desc()).limit(1).scalar()
            rows = uow.session.query(MrpLineResult).filter_by(run_id=run_id).all()
            uow.session.expunge_all()
        return {(row.so_number, row.line_no): row for row in rows}


@asynccontextmanager
async def mrp_plan(tmp_path: Path, *, db_url: str | None = None) -> AsyncIterator[MrpPlan]:
    runtime = ServiceRuntime(
        registry.definition("mrp"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    try:
        yield MrpPlan(runtime)
    finally:
        runtime.db.engine.dispose()


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
