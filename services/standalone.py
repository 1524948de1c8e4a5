"""One service in its own process (`portal serve`): PostgreSQL or SQLite from PORTAL_DB_URL,
RabbitMQ from PORTAL_AMQP_URL (the in-process bus without it, for a single-service trial)."""

from __future__ import annotations

import httpx

from services import registry
from services.token_secret import token_secret
from shared.bus.base import Bus
from shared.bus.inprocess import InProcessBus
from shared.events.routing import CONSUMERS
from shared.messaging.dead_letters import DeadLetters
from shared.runtime import ServiceRuntime
from shared.settings import SERVICES, Settings


def make_bus(settings: Settings) -> Bus:
    if settings.amqp_url:
        from shared.bus.rabbitmq import RabbitMQBus

        # Every service's queue and bindings, whichever service this process runs (routing.py).
        return RabbitMQBus(settings.amqp_url, prefix=settings.bus_prefix, topology=CONSUMERS)
    return InProcessBus()


def standalone_runtime(service: str, settings: Settings) -> ServiceRuntime:
    runtime = ServiceRuntime(
        registry.definition(service),
        settings,
        make_bus(settings),
        token_secret=token_secret(settings, create=False),
    )
    runtime.app.router.lifespan_context = lambda _app: runtime.serving()
    # The gateway forwards to every service; a service calls another when it needs an answer
    # now (production reserving material through inventory). Idle connections are kept for as
    # many concurrent calls as a busy plant makes; httpx's default of 20 made the gateway open
    # and close connections under 50 clients.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    runtime.app.state.upstreams = {
        name: httpx.AsyncClient(base_url=url, timeout=30, limits=limits)
        for name in SERVICES
        if name not in ("gateway", service) and (url := settings.service_url(name))
    }
    return runtime


def offline_dead_letters(service: str, settings: Settings) -> DeadLetters:
    """The service's dead letters against its database, with no bus: for `portal events dead`
    and `replay-dead` (a replay applies them with the service's own consumer)."""
    runtime = ServiceRuntime(
        registry.definition(service), settings, InProcessBus(), token_secret="offline"
    )
    return runtime.dead_letters
