"""The log of ERP imports (erp_import_runs in mrp's database): one row per run, dry or not.

A run is written when it starts ("running") and again when it ends ("done" or "failed", with
the summary per entity and the error, and its steps that were not unchanged), each in its own
short transaction, so a run that dies half-way is still on record. An applying run refuses to
start while another applying run started less than `STALE_AFTER` ago is still "running": two
imports at once would both create what the ERP has and the portal lacks. A run started from the
admin's page (`alone=True`) refuses to start while any run, dry or not, is still running.
The check and the new row are one transaction that first takes a lock of the whole log (SQLite's
write lock, a transaction advisory lock on PostgreSQL), so the CLI, a schedule and the page,
or two replicas, starting at the same instant, cannot both pass the check.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from services.mrp.erp.models import ErpImportRun, ErpImportStep
from services.mrp.erp.plan import Step, Verdict
from shared.events.envelope import utc_now
from shared.i18n import Text, _
from shared.uow import UnitOfWork

# A run still "running" after this long died without saying so (killed, machine restarted).
STALE_AFTER = timedelta(hours=1)
# The transaction advisory lock that makes starting a run one at a time on PostgreSQL.
START_LOCK = zlib.crc32(b"portal.mrp.erp_import.start")

UowFactory = Callable[[], UnitOfWork]


class AnotherImportRunning(Exception):
    def __init__(self, message: Text, run_id: int) -> None:
        super().__init__(str(message))
        self.message = message
        self.run_id = run_id


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: datetime
    finished_at: datetime | None
    dry_run: bool
    requested_by: str
    status: str
    summary: Mapping[str, Any]
    error: str | None

    @property
    def abandoned(self) -> bool:
        """Still "running" long after any run ends: its process died without saying so."""
        return self.status == "running" and self.started_at <= utc_now() - STALE_AFTER


@dataclass(frozen=True)
class StepRecord:
    entity: str
    key: str
    verdict: str
    details: str
    failure: str | None
    done: bool
    named: str | None


def start_run(
    uow_factory: UowFactory, *, dry_run: bool, requested_by: str, alone: bool = False
) -> int:
    with uow_factory() as uow:
        if uow.session.get_bind().dialect.name == "postgresql":
            uow.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": START_LOCK})
        if alone or not dry_run:
            wanted = [
                ErpImportRun.status == "running",
                ErpImportRun.started_at > utc_now() - STALE_AFTER,
            ]
            if not alone:
                wanted.append(ErpImportRun.dry_run.is_(False))
            running = uow.session.scalar(
                select(ErpImportRun).where(*wanted).order_by(ErpImportRun.id.desc()).limit(1)
            )
            if running is not None:
                raise AnotherImportRunning(
                    _(
                        "Import {run} (by {user}, started {started}) is still running; wait for "
                        "it to end.",
                        run=running.id,
                        user=running.requested_by,
                        started=running.started_at.isoformat(timespec="seconds"),
                    ),
                    running.id,
                )
        run = ErpImportRun(
            started_at=utc_now(),
            finished_at=None,
            dry_run=dry_run,
            requested_by=requested_by[:64],
            status="running",
            summary="{}",
            error=None,
        )
        uow.session.add(run)
        uow.session.flush()
        run_id = run.id
        uow.commit()
    return run_id


def finish_run(
    uow_factory: UowFactory,
    run_id: int,
    *,
    status: str,
    summary: Mapping[str, Any],
    error: str | None = None,
    steps: Sequence[Step] = (),
) -> None:
    """End the run; its steps are kept but for the unchanged ones (counted in the summary)."""
    with uow_factory() as uow:
        run = uow.session.get(ErpImportRun, run_id)
        if run is None:  # pragma: no cover - the row was written by start_run
            return
        run.status = status
        run.finished_at = utc_now()
        run.summary = json.dumps(summary, default=str)
        run.error = _storable(error) if error is not None else None
        uow.session.add_all(
            ErpImportStep(
                run_id=run_id,
                position=position,
                entity=step.entity,
                key=_storable(step.key)[:255],
                verdict=step.verdict.value,
                details=_storable("; ".join(str(detail) for detail in step.details)),
                failure=_storable(step.failure) if step.failure is not None else None,
                done=step.done,
                named=_storable(step.named)[:64] or None if step.named else None,
            )
            for position, step in enumerate(steps)
            if step.verdict is not Verdict.UNCHANGED
        )
        uow.commit()


def _storable(text: str) -> str:
    """The text without NUL characters, which PostgreSQL refuses in text: an ERP's values (in a
    step's key and details, or a service's refusal quoting them) may hold some, and the run's
    end must be kept whatever its records say."""
    return text.replace("\x00", "")


def recent_runs(uow_factory: UowFactory, limit: int = 20, offset: int = 0) -> list[RunRecord]:
    """The runs, newest first."""
    with uow_factory() as uow:
        rows = uow.session.scalars(
            select(ErpImportRun).order_by(ErpImportRun.id.desc()).limit(limit).offset(offset)
        ).all()
        return [_record(run) for run in rows]


def count_runs(uow_factory: UowFactory) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ErpImportRun)) or 0)


def get_run(uow_factory: UowFactory, run_id: int) -> tuple[RunRecord, list[StepRecord]] | None:
    """One run and its kept steps in the order they were planned; None if there is none."""
    with uow_factory() as uow:
        run = uow.session.get(ErpImportRun, run_id)
        if run is None:
            return None
        steps = uow.session.scalars(
            select(ErpImportStep)
            .where(ErpImportStep.run_id == run_id)
            .order_by(ErpImportStep.position)
        ).all()
        return _record(run), [
            StepRecord(
                step.entity,
                step.key,
                step.verdict,
                step.details,
                step.failure,
                step.done,
                step.named,
            )
            for step in steps
        ]


def _record(run: ErpImportRun) -> RunRecord:
    return RunRecord(
        run.id,
        run.started_at,
        run.finished_at,
        run.dry_run,
        run.requested_by,
        run.status,
        json.loads(run.summary or "{}"),
        run.error,
    )
