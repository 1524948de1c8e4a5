"""The ERP import's run log on PostgreSQL keeps a run's end whatever its records hold: an ERP
text with a NUL character (legacy ERPs pad fixed-width fields with them) reaches a step's
details, and PostgreSQL refuses NUL in text. The run must still end as logged, not stay
"running" for an hour (refusing every other import meanwhile)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from services.mrp.erp import runs
from services.mrp.erp.plan import Step, Verdict
from tests.support import servers
from tests.unit.test_schedule import _runtime

pytestmark = [pytest.mark.integration]


def test_a_run_whose_records_hold_a_nul_still_ends_with_its_steps(
    postgres: servers.PostgresDatabases, tmp_path: Path
) -> None:
    runtime = _runtime(tmp_path, postgres.create("erplog"))
    runtime.migrate()
    try:
        run_id = runs.start_run(runtime.uow, dry_run=False, requested_by="ana")
        steps = [
            Step("items", "RESIN\x00", Verdict.CHANGE, ("name: 'Resin' -> 'Resin\x00\x00'",)),
            Step(
                "sales_orders",
                "S1001",
                Verdict.CHANGE,
                ("notes",),
                failure="refused: 'a\x00b'",
                named="SO\x00",
            ),
        ]
        runs.finish_run(
            runtime.uow,
            run_id,
            status="failed",
            summary={"note": "x\x00y"},
            error="1 record(s) refused \x00",
            steps=steps,
        )
        found = runs.get_run(runtime.uow, run_id)
        assert found is not None
        run, kept = found
        assert (run.status, run.finished_at is not None) == ("failed", True)
        assert [(step.key, step.details, step.failure, step.named) for step in kept] == [
            ("RESIN", "name: 'Resin' -> 'Resin'", None, None),
            ("S1001", "notes", "refused: 'ab'", "SO"),
        ]
        # The next import may start.
        assert runs.start_run(runtime.uow, dry_run=False, requested_by="ana") > run_id
    finally:
        runtime.db.engine.dispose()


def test_a_run_starts_only_once_it_holds_the_log_lock_so_two_starts_never_both_pass(
    postgres: servers.PostgresDatabases, tmp_path: Path
) -> None:
    """While another start holds the log's lock (here: this test, by hand), a start waits; once
    it is let go the start goes on, and a second applying start is refused naming the first.
    Without the lock both could read "nothing running" and both insert."""
    runtime = _runtime(tmp_path, postgres.create("erplock"))
    runtime.migrate()
    try:
        with runtime.db.engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": runs.START_LOCK})
            with ThreadPoolExecutor(1) as pool:
                started = pool.submit(
                    runs.start_run, runtime.uow, dry_run=False, requested_by="ana"
                )
                time.sleep(0.5)
                assert not started.done()  # waiting for the lock
                holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": runs.START_LOCK})
                first = started.result(timeout=10)
        with pytest.raises(runs.AnotherImportRunning) as refused:
            runs.start_run(runtime.uow, dry_run=False, requested_by="bob")
        assert refused.value.run_id == first
    finally:
        runtime.db.engine.dispose()
