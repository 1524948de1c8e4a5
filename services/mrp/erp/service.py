"""One ERP import, start to end: read the ERP, compare with the portal, show, apply, log.

    1. read every mapping's query on one read-only ODBC connection;
    2. check the columns and convert the rows; a missing column or a bad value stops the run
       here, before anything is applied, naming the file, the row and the column;
    3. fetch what the portal holds of what the ERP names, and plan each record's step;
    4. a dry run prints the plan and stops; otherwise the steps are applied in order (items,
       BOMs, customers, sales orders, vendors and purchase orders, stock) through the owning
       services' APIs, waiting after new items until the services that need them have heard
       of them. A step a service refuses is reported and the others go on;
    5. the run, with its counts and what was held or refused, is written to erp_import_runs.

Running it twice changes nothing the second time: every step compares before it acts. The
caller provides the clients to the services and the way to mrp's database (`ErpImportContext`),
so the same run works inside the embedded portal, against a deployment, and in tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import structlog

from services.mrp.erp import report, runs
from services.mrp.erp.mapping import (
    MAX_ROW_PROBLEMS,
    SHIPPED_MAPPINGS,
    BadRows,
    ErpTable,
    MappingProblem,
    RowProblem,
    mapping_files,
    read_table,
)
from services.mrp.erp.odbc import ErpSourceProblem, QueryResult, read_mappings
from services.mrp.erp.plan import Step, Verdict, plan
from services.mrp.erp.portal import (
    PortalApi,
    PortalProblem,
    Refused,
    current_state,
    request_key,
)
from services.mrp.erp.records import ErpData, collect
from shared.auth.tokens import Role, issue_service_token
from shared.i18n import _
from shared.settings import Settings

log = structlog.get_logger(__name__)

# The user the services see (audit log, created_by) unless the caller names another.
IMPORT_USER = "erp-import"
# Which service must know an item before a step of this entity can name it.
READERS_OF_ITEMS = {"boms": "production", "sales_orders": "mrp", "purchase_orders": "purchasing"}
STOPPING = (MappingProblem, BadRows, ErpSourceProblem, PortalProblem, runs.AnotherImportRunning)


@dataclass
class ErpImportContext:
    settings: Settings
    # The services by name: inventory, production, mrp, purchasing.
    upstreams: Mapping[str, httpx.AsyncClient]
    token_secret: str
    # Units of work on mrp's database, for the run log.
    mrp_uow: runs.UowFactory
    out: TextIO


@dataclass
class ImportResult:
    run_id: int | None
    dry_run: bool
    ok: bool
    steps: list[Step] = field(default_factory=list)
    error: str | None = None

    def count(self, entity: str, outcome: str) -> int:
        return sum(
            1
            for step in self.steps
            if step.entity == entity and report.outcome(step, not self.dry_run) == outcome
        )


async def import_from_erp(
    context: ErpImportContext, *, dry_run: bool, requested_by: str = IMPORT_USER
) -> ImportResult:
    out = context.out
    try:
        run_id = await asyncio.to_thread(
            runs.start_run, context.mrp_uow, dry_run=dry_run, requested_by=requested_by
        )
    except runs.AnotherImportRunning as exc:
        print(exc.message, file=out)
        return ImportResult(None, dry_run, ok=False, error=str(exc.message))
    return await run_started_import(context, run_id, dry_run=dry_run, requested_by=requested_by)


async def run_started_import(
    context: ErpImportContext, run_id: int, *, dry_run: bool, requested_by: str
) -> ImportResult:
    """Steps 1 to 5 for a run already logged as "running" (`runs.start_run`): the API logs
    it before answering, so the admin gets its number at once."""
    settings, out = context.settings, context.out
    folder = settings.erp_mappings or SHIPPED_MAPPINGS
    heading = _("ERP import {run}: a dry run, nothing is changed", run=run_id)
    print(heading if dry_run else _("ERP import {run}", run=run_id), file=out)
    steps: list[Step] = []
    driver, absent = "", list[str]()
    try:
        files, absent = mapping_files(folder)
        for name in absent:
            print(_("{file} is not in {folder}: not imported.", file=name, folder=folder), file=out)
        configured = settings.erp_odbc.get_secret_value() if settings.erp_odbc else None
        if not configured:
            raise ErpSourceProblem(
                _("PORTAL_ERP_ODBC is not set: give the ERP database's ODBC connection string.")
            )
        driver, results = await asyncio.to_thread(
            read_mappings,
            configured,
            settings.erp_odbc_drivers,
            files,
            settings.erp_timeout_seconds,
        )
        print(
            _(
                "Read with the ODBC driver '{driver}', mappings in {folder}.",
                driver=driver,
                folder=folder,
            ),
            file=out,
        )
        erp = collect(_read_tables(results))
        _warn_ignored(erp, out)
        api = PortalApi(
            context.upstreams,
            lambda: issue_service_token(
                context.token_secret,
                user=requested_by,
                roles=[Role.ADMIN],
                name="ERP import",
                ttl_seconds=settings.service_token_ttl_seconds,
            ),
            key_prefix=request_key(run_id),
        )
        steps = plan(erp, await current_state(api, erp))
        if not dry_run:
            await apply(api, steps)
    except STOPPING as exc:
        message = str(exc.message) if hasattr(exc, "message") else str(exc)
        print(message, file=out)
        await _finish(context, run_id, steps, dry_run, "failed", driver, folder, absent, message)
        return ImportResult(run_id, dry_run, ok=False, steps=steps, error=message)
    except BaseException as exc:
        await _finish(context, run_id, steps, dry_run, "failed", driver, folder, absent, repr(exc))
        raise
    for line in report.render(steps, applied=not dry_run):
        print(line, file=out)
    failed = sum(1 for step in steps if step.failure is not None)
    status = "failed" if failed else "done"
    error = str(_("{count} record(s) refused", count=failed)) if failed else None
    await _finish(context, run_id, steps, dry_run, status, driver, folder, absent, error)
    log.info("erp.import_finished", run=run_id, dry_run=dry_run, status=status, failed=failed)
    return ImportResult(run_id, dry_run, ok=not failed, steps=steps, error=error)


def _read_tables(results: list[QueryResult]) -> list[ErpTable]:
    """Every file's rows as our values. The bad values of all the files are named together (up
    to MAX_ROW_PROBLEMS), so whoever fixes the mappings learns of them in one run, not one
    file per run; a missing column still stops at once."""
    tables: list[ErpTable] = []
    problems: list[RowProblem] = []
    for result in results:
        try:
            table = read_table(
                result.file.entity, result.file.path.name, result.columns, result.rows
            )
        except BadRows as exc:
            problems.extend(exc.problems)
        else:
            tables.append(table)
    if problems:
        raise BadRows(problems[:MAX_ROW_PROBLEMS])
    return tables


async def apply(api: PortalApi, steps: list[Step]) -> None:
    """Each step's calls in order; a refused call fails its step, and the next step goes on."""
    created_items: list[str] = []
    waited: set[str] = set()
    for step in steps:
        if step.verdict in (Verdict.UNCHANGED, Verdict.HELD):
            continue
        reader = READERS_OF_ITEMS.get(step.entity)
        if reader is not None and created_items and reader not in waited:
            await api.wait_known([reader], created_items)
            waited.add(reader)
        previous: Any = None
        for call in step.calls:
            try:
                previous = await api.call(call, previous)
            except Refused as exc:
                step.failure = _refusal(call.method, call.service, exc)
                break
        else:
            step.done = True
            step.named = _number_given(step, previous)
            if step.entity == "items" and step.verdict is Verdict.CREATE:
                created_items.append(step.key)


