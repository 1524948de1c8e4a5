"""Services as separate processes (`portal serve`), the way a deployment runs them, for the
distributed flow and fault tests: each on its own PostgreSQL database, all on one RabbitMQ
under a per-test prefix, the gateway in front."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from tests.support import servers

PORTAL = str(Path(sys.executable).parent / "portal")
SECRET = "cluster-test-secret-" + "x" * 32
ADMIN_PASSWORD = "cluster-admin-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cluster:
    def __init__(
        self,
        *,
        amqp_url: str,
        prefix: str,
        db_urls: dict[str, str],
        log_dir: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.amqp_url = amqp_url
        self.prefix = prefix
        self.db_urls = db_urls
        self.log_dir = log_dir
        self.extra_env = extra_env or {}
        self.ports = {name: free_port() for name in db_urls}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update(
            {
                "PORTAL_DB_URL": self.db_urls[service],
                "PORTAL_AMQP_URL": self.amqp_url,
                "PORTAL_BUS_PREFIX": self.prefix,
                "PORTAL_SERVICE_TOKEN_SECRET": SECRET,
                "PORTAL_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "PORTAL_VAR_DIR": str(self.log_dir / service),
                "PORTAL_LOG_LEVEL": "WARNING",
            }
        )
        for name in self.db_urls:
            env[f"PORTAL_{name.upper()}_URL"] = self.url(name)
        env.update(self.extra_env)
        return env

    def start(self, service: str, *, wait: bool = True) -> None:
        log = open(self.log_dir / f"{service}.log", "ab")  # noqa: SIM115 - lives with the process
        self.processes[service] = subprocess.Popen(
            [PORTAL, "serve", service, "--port", str(self.ports[service])],
            env=self.env(service),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready(service)

    def start_all(self) -> None:
        for service in self.db_urls:
            self.start(service, wait=False)
        for service in self.db_urls:
            self.wait_ready(service)

    def wait_ready(self, service: str, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            process = self.processes[service]
            if process.poll() is not None:
                raise RuntimeError(
                    f"{service} exited with {process.returncode}: {self.log(service)}"
                )
            try:
                if httpx.get(f"{self.url(service)}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{service} not ready in {within}s: {self.log(service)}")

    def kill(self, service: str) -> None:
        """SIGKILL: no shutdown handler runs, as when a machine loses power."""
        process = self.processes.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def log(self, service: str) -> str:
        path = self.log_dir / f"{service}.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def gateway_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url("gateway"), timeout=30)


async def sign_in(client: httpx.AsyncClient, password: str = ADMIN_PASSWORD) -> None:
    response = await client.post(
        "/api/auth/login", json={"username": "admin", "password": password}
    )
    assert response.status_code == 200, response.text
    # As the pages' scripts do: every change carries the session's CSRF token.
    client.headers["X-CSRF-Token"] = response.headers["X-CSRF-Token"]


@contextlib.contextmanager
def running_cluster(
    postgres: servers.PostgresDatabases, amqp_url: str, log_dir: Path, services: Sequence[str]
) -> Iterator[Cluster]:
    """`services` as `portal serve` processes, each on a fresh database of `postgres`, with a
    bus prefix of their own; stopped, and their queues and exchanges deleted, at the end."""
    prefix = servers.new_bus_prefix()
    cluster = Cluster(
        amqp_url=amqp_url,
        prefix=prefix,
        log_dir=log_dir,
        db_urls={name: postgres.create(name) for name in services},
    )
    try:
        cluster.start_all()
        yield cluster
    finally:
        cluster.stop_all()
        servers.delete_bus_objects_sync(prefix, services)
