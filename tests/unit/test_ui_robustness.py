"""Whatever a browser sends, no page of the gateway answers 5xx.

One embedded portal with the demo data; every route of the gateway app outside /api and /static
(found by walking the app's routes, so a new page is covered the day it is added) is opened as
the admin and as a Spanish-speaking user with real and odd path values (very long, NUL, unicode,
'../', numbers out of range) and odd query parameters (negative and non-numeric paging, unknown
sorts, impossible dates and statuses, long search text, repeated parameters). Every form is
posted empty, with missing fields, wrong types, huge, negative and non-numeric numbers and
unknown ids, with the CSRF token. Every answer is below 500; a refusal is a page or a
problem+json (never a stack trace) and saves nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from services.demo import load_demo_data_once
from services.embedded import EmbeddedPortal
from tests.support.ui import ADMIN_PASSWORD, CSRF_META, PASSWORD, add_user, ui_portal

LONG = "x" * 2000
# Odd values for a path parameter (already percent-encoded where the URL needs it).
ODD_SEGMENTS = (
    LONG,
    "%00",
    "a%00b",
    "%C3%B1and%C3%BA-%E2%9C%93-%E6%97%A5%E6%9C%AC",
    "..%2F..%2Fapi%2Fv1%2Fitems",
    "%2E%2E",
    "..",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "%20",
    "%25",
    "a%3Fb%23c",
    "%FF%FE",
)
# Query parameters the pages read (every table filter, paging, sorting, and the pages' own).
PARAMS = (
    "offset",
    "limit",
    "sort",
    "q",
    "status",
    "item_type",
    "make_or_buy",
    "sku",
    "location",
    "date_from",
    "date_to",
    "as_of",
    "vendor_code",
    "entry_type",
    "document_ref",
    "role",
    "active",
    "actor",
    "action",
    "entity_id",
    "po",
    "next",
    "reason",
    "saved",
    "submitted",
)
ODD_VALUES = (
    "-1",
    "abc",
    "0",
    "99999",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "-",
    "--",
    "unknown",
    "yesterday",
    "2026-13-45",
    "0000-00-00",
    "9999-12-31",
    "\x00",
    "ñandú ✓ 日本",
    "' OR 1=1 --",
    "%",
    "_",
    "<script>alert(1)</script>",
    LONG,
)
# Pages that stream forever (server-sent events): opened only without a session (refused).
STREAMS = {"/ui/live"}
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/.*\.py\", line \d+")


def page_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route outside /api and /static."""
    found = []
    for ctx in iter_route_contexts(app.router.routes):
        path = ctx.path_format
        if path is None or path.startswith(("/api/", "/static/")):
            continue
        for method in sorted((ctx.methods or set()) - {"HEAD"}):
            found.append((method, path))
    return sorted(set(found))


def fill(template: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], template)


def path_variants(
    template: str, real: Mapping[str, Sequence[str]], odd: Sequence[str] = ODD_SEGMENTS
) -> Iterator[str]:
    names = re.findall(r"\{(\w+)(?::\w+)?\}", template)
    if not names:
        yield template
        return
    for name in names:
        others = {other: real[other][0] for other in names}
        for value in (*real[name], *odd):
            yield fill(template, {**others, name: value})


def query_variants() -> Iterator[list[tuple[str, str]]]:
    for value in ODD_VALUES:
        yield [(name, value) for name in PARAMS]
    yield [("offset", "1"), ("offset", "abc"), ("limit", "0"), ("limit", "5")]
    yield [("sort", "sku"), ("sort", "-"), ("status", "draft"), ("status", "bogus")]
    yield [("sku", "PLA-BLK-1KG")] * 600