def _number_given(step: Step, answer: Any) -> str | None:
    """The portal's own number for what a step created: SO-2026-00001, PO-..., a BOM version."""
    if not isinstance(answer, dict):
        return None
    if step.entity == "boms":
        return f"v{answer['version']}" if "version" in answer else None
    if step.verdict is not Verdict.CREATE:
        return None
    number = answer.get("so_number") or answer.get("number")
    return str(number) if number else None


def _refusal(method: str, service: str, exc: Refused) -> str:
    where = f" ({exc.field})" if exc.field else ""
    return f"{service} {method} {exc.status}: {exc.detail}{where}"


def _warn_ignored(erp: ErpData, out: TextIO) -> None:
    for file, columns in erp.ignored_columns.items():
        print(
            _(
                "{file}: columns not ours, ignored: {columns}",
                file=file,
                columns=", ".join(columns),
            ),
            file=out,
        )


async def _finish(
    context: ErpImportContext,
    run_id: int,
    steps: list[Step],
    dry_run: bool,
    status: str,
    driver: str,
    folder: Path,
    absent: list[str],
    error: str | None,
) -> None:
    summary = report.summary(steps, not dry_run, driver=driver, mappings=str(folder), absent=absent)
    try:
        await asyncio.to_thread(
            runs.finish_run,
            context.mrp_uow,
            run_id,
            status=status,
            summary=summary,
            error=error,
            steps=steps,
        )
    except Exception as exc:
        # Its steps could not be kept: the run still ends (else it shows "running", and keeps
        # every other import out, for an hour), with its counts and why its list is missing.
        log.exception("erp.import_steps_not_kept", run=run_id)
        unlogged = str(_("Its records could not be logged: {error}", error=repr(exc)))
        await asyncio.to_thread(
            runs.finish_run,
            context.mrp_uow,
            run_id,
            status=status,
            summary=summary,
            error=f"{error}; {unlogged}" if error else unlogged,
        )


async def import_every(
    context: ErpImportContext,
    seconds: float,
    *,
    requested_by: str = IMPORT_USER,
    runs_wanted: int | None = None,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> list[ImportResult]:
    """Apply an import every `seconds` (the first at once) until cancelled, or `runs_wanted`
    times. A failed run is logged and the next one comes on time: the ERP may be down for its
    own maintenance, which is no reason to stop importing after it."""
    results: list[ImportResult] = []
    while runs_wanted is None or len(results) < runs_wanted:
        try:
            result = await import_from_erp(context, dry_run=False, requested_by=requested_by)
        except Exception as exc:  # logged in erp_import_runs; the schedule goes on
            log.exception("erp.import_crashed", error=repr(exc))
            result = ImportResult(None, dry_run=False, ok=False, error=repr(exc))
        results.append(result)
        if runs_wanted is not None and len(results) >= runs_wanted:
            break
        await sleep(seconds)
    return results
