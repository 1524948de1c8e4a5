"""Keeping the downtime service's copy of production: orders (newest sequence wins), runs and QC
decisions (each once; the inbox drops a redelivery, the primary key a replay), and the
families of items."""

from __future__ import annotations

from services.downtime.floor.models import ItemFamily, OrderOnLine, QcOutcome, RunOutput
from shared.events.catalogue import ItemUpserted, PrintCompleted, ProductionOrderChanged, QCPassed
from shared.events.envelope import utc_now
from shared.uow import UnitOfWork


def remember_order(uow: UnitOfWork, order: ProductionOrderChanged, sequence: int) -> None:
    known = uow.session.get(OrderOnLine, order.order_code, with_for_update=True)
    if known is None:
        uow.session.add(
            OrderOnLine(
                order_code=order.order_code,
                sku=order.sku,
                status=order.status,
                line_code=order.line_code,
                qty_to_make=order.qty_to_make,
                sequence=sequence,
                updated_at=utc_now(),
            )
        )
        return
    if sequence <= known.sequence:
        return
    known.sku, known.status, known.line_code = order.sku, order.status, order.line_code
    known.qty_to_make, known.sequence, known.updated_at = order.qty_to_make, sequence, utc_now()


def remember_run(uow: UnitOfWork, run: PrintCompleted) -> None:
    """A run's output, on the line it names or else the line its order is on."""
    if uow.session.get(RunOutput, run.run_id) is not None:
        return
    line_code = run.line_code
    if line_code is None:
        order = uow.session.get(OrderOnLine, run.order_code)
        line_code = order.line_code if order is not None else None
    uow.session.add(
        RunOutput(
            run_id=run.run_id,
            order_code=run.order_code,
            sku=run.sku,
            line_code=line_code,
            qty_good=run.qty_good,
            qty_bad=run.qty_bad,
            started_at=run.started_at,
            completed_at=run.completed_at,
        )
    )


def remember_qc(uow: UnitOfWork, decision: QCPassed) -> None:
    if uow.session.get(QcOutcome, decision.qc_record_id) is not None:
        return
    uow.session.add(
        QcOutcome(
            qc_record_id=decision.qc_record_id,
            order_code=decision.order_code,
            run_id=decision.run_id,
            qty_passed=decision.qty_passed,
            qty_failed=decision.qty_failed,
            inspected_at=decision.inspected_at,
        )
    )


def remember_item(uow: UnitOfWork, item: ItemUpserted, sequence: int) -> None:
    known = uow.session.get(ItemFamily, item.sku, with_for_update=True)
    if known is None:
        uow.session.add(ItemFamily(sku=item.sku, family=item.family, sequence=sequence))
        return
    if sequence > known.sequence:
        known.family, known.sequence = item.family, sequence
