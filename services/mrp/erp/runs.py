"""The log of ERP imports (erp_import_runs in mrp's database): one row per run, dry or not.

A run is written when it starts ("running") and again when it ends ("done" or "failed", with
the summary per entity and the error), each in its own short transaction, so a run that dies
half-way is still on record. An applying run refuses to start while another applying run
started less than `STALE_AFTER` ago is still "running": two imports at once would both create
what the ERP has and the portal lacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.mrp.erp.models import ErpImportRun
from shared.events.envelope import utc_now
from shared.i18n import Text, _
from shared.uow import UnitOfWork

# A run still "running" after this long died without saying so (killed, machine restarted).
STALE_AFTER = timedelta(hours=1)

UowFactory = Callable[[], UnitOfWork]


class AnotherImportRunning(Exception):
    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.message = message


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


def start_run(uow_factory: UowFactory, *, dry_run: bool, requested_by: str) -> int:
    with uow_factory() as uow:
        if not dry_run:
            running = uow.session.scalar(
                select(ErpImportRun)
                .where(
                    ErpImportRun.status == "running",
                    ErpImportRun.dry_run.is_(False),
                    ErpImportRun.started_at > utc_now() - STALE_AFTER,
                )
                .order_by(ErpImportRun.id.desc())
                .limit(1)
            )
            if running is not None:
                raise AnotherImportRunning(
                    _(
                        "Import {run} (by {user}, started {started}) is still running; wait for "
                        "it to end.",
                        run=running.id,
                        user=running.requested_by,
                        started=running.started_at.isoformat(timespec="seconds"),
                    )
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
) -> None:
    with uow_factory() as uow:
        run = uow.session.get(ErpImportRun, run_id)
        if run is None:  # pragma: no cover - the row was written by start_run
            return
        run.status = status
        run.finished_at = utc_now()
        run.summary = json.dumps(summary, default=str)
        run.error = error
        uow.commit()


def recent_runs(uow_factory: UowFactory, limit: int = 20) -> list[RunRecord]:
    with uow_factory() as uow:
        rows = uow.session.scalars(
            select(ErpImportRun).order_by(ErpImportRun.id.desc()).limit(limit)
        ).all()
        return [
            RunRecord(
                run.id,
                run.started_at,
                run.finished_at,
                run.dry_run,
                run.requested_by,
                run.status,
                json.loads(run.summary or "{}"),
                run.error,
            )
            for run in rows
        ]
