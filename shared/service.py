"""What a service is, as the runtime sees it: the one object each service's bootstrap returns."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData

from shared.bus.base import Listener
from shared.messaging.inbox import Handler
from shared.messaging.tables import MessagingTables
from shared.settings import Settings
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    metadata: MetaData
    tables: MessagingTables
    migrations: Path
    routers: Sequence[APIRouter] = ()
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # Event type -> what this process does when it hears one pass (`Bus.listen`): notices for
    # this process only (every replica hears every event), nothing stored or retried.
    listeners: Mapping[str, Listener] = field(default_factory=dict)
    # Reference data every installation needs (locations, chart of accounts); must be idempotent.
    seed: Callable[[UnitOfWork, Settings], None] | None = None
    # Long-running jobs of the service's own (accounting's webhook deliveries): each is called
    # with the ServiceRuntime when it starts and runs until cancelled at stop. A replica runs
    # its own; they must share work through the database (row locks), not memory.
    workers: Sequence[Callable[[Any], Coroutine[Any, Any, None]]] = ()
    # Anything else the app needs beyond routers (the gateway's page error handlers).
    configure_app: Callable[[FastAPI], None] | None = None
