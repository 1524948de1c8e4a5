"""Browser tests: the portal as `make run` starts it, driven in Debian's Chromium by Playwright.

`LivePortal` runs `portal run` (embedded mode, demo data) in its own process with its own var
directory and port; `add_user` writes a local account into its gateway database, as an admin
would through the UI. Chromium is the Debian package (/usr/bin/chromium, installed by
scripts/system-packages), never a browser Playwright downloads. `check_accessibility` runs
axe-core (from node_modules) in the page and returns the serious and critical violations.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.support.accounts import local_user
from tests.support.servers import unavailable

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "var" / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLET = {"width": 1024, "height": 768}
DESKTOP = {"width": 1600, "height": 1000}


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (run scripts/system-packages)")
    if not AXE.exists():
        unavailable(f"axe-core not found at {AXE} (run `npm ci`)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LivePortal:
    var_dir: Path
    admin_password: str
    extra_env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "PORTAL_VAR_DIR": str(self.var_dir),
            "PORTAL_PORT": str(self.port),
            "PORTAL_ADMIN_PASSWORD": self.admin_password,
            "PORTAL_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }
        log = (self.var_dir / "portal.log").open("wb")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "portal"), "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # The demo data now includes production orders run through QC: on a loaded two-core
        # machine `portal run` has taken 80 s to be ready.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"portal run exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        # Not left running: the fixture's teardown never sees a portal that failed to start.
        self.stop()
        raise RuntimeError(f"portal run did not become ready: {self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log_tail(self, lines: int = 40) -> str:
        path = self.var_dir / "portal.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def add_user(
        self, username: str, password: str, roles: list[str], language: str = "en"
    ) -> None:
        """A local account, written straight into the gateway's database."""
        from services.gateway.models import User

        engine = create_engine(f"sqlite:///{self.var_dir / 'gateway.db'}")
        try:
            with Session(engine) as session, session.begin():
                if session.scalar(select(User.id).where(User.username == username)):
                    return
                session.add(local_user(username, password, roles, language))
        finally:
            engine.dispose()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def check_accessibility(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => { const r = await window.axe.run(document, "
        "{resultTypes: ['violations']}); return r.violations; }"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result
        if v.get("impact") in ("serious", "critical")
    ]


def assert_accessible(page: Any) -> None:
    violations = check_accessibility(page)
    assert not violations, f"axe-core on {page.url}:\n" + json.dumps(violations, indent=2)


def clean(var_dir: Path) -> None:
    shutil.rmtree(var_dir, ignore_errors=True)


class PortalApi:
    """The live portal's JSON API, for setting up what a browser test needs.

    It signs in as an admin of its own ("automation"): one session per user, so signing in as
    the browser's user would end the browser's session.
    """

    USERNAME = "automation"
    PASSWORD = "automation-pass-1"

    def __init__(self, portal: LivePortal) -> None:
        self.portal = portal
        portal.add_user(self.USERNAME, self.PASSWORD, ["admin"])
        self.client = httpx.Client(base_url=portal.url, timeout=30)
        signed_in = self.client.post(
            "/api/auth/login", json={"username": self.USERNAME, "password": self.PASSWORD}
        )
        signed_in.raise_for_status()
        self.client.headers["X-CSRF-Token"] = signed_in.headers["X-CSRF-Token"]

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        answer = self.client.request(method, path, **kwargs)
        assert answer.status_code == expect, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def eventually(self, check: Any, what: str, within: float = 30.0) -> Any:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"not within {within} s: {what}")

    def close(self) -> None:
        self.client.close()

    def ordered_and_submitted(self, sku: str, qty: str, unit_cost: str = "2.00") -> str:
        """A submitted purchase order for `qty` of `sku` at the first vendor; its number."""
        self.eventually(
            lambda: self.call("GET", "/api/purchasing/v1/items", params={"q": sku})["total"],
            f"purchasing knows {sku}",
        )
        vendor = self.call("GET", "/api/purchasing/v1/vendors")["items"][0]["code"]
        order = self.call(
            "POST",
            "/api/purchasing/v1/purchase-orders",
            expect=201,
            json={
                "vendor_code": vendor,
                "lines": [{"sku": sku, "qty": qty, "unit_cost": unit_cost}],
            },
        )
        self.call("POST", f"/api/purchasing/v1/purchase-orders/{order['number']}/submit")
        number: str = order["number"]
        return number

    def on_hand(self, sku: str) -> str:
        stock = self.call("GET", f"/api/inventory/v1/items/{sku}/stock")
        return str(stock["on_hand"])

    def forget_item_in_inventory(self, sku: str) -> None:
        """Fault injection: inventory loses an item, so a receipt of it dies into a dead letter."""
        engine = create_engine(f"sqlite:///{self.portal.var_dir / 'inventory.db'}")
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("DELETE FROM items WHERE sku = ?", (sku,))
        finally:
            engine.dispose()