class Sweep:
    """One signed-in browser that records every answer of 500 or more (or a stack trace)."""

    def __init__(self, client: httpx.AsyncClient, who: str) -> None:
        self.client = client
        self.who = who
        self.failures: list[str] = []
        self.requests = 0
        self.csrf_token = ""

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        self.requests += 1
        shown = url if len(url) < 120 else url[:117] + "..."
        if "params" in kwargs:
            shown += f" {str(kwargs['params'])[:80]}"
        if "data" in kwargs:
            shown += f" {str(kwargs['data'])[:200]}"
        try:
            answer = await self.client.request(method, url, **kwargs)
        except Exception as exc:  # the app raised: what a browser sees as a 500
            self.failures.append(f"{self.who} {method} {shown} -> raised {exc!r:.200}")
            return None
        found = (
            CSRF_META.search(answer.text)
            if "html" in answer.headers.get("content-type", "")
            else None
        )
        if found:
            self.csrf_token = found.group(1)
        if answer.status_code >= 500:
            self.failures.append(f"{self.who} {method} {shown} -> {answer.status_code}")
        elif TRACEBACK.search(answer.text):
            self.failures.append(f"{self.who} {method} {shown} -> a stack trace")
        elif 400 <= answer.status_code < 500:
            kind = answer.headers.get("content-type", "")
            if not kind.startswith(("text/html", "application/problem+json")):
                self.failures.append(f"{self.who} {method} {shown} -> {answer.status_code} {kind}")
        return answer

    async def post_form(self, url: str, fields: Sequence[tuple[str, str]]) -> httpx.Response | None:
        """`fields` (a name may repeat) as a form, with the CSRF token of the last page."""
        data: dict[str, list[str]] = {}
        for name, value in [*fields, ("csrf_token", self.csrf_token)]:
            data.setdefault(name, []).append(value)
        return await self.send("POST", url, data=data)


