"""The `portal` command: run embedded, serve one service, migrate, and inspect events."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import uvicorn

from services import registry
from shared.settings import SERVICES, Settings, get_settings


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
