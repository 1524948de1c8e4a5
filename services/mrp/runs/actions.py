"""What a planner does from the MRP's result: create a job for a line (a production order made
to the sales-order line, through the production service) and suggest purchases for its short
parts (draft purchase orders at each part's preferred vendor, through purchasing).

Both ask another service and wait for its answer, so each is three steps, each a transaction
of its own, with the call between them outside any transaction:
1. `claim_*`: under a lock on the latest run's row, check the line and record the action as
   pending (an `MrpAction` with no reference yet). A second click, or a second planner, finds
   it and is refused (409 naming the line); a claim left by a request that died is taken over
   after `STALE_CLAIM`.
2. the call, as the planner (shared/web/peers.py), with an Idempotency-Key of its own made from
   the claim, so a repeat after a lost answer finds the first job or drafts again.
3. `record_*`: the answer becomes the action's reference (the job's code, the PO numbers) and
   the audit entry; a refusal instead releases the claim and is passed on, naming the service.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi import Request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from services.mrp.runs import dashboard
from services.mrp.runs.dashboard import LineFilters, components_of, job_qty, status_text, to_buy
from services.mrp.runs.models import MrpAction, MrpLineResult, MrpRun
from services.mrp.runs.schemas import (
    AskedLine,
    JobOut,
    LineKey,
    PurchasesOut,
    UnplacedOut,
)
from services.mrp.runs.service import latest_run
from shared import context
from shared.audit import record_change
from shared.events.envelope import utc_now
from shared.i18n import Text, _, format_number
from shared.uow import UnitOfWork
from shared.web.commands import CONCURRENT_CHANGE, IDEMPOTENCY_HEADER
from shared.web.peers import PeerProblem
from shared.web.problems import Conflict, InvalidInput, PortalError

JOB, PURCHASES = "job", "purchases"
# A claim older than this belongs to a request that never came back (the process died between
# the call and the record): another click may take it over.
STALE_CLAIM = timedelta(minutes=2)
# What purchasing takes in one call (its MAX_LINES).
MAX_SHORTAGE_LINES = 500


# --- replays ---------------------------------------------------------------------------------


def answered_before(uow: UnitOfWork, request: Request) -> bool:
    """Whether this request's Idempotency-Key already has its stored answer: then the entry
    point replays it through `run_command` instead of claiming again (which would refuse)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if not key:
        return False
    caller = context.get_current_user()
    table = uow.tables.idempotency_keys
    found = uow.session.execute(
        select(table.c.status_code).where(
            table.c.caller == (caller.user if caller is not None else ""), table.c.key == key
        )
    ).first()
    return found is not None and found[0] is not None


# --- claims ----------------------------------------------------------------------------------


