"""The `portal` command: run embedded, serve one service, migrate, inspect events, and import
from the plant's old ERP."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from services import registry
from shared.settings import SERVICES, Settings, get_settings

if TYPE_CHECKING:
    from services.mrp.erp.service import ErpImportContext
    from shared.uow import UnitOfWork


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = get_settings()
    from shared.logging import configure_logging

    # JSON lines for machines; readable lines when a person runs it in a terminal, unless
    # PORTAL_LOG_JSON says otherwise.
    json_logs = (
        settings.log_json if "log_json" in settings.model_fields_set else not sys.stdout.isatty()
    )
    configure_logging(settings.log_level, json_logs)
    args.func(args, settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal", description="Production Portal")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="every service in one process (embedded mode)")
    run.add_argument("--port", type=int, default=None)
    run.set_defaults(func=_run)

    serve = commands.add_parser("serve", help="one service as its own process")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--host", default=None)
    serve.set_defaults(func=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("service", nargs="?", choices=SERVICES)
    migrate.set_defaults(func=_migrate)

    events = commands.add_parser("events", help="event schemas and dead letters")
    event_commands = events.add_subparsers(required=True, metavar="EVENTS_COMMAND")
    schema = event_commands.add_parser("schema", help="write the event catalogue as JSON Schema")
    schema.add_argument("--out", type=Path, default=Path("docs/events"))
    schema.set_defaults(func=_events_schema)
    dead = event_commands.add_parser("dead", help="list a service's dead letters")
    dead.add_argument("service", choices=SERVICES)
    dead.set_defaults(func=_events_dead)
    replay = event_commands.add_parser("replay-dead", help="apply a service's dead letters again")
    replay.add_argument("service", choices=SERVICES)
    replay.set_defaults(func=_events_replay)

    erp = commands.add_parser("erp", help="import from the plant's ERP database over ODBC")
    erp_commands = erp.add_subparsers(required=True, metavar="ERP_COMMAND")
    erp_import = erp_commands.add_parser(
        "import", help="compare the ERP with the portal and apply what differs"
    )
    erp_import.add_argument(
        "--dry-run", action="store_true", help="show what would change, change nothing"
    )
    erp_import.add_argument("--as", dest="user", default=None, help="the user the services see")
    erp_import.set_defaults(func=_erp_import)
    erp_schedule = erp_commands.add_parser(
        "schedule", help="import again and again (every PORTAL_ERP_IMPORT_EVERY seconds)"
    )
    erp_schedule.add_argument("--every", type=int, default=None, metavar="SECONDS")
    erp_schedule.add_argument("--as", dest="user", default=None)
    erp_schedule.set_defaults(func=_erp_schedule)
    erp_runs = erp_commands.add_parser("runs", help="the last imports and what they did")
    erp_runs.add_argument("--limit", type=int, default=10)
    erp_runs.set_defaults(func=_erp_runs)
    return parser


def _run(args: argparse.Namespace, settings: Settings) -> None:
    from services.embedded import serve_embedded

    if args.port is not None:
        settings = settings.model_copy(update={"port": args.port})
    asyncio.run(serve_embedded(settings))


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    from services.standalone import standalone_runtime

    runtime = standalone_runtime(args.service, settings)
    runtime.migrate()
    runtime.seed()
    uvicorn.run(
        runtime.app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
    )


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    from shared.migrations import upgrade

    names = [args.service] if args.service else list(SERVICES)
    if settings.db_url and len(names) > 1:
        raise SystemExit("PORTAL_DB_URL names one service's database: say which service")
    for name in names:
        upgrade(registry.definition(name), settings.database_url(name))
        print(f"{name}: migrated")


def _events_schema(args: argparse.Namespace, settings: Settings) -> None:
    from shared.events.schema import write_json_schema

    paths = write_json_schema(args.out)
    print(f"wrote {len(paths)} schema files to {args.out}")


def _events_dead(args: argparse.Namespace, settings: Settings) -> None:
    from services.standalone import offline_dead_letters

    letters = offline_dead_letters(args.service, settings).entries()
    for letter in letters:
        last_line = letter.error.strip().splitlines()[-1] if letter.error.strip() else ""
        print(
            json.dumps(
                {
                    "event_id": letter.event_id,
                    "type": letter.event_type,
                    "key": letter.envelope.key,
                    "dead_at": letter.dead_at,
                    "attempts": letter.attempts,
                    "error": last_line,
                }
            )
        )
    print(f"{len(letters)} dead letter(s)", file=sys.stderr)


def _events_replay(args: argparse.Namespace, settings: Settings) -> None:
    from services.standalone import offline_dead_letters

    replayed, failing = offline_dead_letters(args.service, settings).replay()
    print(f"replayed {replayed}, still failing {failing}")
    if failing:
        raise SystemExit(1)


# --- ERP import (docs/mrp.md "Import from an ERP") -----------------------------------------

ERP_PEERS = ("inventory", "production", "mrp", "purchasing")


def _erp_import(args: argparse.Namespace, settings: Settings) -> None:
    from services.mrp.erp.service import IMPORT_USER, import_from_erp

    _quiet_logs(settings)

    async def run() -> bool:
        async with _erp_context(settings) as context:
            result = await import_from_erp(
                context, dry_run=args.dry_run, requested_by=args.user or IMPORT_USER
            )
        return result.ok

    if not asyncio.run(run()):
        raise SystemExit(1)


def _erp_schedule(args: argparse.Namespace, settings: Settings) -> None:
    from services.mrp.erp.service import IMPORT_USER, import_every

    every = args.every or settings.erp_import_every
    if not every or every < 1:
        raise SystemExit("say how often: --every SECONDS or PORTAL_ERP_IMPORT_EVERY")

    async def run() -> None:
        async with _erp_context(settings) as context:
            await import_every(context, every, requested_by=args.user or IMPORT_USER)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def _erp_runs(args: argparse.Namespace, settings: Settings) -> None:
    from services.mrp.erp.runs import recent_runs

    if _erp_peer_urls(settings):
        uow = _mrp_log_uow(settings)
    elif (settings.var_dir / "mrp.db").exists():
        uow = _embedded_mrp_uow(settings)
    else:
        raise SystemExit(f"no mrp database under {settings.var_dir}: nothing imported yet")
    for run in recent_runs(uow, args.limit):
        print(
            json.dumps(
                {
                    "run": run.id,
                    "started_at": run.started_at.isoformat(timespec="seconds"),
                    "finished_at": run.finished_at.isoformat(timespec="seconds")
                    if run.finished_at
                    else None,
                    "dry_run": run.dry_run,
                    "by": run.requested_by,
                    "status": run.status,
                    "entities": run.summary.get("entities", {}),
                    "error": run.error,
                }
            )
        )


def _quiet_logs(settings: Settings) -> None:
    """The import's report is for a person: the services' request lines (every GET the
    comparison makes) would bury it, so only warnings are logged unless PORTAL_LOG_LEVEL says."""
    from shared.logging import configure_logging

    if "log_level" not in settings.model_fields_set:
        json_logs = (
            settings.log_json
            if "log_json" in settings.model_fields_set
            else not sys.stdout.isatty()
        )
        configure_logging("WARNING", json_logs)


def _erp_peer_urls(settings: Settings) -> dict[str, str]:
    """The services' URLs in a deployment; {} in embedded mode. Some but not all is a mistake."""
    urls = {name: url for name in ERP_PEERS if (url := settings.service_url(name))}
    if urls and len(urls) < len(ERP_PEERS):
        missing = ", ".join(f"PORTAL_{name.upper()}_URL" for name in ERP_PEERS if name not in urls)
        raise SystemExit(f"the ERP import calls {', '.join(ERP_PEERS)}: set {missing} as well")
    return urls