@contextlib.asynccontextmanager
async def sweep_as(portal: EmbeddedPortal, username: str, password: str) -> AsyncIterator[Sweep]:
    """Signed in through the form; the app's own exceptions come back as answers, not raised."""
    transport = httpx.ASGITransport(app=portal.gateway.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        answer = await client.post(
            "/sign-in", data={"username": username, "password": password, "next": "/"}
        )
        assert answer.status_code == 303, f"signing in as {username}: {answer.status_code}"
        sweep = Sweep(client, username)
        await sweep.send("GET", "/")
        yield sweep


async def real_values(sweep: Sweep) -> dict[str, list[str]]:
    async def listed(path: str) -> list[dict[str, Any]]:
        answer = await sweep.client.get(path)
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    items = await listed("/api/inventory/v1/items?limit=1")
    orders = await listed("/api/purchasing/v1/purchase-orders")
    journal = await listed("/api/accounting/v1/journal-entries?limit=1")
    sales_orders = await listed("/api/mrp/v1/sales-orders?limit=1")
    return {
        "sku": [items[0]["sku"], "PLA-BLK-1KG"],
        "number": [po["number"] for po in orders] + [journal[0]["number"]],
        "open_po": [
            next(po["number"] for po in orders if po["status"] in ("submitted", "partial"))
        ],
        "username": ["admin", "sofia"],
        "service": ["inventory", "purchasing", "gateway", "nope"],
        "letter_id": ["1"],
        # The books: an account, a posting role, a month; no webhook subscription exists.
        "code": ["1200", "9999", "PLANT-1", "PRN-01", "MECH", "FILAMENTCO"],
        "role": ["raw_materials", "nope"],
        "period": ["2026-01", "2026-13"],
        "subscription_id": ["1", "0"],
        "delivery_id": ["1", "0"],
        # The plant (demo data): shifts, a day of the day locks, a capacity row.
        "shift_code": ["A", "Z"],
        "day": ["2026-01-05", "2026-13-45"],
        "row_id": ["1", "0"],
        "name": ["htmx.min.js"],
        "path": ["portal.css"],
        # The MRP (demo data has open sales orders and a run).
        "so_number": [sales_orders[0]["so_number"], "SO-1999-00001"],
        "line_no": ["1", "0", "99999999999999999999"],
        # The ERP import's runs (none in the demo: a run page that is not there).
        "run_id": ["1", "0", "99999999999999999999"],
    }


async def sweep_gets(
    sweep: Sweep, routes: Sequence[tuple[str, str]], real: Mapping[str, Any]
) -> None:
    htmx = {"hx-request": "true", "hx-target": "table-items"}
    for method, template in routes:
        if method != "GET" or template in STREAMS:
            continue
        for url in path_variants(template, real):
            await sweep.send("GET", url)
        url = fill(template, {name: values[0] for name, values in real.items()})
        for query in query_variants():
            await sweep.send("GET", url, params=query)
        await sweep.send("GET", url, params={"offset": "-1"}, headers=htmx)


HUGE = "9" * 100_000
# Odd values for every kind of form field: empty, blank, wrong types, out of range, huge.
ODD_FIELD_VALUES = (
    "",
    "   ",
    "abc",
    "-1",
    "-0.0001",
    "0",
    "1e309",
    "-1e309",
    "NaN",
    "Infinity",
    "99999999999999999999999999",
    "0.000000000000000000001",
    "2026-13-45",
    "yesterday",
    "\x00",
    "ñandú ✓ 日本",
    "<script>alert(1)</script>",
    LONG,
    HUGE,
)
Form = list[tuple[str, str]]


def form_variants(base: Mapping[str, str | list[str]]) -> Iterator[Form]:
    """The form as it should be, then empty, then each field missing and each field odd."""

    def flat(values: Mapping[str, str | list[str]]) -> Form:
        return [
            (name, item)
            for name, value in values.items()
            for item in ([value] if isinstance(value, str) else value)
        ]

    yield []
    for name in base:
        yield flat({other: value for other, value in base.items() if other != name})
        for odd in ODD_FIELD_VALUES:
            yield flat({**base, name: odd})
        yield flat({**base, name: ["1", "abc", ""]})  # repeated, disagreeing


async def total(sweep: Sweep, path: str) -> int:
    answer = await sweep.client.get(path, params={"limit": 1})
    found: int = answer.json()["total"]
    return found


async def receipts_of(sweep: Sweep, number: str) -> int:
    answer = await sweep.client.get(f"/api/purchasing/v1/purchase-orders/{number}/receipts")
    return len(answer.json()) if answer.status_code == 200 else -1


async def audit_total(sweep: Sweep) -> int:
    return await total(sweep, "/api/admin/audit")


async def sweep_posts(
    portal: EmbeddedPortal,
    sweep: Sweep,
    admin: Sweep,
    routes: Sequence[tuple[str, str]],
    real: Any,
) -> None:
    """Every form, refused in every odd way: nothing is saved by a refusal (counted by `admin`
    through the JSON API)."""
    sku, open_po = real["sku"][0], real["open_po"][0]
    counters = {
        "/items/new": lambda: total(admin, "/api/inventory/v1/items"),
        "/vendors/new": lambda: total(admin, "/api/purchasing/v1/vendors"),
        "/purchase-orders/new": lambda: total(admin, "/api/purchasing/v1/purchase-orders"),
        f"/receiving/{open_po}": lambda: receipts_of(admin, open_po),
        "/admin/users/new": lambda: _users(portal),
    }
    forms: dict[str, dict[str, str | list[str]]] = {
        "/items/new": {
            "sku": "ROBUST-1",
            "name": "Robust",
            "uom": "ea",
            "item_type": "raw",
            "make_or_buy": "buy",
            "reorder_point": "abc",  # one field always wrong: no variant may save
            "reorder_qty": "1",
            "customer_supplied": "on",
        },
        f"/items/{sku}/edit": {
            "name": "",  # always refused
            "uom": "ea",
            "item_type": "raw",
            "make_or_buy": "buy",
            "reorder_point": "1",
            "reorder_qty": "1",
            "active": "on",
        },
        "/vendors/new": {"code": "", "name": "Robust", "email": "x@y.example", "phone": "1"},
        "/purchase-orders/new": {
            "vendor_code": "NO-SUCH-VENDOR",
            "expected_date": "2026-12-01",
            "notes": "n",
            "sku": [sku, sku],
            "qty": ["1", "-1"],
            "unit_cost": ["1", "1"],
        },
        f"/receiving/{open_po}": {
            "idempotency_key": "not-a-uuid",
            "line_no": ["1", "2"],
            "qty": ["-1", "abc"],
            "lot": ["L", "L"],
            "to_status": ["approved", "bogus"],
        },
        "/admin/users/new": {
            "username": "robust",
            "display_name": "Robust",
            "roles": ["no-such-role"],
            "language": "en",
            "password": "a-long-enough-password",
        },
        "/admin/users/tomas": {"display_name": "", "roles": ["viewer"], "language": "en"},
        "/admin/users/tomas/password": {"password": "x"},
        "/admin/settings": {"session_idle_minutes": "-1", "ldap_group_roles": "{}"},
        "/profile/language": {"language": "xx"},
    }
    audited = ("/admin/users/tomas", "/admin/users/tomas/password", "/admin/settings")
    for path, base in forms.items():
        count = counters.get(path) or ((lambda: audit_total(admin)) if path in audited else None)
        for form in form_variants(base):
            before = await count() if count else None
            answer = await sweep.post_form(path, form)
            if answer is None or answer.status_code < 400 or count is None:
                continue
            if await count() != before:
                sweep.failures.append(f"{sweep.who} POST {path} {form!r:.200} refused but saved")
    # Unknown and odd ids on the forms that act on one record.
    odd = [*ODD_SEGMENTS, "NO-SUCH-ID"]
    for method, template in routes:
        if method != "POST" or template in ("/sign-in", "/sign-out"):
            continue
        for url in path_variants(template, {**real, "username": ["tomas"]}, odd):
            await sweep.post_form(url, [("qty", "1"), ("line_no", "1"), ("password", "")])
    # Bodies a form never sends: JSON, a file upload, no body.
    for path in forms:
        await sweep.send(
            "POST", path, json={"sku": [1]}, headers={"x-csrf-token": sweep.csrf_token}
        )
        await sweep.send(
            "POST",
            path,
            data={"csrf_token": sweep.csrf_token},
            files={"sku": ("a.txt", b"\x00" * 10)},
        )
        await sweep.send("POST", path, headers={"x-csrf-token": sweep.csrf_token})


async def sweep_signing_in(portal: EmbeddedPortal) -> Sweep:
    """The sign-in form, odd in every field, from a browser without a session."""
    transport = httpx.ASGITransport(app=portal.gateway.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        sweep = Sweep(client, "anonymous")
        for form in form_variants({"username": "nobody", "password": "wrong", "next": "/items"}):
            data: dict[str, list[str]] = {}
            for name, value in form:
                data.setdefault(name, []).append(value)
            await sweep.send("POST", "/sign-in", data=data)
        for query in query_variants():
            await sweep.send("GET", "/sign-in", params=query)
        await sweep.send("POST", "/sign-out", data={})
        for stream in STREAMS:
            await sweep.send("GET", stream, params={"offset": "-1"})
        await sweep.send("GET", "/items", params={"next": LONG})
    return sweep


async def _users(portal: EmbeddedPortal) -> int:
    return user_count(portal)


async def test_no_page_answers_5xx_whatever_the_browser_asks(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        await load_demo_data_once(portal)
        await portal.wait_idle()
        add_user(portal, "sofia", ["buyer", "store", "supervisor"], language="es")
        add_user(portal, "tomas", ["viewer"])
        routes = page_routes(portal.gateway.app)
        assert ("GET", "/items/{sku}") in routes and ("POST", "/receiving/{number}") in routes
        async with (
            sweep_as(portal, "admin", ADMIN_PASSWORD) as admin,
            sweep_as(portal, "sofia", PASSWORD) as sofia,
        ):
            real = await real_values(admin)
            sweeps = [admin, sofia]
            for sweep in sweeps:
                await sweep_gets(sweep, routes, real)
                await sweep_posts(portal, sweep, admin, routes, real)
            # The refusals a person reads: beside the field, in their language.
            bad_date = await sofia.send("GET", "/stock", params={"date_from": "yesterday"})
            bad_qty = await sofia.post_form(
                "/items/new", [("sku", "ROBUST-ES"), ("name", "R"), ("reorder_point", "abc")]
            )
            for sweep in sweeps:
                await sweep.post_form("/sign-out", [("next", LONG)])
            sweeps.append(await sweep_signing_in(portal))
    findings = [failure for sweep in sweeps for failure in sweep.failures]
    assert sum(sweep.requests for sweep in sweeps) > 3000
    assert not findings, f"{len(findings)} failures:\n" + "\n".join(findings[:80])
    assert bad_date is not None and bad_date.status_code == 422
    assert (
        '<p class="field-error" role="alert">Escriba una fecha (AAAA-MM-DD).</p>' in bad_date.text
    )
    assert bad_qty is not None and bad_qty.status_code == 422
    assert "Escriba un número." in bad_qty.text


def user_count(portal: EmbeddedPortal) -> int:
    from services.gateway.models import User

    with portal.gateway.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(User)) or 0)