def _locked_latest_run(uow: UnitOfWork) -> MrpRun:
    run = latest_run(uow)
    if run is None:
        raise Conflict(
            _("The MRP has not been run yet: run it, then act on its lines."), code="no_run"
        )
    locked = uow.session.scalar(
        select(MrpRun)
        .where(MrpRun.id == run.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None:  # pruned by a newer run meanwhile
        raise Conflict(CONCURRENT_CHANGE, code="concurrent_change")
    return locked


def _existing(
    uow: UnitOfWork, kind: str, run_id: int, so_number: str, line_no: int
) -> MrpAction | None:
    """The live action of `kind` for the line in this run (a stale claim is removed)."""
    action = uow.session.scalar(
        select(MrpAction).where(
            MrpAction.kind == kind,
            MrpAction.run_id == run_id,
            MrpAction.so_number == so_number,
            MrpAction.line_no == line_no,
        )
    )
    if action is not None and action.reference == "" and action.done_at < utc_now() - STALE_CLAIM:
        uow.session.delete(action)
        uow.session.flush()
        return None
    return action


def _new_claim(uow: UnitOfWork, kind: str, run_id: int, so_number: str, line_no: int) -> int:
    """A pending action, taken under the run's lock."""
    caller = context.get_current_user()
    action = MrpAction(
        kind=kind,
        so_number=so_number,
        line_no=line_no,
        run_id=run_id,
        reference="",
        done_by=caller.user if caller is not None else "",
        done_at=utc_now(),
    )
    uow.session.add(action)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        raise Conflict(CONCURRENT_CHANGE, code="concurrent_change") from exc
    return action.id


def release(uow: UnitOfWork, action_ids: Sequence[int]) -> None:
    """Forget claims whose call was refused or failed (only while still pending)."""
    if action_ids:
        uow.session.execute(
            delete(MrpAction).where(MrpAction.id.in_(action_ids), MrpAction.reference == "")
        )


def _line_name(row: MrpLineResult) -> str:
    return f"{row.so_number}/{row.line_no}"


# --- create job --------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobClaim:
    action_id: int
    run_id: int
    so_number: str
    line_no: int
    sku: str
    qty: Decimal
    due_date: date | None
    line_code: str | None
    body: dict[str, Any]
    key: str


def claim_job(uow: UnitOfWork, so_number: str, line_no: int, qty: Decimal | None) -> JobClaim:
    """Check that the line can have a job made from this run, and hold the right to make it."""
    run = _locked_latest_run(uow)
    row = dashboard.line_row(uow, run.id, so_number, line_no)
    default = job_qty(row, components_of(row))
    if default is None:
        raise Conflict(
            _(
                "Sales order {so_number} line {line_no} is '{status}': a job is made only for "
                "a line production can start (Full or Partial Production Ready, or the "
                "production part of a Partial Ship with something that can be made).",
                so_number=so_number,
                line_no=line_no,
                status=status_text(row),
            ),
            field="status",
            code="not_production",
        )
    if qty is not None and qty > row.qty_needed:
        raise InvalidInput(
            _(
                "A job for sales order {so_number} line {line_no} makes at most the "
                "{needed} production must still make.",
                so_number=so_number,
                line_no=line_no,
                needed=format_number(row.qty_needed),
            ),
            field="qty",
        )
    existing = _existing(uow, JOB, run.id, so_number, line_no)
    if existing is not None:
        raise Conflict(
            _(
                "A job was already created for sales order {so_number} line {line_no} from "
                "this MRP run: {reference}. Run the MRP again to plan what is still needed.",
                so_number=so_number,
                line_no=line_no,
                reference=existing.reference or _("being created now"),
            ),
            field="line_no",
            code="job_exists",
            extensions={"order_code": existing.reference or None},
        )
    chosen = qty if qty is not None else default
    action_id = _new_claim(uow, JOB, run.id, so_number, line_no)
    body = {
        "sku": row.sku,
        "order_type": "mto",
        "so_number": so_number,
        "so_line_no": line_no,
        "qty_ordered": format(chosen, "f"),
        "due_date": row.due_date.isoformat() if row.due_date else None,
        "line_code": row.line_code,
        "notes": f"MRP run {run.id}",
    }
    key = f"mrp-job-{run.id}-{so_number}-{line_no}-{format(chosen.normalize(), 'f')}"
    return JobClaim(
        action_id=action_id,
        run_id=run.id,
        so_number=so_number,
        line_no=line_no,
        sku=row.sku,
        qty=chosen,
        due_date=row.due_date,
        line_code=row.line_code,
        body=body,
        key=key,
    )


def record_job(uow: UnitOfWork, claim: JobClaim, order: Mapping[str, Any]) -> JobOut:
    code = str(order.get("code") or "")
    uow.session.execute(
        update(MrpAction)
        .where(MrpAction.id == claim.action_id)
        .values(reference=code[:400], done_at=utc_now())
    )
    out = JobOut(
        so_number=claim.so_number,
        line_no=claim.line_no,
        run_id=claim.run_id,
        order_code=code,
        sku=claim.sku,
        qty=claim.qty,
        due_date=claim.due_date,
        line_code=claim.line_code,
        order=dict(order),
    )
    record_change(
        uow,
        "mrp.actions.create_job",
        "sales_order_line",
        f"{claim.so_number}/{claim.line_no}",
        None,
        out.model_dump(mode="json", exclude={"order"}),
    )
    return out


# --- suggest purchases -------------------------------------------------------------------------


@dataclass
class PurchaseClaim:
    run_id: int | None
    action_ids: dict[str, int] = field(default_factory=dict)  # "SO/line" -> claimed action
    skus_of: dict[str, set[str]] = field(default_factory=dict)  # "SO/line" -> SKUs asked
    asked: list[AskedLine] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: str | None = None

    @property
    def body(self) -> dict[str, Any]:
        return {
            "lines": [
                {
                    "sku": line.sku,
                    "qty": format(line.qty, "f"),
                    "need_by": line.need_by.isoformat() if line.need_by else None,
                    "reference": line.reference,
                }
                for line in self.asked
            ],
            "notes": self.notes,
        }

    @property
    def key(self) -> str:
        digest = hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()
        return f"mrp-purchases-{self.run_id}-{digest[:40]}"

    def nothing(self) -> PurchasesOut:
        return PurchasesOut(
            run_id=self.run_id,
            asked=[],
            orders=[],
            order_numbers=[],
            unplaced=[],
            skipped=self.skipped,
        )


def claim_purchases_for_line(
    uow: UnitOfWork, so_number: str, line_no: int, notes: str | None
) -> PurchaseClaim:
    """One line's short bought parts; refused when it has none or they were already asked
    for from this run."""
    run = _locked_latest_run(uow)
    row = dashboard.line_row(uow, run.id, so_number, line_no)
    claim = PurchaseClaim(run_id=run.id, notes=notes)
    if not to_buy(row):
        raise Conflict(
            _(
                "Sales order {so_number} line {line_no} is short of nothing we buy (its short "
                "parts, if any, are made here or supplied by the customer).",
                so_number=so_number,
                line_no=line_no,
            ),
            field="line_no",
            code="nothing_short",
        )
    existing = _existing(uow, PURCHASES, run.id, so_number, line_no)
    if existing is not None:
        raise Conflict(
            _(
                "Purchases were already suggested for sales order {so_number} line {line_no} "
                "from this MRP run: {reference}.",
                so_number=so_number,
                line_no=line_no,
                reference=existing.reference or _("being created now"),
            ),
            field="line_no",
            code="purchases_exist",
        )
    _claim_line(uow, claim, run, row)
    return claim


def claim_purchases(
    uow: UnitOfWork,
    filters: LineFilters,
    keys: Sequence[LineKey] | None,
    notes: str | None,
) -> PurchaseClaim:
    """The short bought parts of the lines listed (or of every line the filters match); lines
    already asked for from this run are skipped and named."""
    run = _locked_latest_run(uow)
    claim = PurchaseClaim(run_id=run.id, notes=notes)
    if keys is not None:
        rows = []
        for key in dict.fromkeys((k.so_number, k.line_no) for k in keys):
            rows.append(dashboard.line_row(uow, run.id, *key))
    else:
        rows = dashboard.filtered_rows(uow, run.id, filters)
    for row in rows:
        if not to_buy(row):
            continue
        if _existing(uow, PURCHASES, run.id, row.so_number, row.line_no) is not None:
            claim.skipped.append(_line_name(row))
            continue
        _claim_line(uow, claim, run, row)
    if len(claim.asked) > MAX_SHORTAGE_LINES:
        raise InvalidInput(
            _(
                "These lines are short of {count} parts; purchasing takes at most {limit} in "
                "one request. Narrow the filters and suggest in parts.",
                count=len(claim.asked),
                limit=MAX_SHORTAGE_LINES,
            ),
            field="lines",
            code="too_many_shortages",
        )
    return claim


def _claim_line(uow: UnitOfWork, claim: PurchaseClaim, run: MrpRun, row: MrpLineResult) -> None:
    name = _line_name(row)
    claim.action_ids[name] = _new_claim(uow, PURCHASES, run.id, row.so_number, row.line_no)
    parts = to_buy(row)
    claim.skus_of[name] = set(parts)
    # Needed by the line's due date; one already past (or none) means as soon as it can come.
    need_by = row.due_date if row.due_date and row.due_date >= run.plan_date else None
    for sku, qty in parts.items():
        claim.asked.append(AskedLine(sku=sku, qty=qty, need_by=need_by, reference=name))


def record_purchases(
    uow: UnitOfWork, claim: PurchaseClaim, answer: Mapping[str, Any]
) -> PurchasesOut:
    """Each line's action gets the numbers of the drafts that hold its SKUs; a line none of
    whose parts could be placed keeps no action (nothing was ordered for it)."""
    orders = [order for order in answer.get("orders") or [] if isinstance(order, dict)]
    numbers_by_sku: dict[str, list[str]] = {}
    for order in orders:
        for line in order.get("lines") or []:
            numbers = numbers_by_sku.setdefault(str(line.get("sku")), [])
            if order.get("number") and order["number"] not in numbers:
                numbers.append(str(order["number"]))
    unplaced = [
        UnplacedOut(
            sku=str(u.get("sku")), qty=Decimal(str(u.get("qty"))), reason=str(u.get("reason"))
        )
        for u in answer.get("unplaced") or []
        if isinstance(u, dict)
    ]
    now = utc_now()
    for name, action_id in claim.action_ids.items():
        numbers = sorted({n for sku in claim.skus_of[name] for n in numbers_by_sku.get(sku, [])})
        if not numbers:
            release(uow, [action_id])
            continue
        reference = ",".join(numbers)[:400]
        uow.session.execute(
            update(MrpAction)
            .where(MrpAction.id == action_id)
            .values(reference=reference, done_at=now)
        )
        record_change(
            uow,
            "mrp.actions.suggest_purchases",
            "sales_order_line",
            name,
            None,
            {
                "run_id": claim.run_id,
                "purchase_orders": numbers,
                "lines": [
                    line.model_dump(mode="json") for line in claim.asked if line.reference == name
                ],
            },
        )
    return PurchasesOut(
        run_id=claim.run_id,
        asked=claim.asked,
        orders=orders,
        order_numbers=[str(order["number"]) for order in orders if order.get("number")],
        unplaced=unplaced,
        skipped=claim.skipped,
    )


# --- refusals of the other service -------------------------------------------------------------


def refused_by(service: str, what: Text, error: PortalError) -> PortalError:
    """Another service's refusal, said as ours: what was refused, by whom, and why (its own
    words, already in the user's language); its status, code and extra members kept."""
    if not isinstance(error, PeerProblem):
        return error
    extensions = {
        **error.extensions,
        "service": service,
        "service_field": error.field,
    }
    body: dict[str, Any] = {
        "title": error.title,
        "detail": str(
            _(
                "The {service} service refused {what}: {reason}",
                service=service,
                what=what,
                reason=str(error.detail),
            )
        ),
        "code": error.code,
        **extensions,
    }
    return PeerProblem(error.status, body)