@contextlib.asynccontextmanager
async def _erp_context(settings: Settings) -> AsyncIterator[ErpImportContext]:
    """The services to import into: over HTTP in a deployment (PORTAL_<SERVICE>_URL), else the
    embedded portal's services run in this process for the import's length (on its SQLite
    files, so `portal run` must not be running at the same time)."""
    import httpx

    from services.mrp.erp.service import ErpImportContext
    from services.token_secret import token_secret

    urls = _erp_peer_urls(settings)
    if urls:
        clients = {name: httpx.AsyncClient(base_url=url, timeout=30) for name, url in urls.items()}
        try:
            yield ErpImportContext(
                settings,
                clients,
                token_secret(settings, create=False),
                _mrp_log_uow(settings),
                sys.stdout,
            )
        finally:
            for client in clients.values():
                await client.aclose()
        return
    from services.embedded import EmbeddedPortal

    if _portal_answers(settings):
        raise SystemExit(
            f"the embedded portal answers on {settings.host}:{settings.port}: stop it before "
            "importing (the import runs the services on the same files), or set "
            "PORTAL_<SERVICE>_URL to import into running services"
        )
    portal = EmbeddedPortal(settings)
    await asyncio.to_thread(portal.prepare)
    async with portal.running():
        yield ErpImportContext(
            settings, portal.upstreams, portal.secret, portal.runtimes["mrp"].uow, sys.stdout
        )
        # Deliver the events the import caused before the services stop.
        await portal.wait_idle(limit_seconds=120)


def _portal_answers(settings: Settings) -> bool:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
    try:
        with socket.create_connection((host, settings.port), timeout=1):
            return True
    except OSError:
        return False


def _mrp_log_uow(settings: Settings) -> Callable[[], UnitOfWork]:
    """mrp's database in a deployment: where the import logs its runs (erp_import_runs)."""
    from shared.db import Database
    from shared.uow import UnitOfWork

    if not settings.db_url:
        raise SystemExit("set PORTAL_DB_URL to mrp's database: the import logs its runs there")
    db = Database(settings.db_url)
    tables = registry.definition("mrp").tables
    return lambda: UnitOfWork(db, tables, "mrp")


def _embedded_mrp_uow(settings: Settings) -> Callable[[], UnitOfWork]:
    from shared.db import Database
    from shared.uow import UnitOfWork

    db = Database(settings.database_url("mrp"))
    tables = registry.definition("mrp").tables
    return lambda: UnitOfWork(db, tables, "mrp")
