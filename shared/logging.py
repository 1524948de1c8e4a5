"""Structured logging for every service: structlog, one JSON object per line.

Every line carries an ISO UTC timestamp, the level, the logger name, and whatever the current
context knows (request_id, correlation_id, causation_id from `shared.context`, plus anything bound
with `structlog.contextvars`, such as the service). Standard-library records (uvicorn, SQLAlchemy)
go through the same processors, so the output is uniform.

uvicorn must be started with `log_config=None`, or it installs its own handlers over these.
Its access log is silenced: the app middleware writes one access line per request itself.
"""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from shared import context

HANDLER_NAME = "portal"


def add_portal_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Add the ids of the request or event being worked on, when there is one."""
    for key, value in (
        ("request_id", context.get_request_id()),
        ("correlation_id", context.get_correlation_id()),
        ("causation_id", context.get_causation_id()),
    ):
        if value is not None:
            event_dict.setdefault(key, value)
    return event_dict


def configure_logging(level: str, json: bool) -> None:
    """Send structlog and stdlib logging to stdout as JSON lines (or coloured console lines)."""
    shared_processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        add_portal_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if json
        else [structlog.dev.ConsoleRenderer()]
    )
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    # Replace only our own handler, so a second call (or pytest's capture handler) is harmless.
    root.handlers = [h for h in root.handlers if h.get_name() != HANDLER_NAME] + [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Libraries that narrate every step at INFO: keep their warnings, not their chatter.
    for name in ("httpx", "alembic", "aio_pika", "aiormq"):
        logging.getLogger(name).setLevel(logging.WARNING)
