"""HTTP API of the ERP import under /api/v1/erp, for the admin's page: the logged runs, one run
with its steps, and starting a run (dry or applied) in the background. Admins only
(Action.ERP_IMPORT).

Starting a run answers 202 with its number at once; the run goes on in this process after the
answer and ends in the run log (`runs.finish_run`), which the page reads until it is finished.
One run at a time: a second start while one is running (here, in another replica or from
`portal erp import`) is a 409 naming it. The check and the "running" row are one transaction
(`runs.start_run(alone=True)`), under a lock of this process so two clicks cannot both pass it.

Who the services see. The applying calls act as the admin who started the run: the run signs
its own short-lived admin tokens for that admin's login with this service's token secret (the
same secret the gateway signs with, and the same way `portal erp import --as <user>` does).
The admin's own token cannot be kept for the run: it lives for a minute and the run may take
longer. This grants nothing the caller lacks: only an admin passes ERP_IMPORT, and the tokens
name that admin, so the services' audit logs and `created_by` say who imported.

What a run needs, checked before it starts, so the refusal says it in an admin's words: the ERP
connection string (PORTAL_ERP_ODBC), readable mapping files, and the services it writes to
(inventory, production, purchasing; mrp itself is called in memory through its own app).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import structlog
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse

from services.mrp.erp import runs
from services.mrp.erp.mapping import SHIPPED_MAPPINGS, MappingProblem, mapping_files
from services.mrp.erp.schemas import (
    ImportRunDetail,
    ImportRunOut,
    ImportRunsPage,
    ImportStart,
    ImportStarted,
    ImportStepOut,
)
from services.mrp.erp.service import ErpImportContext, run_started_import
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.i18n import _
from shared.settings import Settings
from shared.web.commands import runtime_of
from shared.web.pagination import PageParams, page_params
from shared.web.problems import Conflict, NotFound
from shared.web.security import require_permission

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/erp", tags=["erp"])

Importer = Annotated[TokenClaims, Depends(require_permission(Action.ERP_IMPORT))]
Pages = Annotated[PageParams, Depends(page_params)]
RunId = Annotated[int, Path(ge=1, le=2_000_000_000)]

# The services an import writes to besides mrp (which it reaches through its own app).
PEERS = ("inventory", "production", "purchasing")


@dataclass
class BackgroundImports:
    """The runs this process is running, kept so their tasks are not collected mid-run."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)

    async def wait(self) -> None:
        """Until every run this process started has ended (tests, an orderly stop)."""
        while self.tasks:
            await asyncio.wait(list(self.tasks.values()))


def background_imports(app: FastAPI) -> BackgroundImports:
    imports = getattr(app.state, "erp_imports", None)
    if imports is None:
        imports = app.state.erp_imports = BackgroundImports()
    return imports


