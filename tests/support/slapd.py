"""A real OpenLDAP server for the directory sign-in tests: /usr/sbin/slapd on a free 127.0.0.1
port, its own slapd.conf and mdb database in a temporary directory, loaded with slapadd from
tests/support/ldap/directory.ldif before it starts.

`scripts/system-packages` installs slapd and ldap-utils. Without slapd the tests that need it
skip with the reason, or fail when PORTAL_REQUIRE_SERVICES=1 (as with PostgreSQL and RabbitMQ,
see servers.py). The `ldap_directory` fixture (tests/conftest.py) starts one server per test
session; `LdapDirectory` gives what a test needs: the URL, the service account, the base DNs,
the users' passwords, a group mapping, and settings to pass to a portal.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ldap3 import NONE, Connection, Server

from tests.support.servers import unavailable

LDIF = Path(__file__).parent / "ldap" / "directory.ldif"
SCHEMA_DIR = Path("/etc/ldap/schema")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
MODULE_DIR = Path("/usr/lib/ldap")

SUFFIX = "dc=plant,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "directory-root-secret"
SERVICE_DN = f"cn=portal,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "portal-service-secret"
USER_BASE = f"ou=people,{SUFFIX}"
GROUP_BASE = f"ou=groups,{SUFFIX}"
# As in directory.ldif.
PASSWORDS = {
    "maria": "maria-directory-pw",
    "pedro": "pedro-directory-pw",
    "li": "li-directory-pw",
    "noroles": "noroles-directory-pw",
    "admin": "admin-directory-pw",
}
# Named by CN, by DN and in another case, as plants write them.
GROUP_ROLES = {
    "Operators": ["operator"],
    f"cn=supervisors,{GROUP_BASE}": ["supervisor"],
    "QUALITY": ["quality"],
}
START_TIMEOUT_SECONDS = 15.0

_CONF = """\
{includes}
pidfile {run}/slapd.pid
argsfile {run}/slapd.args
modulepath {modules}
moduleload back_mdb

# The service account and the users read entries; nobody reads a password, binding checks it.
access to attrs=userPassword
    by anonymous auth
    by * none
access to *
    by * read

database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {data}
"""


@dataclass
class LdapDirectory:
    """A running slapd with the test directory loaded; `stopped()` takes it away for a while."""

    url: str
    port: int
    home: Path
    bind_dn: str = SERVICE_DN
    bind_password: str = SERVICE_PASSWORD
    root_dn: str = ROOT_DN
    root_password: str = ROOT_PASSWORD
    suffix: str = SUFFIX
    user_base: str = USER_BASE
    group_base: str = GROUP_BASE
    passwords: dict[str, str] = field(default_factory=lambda: dict(PASSWORDS))
    group_roles: dict[str, list[str]] = field(default_factory=lambda: dict(GROUP_ROLES))
    process: subprocess.Popen[bytes] | None = None

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for `Settings(...)`: a portal signing in against this directory."""
        return {
            "ldap_url": self.url,
            "ldap_bind_dn": self.bind_dn,
            "ldap_bind_password": self.bind_password,
            "ldap_user_base": self.user_base,
            "ldap_group_base": self.group_base,
            "ldap_group_roles": self.group_roles,
            "ldap_timeout_seconds": 3,
            **overrides,
        }

    def environment(self) -> dict[str, str]:
        """The same as PORTAL_* variables, for a portal started in another process."""
        values = self.settings()
        values["ldap_group_roles"] = json.dumps(values["ldap_group_roles"])
        return {f"PORTAL_{name.upper()}": str(value) for name, value in values.items()}

    def start(self) -> None:
        log = (self.home / "slapd.log").open("ab")
        self.process = subprocess.Popen(
            [_slapd(), "-f", str(self.home / "slapd.conf"), "-h", self.url, "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_until_answering()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """The directory down (its data kept) for the block, then up again on the same port."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.process.returncode}:\n{self._log()}")
            if _answers(self.port):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"slapd did not answer on {self.url}:\n{self._log()}")

    def _log(self) -> str:
        path = self.home / "slapd.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def require_slapd() -> None:
    """Skip (or fail under PORTAL_REQUIRE_SERVICES=1) without OpenLDAP's server and tools."""
    missing = [name for name in ("slapd", "slapadd") if _tool(name) is None]
    missing += [
        f"{name}.schema" for name in SCHEMAS if not (SCHEMA_DIR / f"{name}.schema").exists()
    ]
    if missing:
        unavailable(
            f"OpenLDAP is not installed ({', '.join(missing)} missing; "
            "scripts/system-packages installs slapd and ldap-utils)"
        )


def start_directory(ldif: Path = LDIF) -> LdapDirectory:
    """A new slapd loaded with `ldif`, answering on a free port; `stop()` it, then `remove()`."""
    home = Path(tempfile.mkdtemp(prefix="portal-slapd-"))
    (home / "data").mkdir()
    (home / "run").mkdir()
    (home / "slapd.conf").write_text(_config(home))
    _load(home, ldif)
    port = _free_port()
    directory = LdapDirectory(url=f"ldap://127.0.0.1:{port}", port=port, home=home)
    directory.start()
    return directory


def remove(directory: LdapDirectory) -> None:
    directory.stop()
    shutil.rmtree(directory.home, ignore_errors=True)


def _config(home: Path) -> str:
    includes = "\n".join(f"include {SCHEMA_DIR / f'{name}.schema'}" for name in SCHEMAS)
    return _CONF.format(
        includes=includes,
        run=home / "run",
        modules=MODULE_DIR,
        suffix=SUFFIX,
        root_dn=ROOT_DN,
        root_password=ROOT_PASSWORD,
        data=home / "data",
    )


def _load(home: Path, ldif: Path) -> None:
    loaded = subprocess.run(
        [_tool("slapadd") or "slapadd", "-f", str(home / "slapd.conf"), "-l", str(ldif)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if loaded.returncode != 0:
        raise RuntimeError(f"slapadd failed ({loaded.returncode}):\n{loaded.stderr}")


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def _slapd() -> str:
    return _tool("slapd") or "/usr/sbin/slapd"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    """True once slapd answers an LDAP request, not just accepts the connection."""
    try:
        connection = Connection(
            Server(f"ldap://127.0.0.1:{port}", connect_timeout=1, get_info=NONE),
            receive_timeout=2,
        )
        answered = bool(connection.bind())
        connection.unbind()
        return answered
    except Exception:
        return False
