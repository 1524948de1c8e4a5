"""A small asyncio TCP proxy for fault tests.

Clients connect to `proxy.host:proxy.port`; every connection is piped to the target. `cut()`
aborts every open connection (both sides, as if the network dropped) and, until `restore()`,
accepts new connections only to abort them at once, so a client's reconnect attempts fail fast
instead of hanging. `stall()` keeps connections open but stops forwarding bytes (a black-holed
network) until `restore()`. The real broker behind the proxy is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

_CHUNK = 64 * 1024


@dataclass(eq=False)
class _Pipe:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, listen_host: str = "127.0.0.1"):
        self.target_host = target_host
        self.target_port = target_port
        self.host = listen_host
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._cut = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.accepted = 0  # connections piped through to the target, for assertions

    @property
    def is_cut(self) -> bool:
        return self._cut

    @property
    def open_connections(self) -> int:
        return len(self._pipes)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Abort every open connection; refuse (accept-and-abort) new ones until `restore()`."""
        self._cut = True
        pipes = list(self._pipes)
        self._pipes.clear()
        for pipe in pipes:
            pipe.abort()
        await asyncio.sleep(0)

    def stall(self) -> None:
        """Keep every connection open but forward nothing until `restore()`."""
        self._flowing.clear()

    def restore(self) -> None:
        self._cut = False
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.cut()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        pipe = _Pipe(client=writer)
        self._pipes.add(pipe)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            self._pipes.discard(pipe)
            writer.transport.abort()
            return
        pipe.upstream = up_writer
        if pipe not in self._pipes:  # cut while we were connecting upstream
            pipe.abort()
            return
        self.accepted += 1
        pipe.tasks = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        try:
            await asyncio.wait(pipe.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._pipes.discard(pipe)
            pipe.abort()
            await asyncio.gather(*pipe.tasks, return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