@router.get("/imports", response_model=ImportRunsPage)
async def list_imports(request: Request, _admin: Importer, page: Pages) -> ImportRunsPage:
    """The logged runs, newest first (those of `portal erp import` too)."""
    uow = _reader(request)
    found, total = await asyncio.gather(
        asyncio.to_thread(runs.recent_runs, uow, page.limit, page.offset),
        asyncio.to_thread(runs.count_runs, uow),
    )
    return ImportRunsPage(
        items=[run_out(run) for run in found], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/imports/{run_id}", response_model=ImportRunDetail)
async def get_import(run_id: RunId, request: Request, _admin: Importer) -> ImportRunDetail:
    """One run and its steps: every record it created, changed, held back or that failed."""
    found = await asyncio.to_thread(runs.get_run, _reader(request), run_id)
    if found is None:
        raise NotFound(_("There is no ERP import {run}.", run=run_id), field="run_id")
    run, steps = found
    return ImportRunDetail(
        **run_out(run).model_dump(),
        steps=[
            ImportStepOut(
                entity=step.entity,
                key=step.key,
                verdict=step.verdict,
                outcome="failed" if step.failure else step.verdict,
                details=step.details,
                failure=step.failure,
                done=step.done,
                named=step.named,
            )
            for step in steps
        ],
    )


@router.post("/imports", status_code=202, response_model=ImportStarted)
async def start_import(body: ImportStart, request: Request, claims: Importer) -> JSONResponse:
    """Start an import (`dry_run`: compare only) and answer 202 with its number at once; read
    it with GET /imports/{id} until `finished`. 409 when the import is not set up here or
    another run is still going (`running_run_id` names it)."""
    runtime = runtime_of(request)
    settings: Settings = runtime.settings
    _check_configured(settings)
    upstreams = _peers(request)
    folder = settings.erp_mappings or SHIPPED_MAPPINGS
    try:
        await asyncio.to_thread(mapping_files, folder)
    except MappingProblem as exc:
        raise Conflict(
            _("The ERP import cannot start: {reason}", reason=exc.message),
            code="erp_mappings",
        ) from exc
    imports = background_imports(request.app)
    async with imports.lock:
        try:
            run_id = await asyncio.to_thread(
                runs.start_run,
                runtime.uow,
                dry_run=body.dry_run,
                requested_by=claims.user,
                alone=True,
            )
        except runs.AnotherImportRunning as exc:
            raise Conflict(
                exc.message, code="erp_import_running", extensions={"running_run_id": exc.run_id}
            ) from exc
        own = None
        if "mrp" not in upstreams:  # a deployment: mrp reaches itself in memory
            own = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=request.app), base_url="http://mrp"
            )
            upstreams = {**upstreams, "mrp": own}
        context = ErpImportContext(
            settings, upstreams, request.app.state.token_secret, runtime.uow, io.StringIO()
        )
        task = asyncio.create_task(
            _run(context, run_id, body.dry_run, claims.user, own), name=f"erp-import-{run_id}"
        )
        imports.tasks[run_id] = task
        task.add_done_callback(lambda _task: imports.tasks.pop(run_id, None))
    log.info("erp.import_started", run=run_id, dry_run=body.dry_run, by=claims.user)
    started = ImportStarted(id=run_id, dry_run=body.dry_run, status="running")
    return JSONResponse(
        started.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/api/v1/erp/imports/{run_id}"},
    )


async def _run(
    context: ErpImportContext,
    run_id: int,
    dry_run: bool,
    requested_by: str,
    own: httpx.AsyncClient | None,
) -> None:
    try:
        await run_started_import(context, run_id, dry_run=dry_run, requested_by=requested_by)
    except Exception as exc:  # the run is logged as failed with it; nobody awaits this task
        log.exception("erp.import_crashed", run=run_id, error=repr(exc))
    finally:
        if own is not None:
            with contextlib.suppress(Exception):
                await own.aclose()


def _check_configured(settings: Settings) -> None:
    if settings.erp_odbc is None or not settings.erp_odbc.get_secret_value().strip():
        raise Conflict(
            _(
                "The ERP import is not set up on this portal: it needs the ERP database's ODBC "
                "connection string in the setting PORTAL_ERP_ODBC of the mrp service. Ask "
                "whoever runs the portal's servers to set it and restart the service."
            ),
            code="erp_not_configured",
        )


def _peers(request: Request) -> Mapping[str, httpx.AsyncClient]:
    upstreams: Mapping[str, httpx.AsyncClient] = getattr(request.app.state, "upstreams", {})
    missing = [name for name in PEERS if name not in upstreams]
    if missing:
        raise Conflict(
            _(
                "The ERP import cannot reach the {services} service(s) from the mrp service: "
                "set {settings} on it and restart it.",
                services=", ".join(missing),
                settings=", ".join(f"PORTAL_{name.upper()}_URL" for name in missing),
            ),
            code="erp_not_configured",
        )
    return upstreams


def _reader(request: Request) -> runs.UowFactory:
    runtime = runtime_of(request)
    return lambda: runtime.uow(read_only=True)


def run_out(run: runs.RunRecord) -> ImportRunOut:
    summary: Mapping[str, Any] = run.summary
    counts = {
        str(entity): {str(outcome): int(n) for outcome, n in dict(tally).items()}
        for entity, tally in dict(summary.get("entities") or {}).items()
    }
    return ImportRunOut(
        id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        requested_by=run.requested_by,
        dry_run=run.dry_run,
        status="abandoned" if run.abandoned else run.status,
        finished=run.finished_at is not None or run.abandoned,
        counts=counts,
        failed=sum(tally.get("failed", 0) for tally in counts.values()),
        error=run.error,
        driver=summary.get("driver") or None,
        not_imported=list(summary.get("not_imported") or []),
    )
