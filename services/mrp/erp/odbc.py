"""Reading the ERP's database through its ODBC driver (unixODBC and pyodbc), read-only.

The driver is the first of PORTAL_ERP_ODBC_DRIVERS that unixODBC has installed, unless the
connection string names one itself. Nothing is ever written to the ERP: the connection asks
for read-only access (which some drivers only take as a hint), the PostgreSQL driver is also
told `ReadOnly=1` (it then refuses anything but SELECT), and the transaction is rolled back,
never committed, so even a mapping that tried to write would leave the ERP as it was. A
read-only database user is still the advice (docs/mrp.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.mrp.erp.mapping import MappingFile
from shared.i18n import Text, _


class ErpSourceProblem(Exception):
    """The ERP's database cannot be read: no driver, no connection, a query it refuses."""

    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class QueryResult:
    file: MappingFile
    columns: tuple[str, ...]
    rows: list[Sequence[Any]]


def _pyodbc() -> Any:
    try:
        import pyodbc
    except ImportError as exc:  # libodbc.so.2 missing: unixODBC is not installed
        raise ErpSourceProblem(
            _(
                "ODBC is not available ({reason}): install unixODBC and the ERP database's ODBC "
                "driver (on Debian: apt-get install unixodbc odbc-postgresql).",
                reason=exc,
            )
        ) from exc
    return pyodbc


def names_a_driver(connection_string: str) -> bool:
    return any(part.strip().upper().startswith("DRIVER=") for part in connection_string.split(";"))


def choose_driver(wanted: Sequence[str], installed: Sequence[str]) -> str:
    """The first wanted driver that is installed (compared without regard to case)."""
    by_name = {name.lower(): name for name in installed}
    for name in wanted:
        if name.lower() in by_name:
            return by_name[name.lower()]
    raise ErpSourceProblem(
        _(
            "None of the ODBC drivers in PORTAL_ERP_ODBC_DRIVERS is installed: tried {wanted}; "
            "installed: {installed}.",
            wanted=", ".join(wanted) or "-",
            installed=", ".join(installed) or "none",
        )
    )


def connection_string(
    configured: str, wanted: Sequence[str], installed: Sequence[str], timeout_seconds: int
) -> str:
    """The string to connect with: the driver chosen when the setting names none, and for the
    PostgreSQL driver its read-only switch and a statement timeout (psqlODBC takes no query
    timeout through ODBC: the server is told instead, through libpq's options)."""
    text = configured.strip().rstrip(";")
    if not names_a_driver(text):
        text = f"DRIVER={{{choose_driver(wanted, installed)}}};{text}"
    if "postgres" in driver_of(text).lower():
        given = text.replace(" ", "").lower()
        if "readonly=" not in given:
            text += ";ReadOnly=1"
        if "pqopt=" not in given:
            text += f";pqopt={{options=-cstatement_timeout={timeout_seconds * 1000}}}"
    return text


def driver_of(text: str) -> str:
    for part in text.split(";"):
        if part.strip().upper().startswith("DRIVER="):
            return part.split("=", 1)[1].strip().strip("{}")
    return ""


def read_mappings(
    configured: str, wanted: Sequence[str], files: Sequence[MappingFile], timeout_seconds: int
) -> tuple[str, list[QueryResult]]:
    """Run every mapping's query on one read-only connection: the driver used, and what each
    returned. A query the database refuses is an `ErpSourceProblem` naming the file."""
    pyodbc = _pyodbc()
    text = connection_string(configured, wanted, pyodbc.drivers(), timeout_seconds)
    driver = driver_of(text)
    try:
        connection = pyodbc.connect(text, readonly=True, autocommit=False, timeout=timeout_seconds)
    except pyodbc.Error as exc:
        raise ErpSourceProblem(
            _(
                "Cannot connect to the ERP database with the ODBC driver '{driver}': {reason}",
                driver=driver,
                reason=_reason(exc),
            )
        ) from exc
    try:
        with contextlib.suppress(pyodbc.Error):  # a driver without query timeouts
            connection.timeout = timeout_seconds
        results = [_run(connection, pyodbc, file) for file in files]
    finally:
        try:
            connection.rollback()
        finally:
            connection.close()
    return driver, results


def _run(connection: Any, pyodbc: Any, file: MappingFile) -> QueryResult:
    cursor = connection.cursor()
    try:
        cursor.execute(file.sql)
        if cursor.description is None:
            raise ErpSourceProblem(
                _(
                    "{file}: the statement returns no rows (it must be a SELECT).",
                    file=file.path.name,
                )
            )
        columns = tuple(str(column[0]) for column in cursor.description)
        rows = cursor.fetchall()
    except pyodbc.Error as exc:
        raise ErpSourceProblem(
            _(
                "{file}: the ERP database refused the query: {reason}",
                file=file.path.name,
                reason=_reason(exc),
            )
        ) from exc
    finally:
        cursor.close()
    return QueryResult(file, columns, [tuple(row) for row in rows])


def _reason(exc: Exception) -> str:
    """The driver's message without its SQLSTATE tuple dressing."""
    if len(exc.args) >= 2 and isinstance(exc.args[1], str):
        return exc.args[1]
    return str(exc)
