"""The embedded mode: every service in one process, each on its own SQLite file, one
in-process bus, and only the gateway listening (on PORTAL_PORT). The gateway reaches the other
services through ASGI in memory rather than over sockets; everything else, outbox, relay, inbox,
migrations, is the same code a distributed deployment runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import structlog

from services import registry
from services.token_secret import token_secret
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime, freeze_what_lives_forever
from shared.settings import SERVICES, Settings

log = structlog.get_logger(__name__)


class EmbeddedPortal:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bus = InProcessBus()
        self.secret = token_secret(settings, create=True)
        self.runtimes = {
            name: ServiceRuntime(
                registry.definition(name),
                settings,
                self.bus,
                db_url=f"sqlite:///{(settings.var_dir / f'{name}.db').resolve()}",
                token_secret=self.secret,
            )
            for name in SERVICES
        }
        self.gateway = self.runtimes["gateway"]
        # The gateway forwards to the services, and a service calls another when it needs an
        # answer now (production reserving material): all through the same in-memory clients.
        self.upstreams = {
            name: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=rt.app), base_url=f"http://{name}"
            )
            for name, rt in self.runtimes.items()
            if name != "gateway"
        }
        for runtime in self.runtimes.values():
            runtime.app.state.upstreams = self.upstreams

    def prepare(self) -> None:
        """Migrate and seed every service's database (idempotent)."""
        for runtime in self.runtimes.values():
            runtime.migrate()
            runtime.seed()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[EmbeddedPortal]:
        await self.bus.start()
        # Every consumer first: the in-process bus drops (and confirms) an event no queue is
        # bound to, so no relay may publish before every service has subscribed.
        for runtime in self.runtimes.values():
            await runtime.start(relay=False)
        for runtime in self.runtimes.values():
            await runtime.start(consume=False, workers=False)
        try:
            yield self
        finally:
            for runtime in self.runtimes.values():
                await runtime.stop()
            await self.bus.close()
            for client in self.upstreams.values():
                await client.aclose()
            for runtime in self.runtimes.values():
                runtime.db.dispose()

    async def wait_idle(self, limit_seconds: float = 30.0) -> None:
        """Wait until every outbox is published (the in-process bus confirms after handling)."""
        deadline = asyncio.get_running_loop().time() + limit_seconds
        quiet = 0
        while True:
            backlog = 0
            for rt in self.runtimes.values():
                rt.relay.wake()
                backlog += await asyncio.to_thread(rt.relay.backlog)
            # Two quiet readings in a row: an event handled while counting may have queued more.
            quiet = quiet + 1 if backlog == 0 else 0
            if quiet >= 2:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{backlog} events still unpublished")
            await asyncio.sleep(0.02)


async def serve_embedded(settings: Settings) -> None:
    """`portal run`: prepare, start, load the demo data on first start, serve the gateway."""
    import uvicorn

    from services.demo import load_demo_data_once

    portal = EmbeddedPortal(settings)
    await asyncio.to_thread(portal.prepare)
    async with portal.running():
        if settings.demo_data:
            await load_demo_data_once(portal)
        freeze_what_lives_forever()
        config = uvicorn.Config(
            portal.gateway.app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        log.info("portal.embedded_ready", url=f"http://{settings.host}:{settings.port}")
        await uvicorn.Server(config).serve()
