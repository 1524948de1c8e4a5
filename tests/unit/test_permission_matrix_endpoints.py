"""The permission matrix, proven on every endpoint: each /api route of every service (and the
gateway's own role-checked /api routes) is called by every role, and the answer is the one
`shared/auth/permissions.py` promises (DESIGN §7).

Endpoints are found by walking each running app's routes, and the action each needs by walking
its dependencies for a `require_permission(<Action>)` closure, so a route added tomorrow is
tested without anyone listing it here, and a route under /api that declares no permission fails
`test_every_api_route_declares_a_permission`.

For a role the matrix forbids, the answer must be 403 problem+json and the service's database
(every table, outbox included) must be byte-for-byte what it was, although the request carried a
body that the same call by an allowed role is shown to accept. For a role the matrix allows, the
answer must be neither 403 nor 5xx; admin's must be 2xx wherever the test knows real values for
the route's path (so the bodies here are real, and the forbidden calls would have changed
something had they been let through).

Everything runs embedded: every service on its own SQLite file, the in-process bus.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, SecretStr
from sqlalchemy import MetaData, select

from services.embedded import EmbeddedPortal
from services.gateway import domain as gateway_domain
from services.gateway.models import User
from services.mrp.erp.api import background_imports
from shared.auth.permissions import Action, allowed
from shared.auth.tokens import Role, issue_service_token
from shared.events.envelope import utc_now
from shared.settings import SERVICES, Settings
from shared.web.problems import PROBLEM_MEDIA_TYPE

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROLES = list(Role)
SERVICE_APIS = [name for name in SERVICES if name != "gateway"]
# The gateway's /api routes that are not role-checked: signing in and out, and the forwarding
# route (the service behind it checks the role, and is tested here directly).
GATEWAY_OPEN_PREFIXES = ("/api/auth/",)
GATEWAY_FORWARD_MODULE = "services.gateway.proxy"
# The caller's own session bookkeeping is not a change the caller made.
SESSION_TABLES = frozenset({"sessions", "login_attempts"})
ROLE_PASSWORD = "matrix-role-password"


@dataclass(frozen=True)
class Endpoint:
    service: str
    method: str
    path: str
    actions: frozenset[Action]
    body_model: type[BaseModel] | None
    required_query: tuple[str, ...]

    @property
    def by_session(self) -> bool:
        """The gateway's own routes are called by a signed-in browser; /api/v1 by a token."""
        return self.service == "gateway" and not self.path.startswith("/api/v1/")

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def declared_actions(dependant: Dependant) -> set[Action]:
    """Every Action a `require_permission(action)` closure in the dependency tree checks."""
    found: set[Action] = set()
    call = dependant.call
    if call is not None and inspect.isfunction(call):
        nonlocals = inspect.getclosurevars(call).nonlocals
        found |= {value for value in nonlocals.values() if isinstance(value, Action)}
    for sub in dependant.dependencies:
        found |= declared_actions(sub)
    return found


def body_model_of(dependant: Dependant) -> type[BaseModel] | None:
    if len(dependant.body_params) != 1:
        return None
    annotation = dependant.body_params[0].field_info.annotation
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def needs_a_role(service: str, path: str, route: APIRoute) -> bool:
    if not path.startswith("/api/"):
        return False  # probes, docs, pages
    if service != "gateway":
        return True
    if route.endpoint.__module__ == GATEWAY_FORWARD_MODULE:
        return False
    return not path.startswith(GATEWAY_OPEN_PREFIXES)


def discover(service: str, app: FastAPI) -> Iterator[tuple[Endpoint, bool]]:
    """(endpoint, needs a role) for every method of every API route of `app`."""
    for ctx in iter_route_contexts(app.router.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute) or ctx.path_format is None:
            continue
        dependant: Dependant = ctx.dependant
        for method in sorted((ctx.methods or set()) - {"HEAD"}):
            endpoint = Endpoint(
                service=service,
                method=method,
                path=ctx.path_format,
                actions=frozenset(declared_actions(dependant)),
                body_model=body_model_of(dependant),
                required_query=tuple(
                    p.name for p in dependant.query_params if p.field_info.is_required()
                ),
            )
            yield endpoint, needs_a_role(service, ctx.path_format, route)


# --- request material -----------------------------------------------------------------------

_serial = itertools.count(1)

# Valid bodies for the models the services take, against the data `plant` sets up. A model not
# listed gets a body built from its JSON schema (valid-looking, perhaps refused by a rule).
SHIPPABLE_SO = ""  # set by set_up_production_and_sales
WEBHOOK_SUBSCRIPTION = 0  # set by set_up_books
# Values of required query parameters where "1" would name nothing real.
QUERY_VALUES = {"account_code": "1200"}
IMPORTS = "/api/v1/erp/imports"
STOPS_FROM = datetime(2026, 1, 5, tzinfo=UTC)
BODIES: dict[str, Callable[[int], dict[str, Any]]] = {
    "ItemCreate": lambda n: {"sku": f"PM-ITEM-{n}", "name": f"Matrix item {n}"},
    "VendorCreate": lambda n: {"code": f"PMV{n}", "name": f"Matrix vendor {n}"},
    "PurchaseOrderCreate": lambda n: {
        "vendor_code": "ACME",
        "lines": [{"sku": "RESIN", "qty": "1", "unit_cost": "2.5"}],
    },
    "ReceiptCreate": lambda n: {"lines": [{"line_no": 1, "qty": "0.01"}]},
    # A projection cell of the line set_up_schedule makes, at the version it starts with.
    "CellSave": lambda n: {"value": "0.5", "version": 0},
    # Vendor items and the MRP's purchase suggestions, on what set_up_vendor_items makes.
    "VendorItemCreate": lambda n: {"sku": "PM-WIDGET", "unit_cost": "1.5", "moq": "2"},
    "PurchaseSuggestionRequest": lambda n: {"lines": [{"sku": "RESIN", "qty": "1"}]},
    # Stock movements of the resin set_up_data received: 1 approved in RAW, 1 pending QC.
    "ReleaseCreate": lambda n: {"sku": "RESIN", "qty": "0.0001"},
    "TransferCreate": lambda n: {
        "sku": "RESIN",
        "from_location": "RAW",
        "to_location": "FG",
        "qty": "0.0001",
    },
    "AdjustmentCreate": lambda n: {
        "sku": "RESIN",
        "location": "RAW",
        "qty_delta": "0.0001",
        "reason_code": "found",
    },
    "ReservationCreate": lambda n: {
        "reference_type": "production_order",
        "reference": f"PRD-MATRIX-{n}",
        "lines": [{"sku": "RESIN", "qty": "0.01"}],
        "allow_insufficient": True,
    },
    # Production and sales of the made widget set_up_data gives a released BOM.
    "BomCreate": lambda n: {
        "sku": "PM-WIDGET",
        "lines": [{"line_no": 1, "component_sku": "RESIN", "qty_per": "0.001"}],
    },
    "OrderCreate": lambda n: {"sku": "PM-WIDGET", "qty_ordered": "1"},
    "SalesOrderCreate": lambda n: {
        "customer_code": "PM-CUST",
        "lines": [{"sku": "RESIN", "qty": "1", "unit_price": "5"}],
    },
    # A payment of the shippable order and a change of its notes (mrp's sales orders).
    "PaymentCreate": lambda n: {"amount": "0.0001", "reference": f"Matrix payment {n}"},
    "SalesOrderUpdate": lambda n: {"notes": f"Matrix note {n}"},
    # The MRP's priority settings at the version they start with (never saved before).
    "PrioritySettingsUpdate": lambda n: {
        "use_score": False,
        "weight_customer": "1",
        "weight_value": "1",
        "weight_due": "1",
        "weight_penalty": "1",
        "horizon_days": 60,
        "version": 0,
    },
    "ShipmentCreate": lambda n: {
        "so_number": SHIPPABLE_SO,
        "lines": [{"line_no": 1, "qty": "0.0001"}],
    },
    "ManualEntryCreate": lambda n: {
        "entry_date": utc_now().date().isoformat(),
        "memo": f"Matrix entry {n}",
        "lines": [
            {"account_code": "1000", "debit": "0.01"},
            {"account_code": "3000", "credit": "0.01"},
        ],
    },
    "PostingAccountUpdate": lambda n: {"account_code": "1200"},
    # Paused feeds: an active one would have the delivery worker change the tables meanwhile.
    "WebhookSubscriptionCreate": lambda n: {
        "name": f"Matrix feed {n}",
        "url": "http://127.0.0.1:9/hook",
        "active": False,
    },
    # The downtime plant set_up_downtime makes: facility PM-PLANT.
    "FacilityCreate": lambda n: {
        "code": f"PMF{n}",
        "name": f"Matrix facility {n}",
        "timezone": "America/Mexico_City",
    },
    "LineCreate": lambda n: {"code": f"PML{n}", "facility_code": "PM-PLANT", "name": f"Line {n}"},
    "ReasonCreate": lambda n: {
        "code": f"PMR{n}",
        "facility_code": "PM-PLANT",
        "name": f"Reason {n}",
        "colour": "#336699",
    },
    # A stop after the fact on PM-LINE; each body its own 20 minutes, so none overlaps another.
    "DowntimeCreate": lambda n: {
        "line_code": "PM-LINE",
        "reason_code": "PM-STOP",
        "started_at": (STOPS_FROM + timedelta(minutes=20 * n)).isoformat(),
        "ended_at": (STOPS_FROM + timedelta(minutes=20 * n + 10)).isoformat(),
    },
    "ReplayRange": lambda n: {
        "subscription_id": WEBHOOK_SUBSCRIPTION,
        "date_from": "2026-01-01",
        "date_to": "2026-12-31",
    },
    # A dry run of the ERP import set_up_erp_import configures (it fails at once, changing
    # nothing but the run log).
    "ImportStart": lambda n: {"dry_run": True},
}


def body_from_schema(schema: dict[str, Any], defs: dict[str, Any], n: int) -> Any:
    if "$ref" in schema:
        return body_from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, n)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return body_from_schema(options[0], defs, n)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        return {
            name: body_from_schema(sub, defs, n)
            for name, sub in schema.get("properties", {}).items()
            if name in required
        }
    if kind == "array":
        return [body_from_schema(schema.get("items", {}), defs, n)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return utc_now().date().isoformat()
    if schema.get("format") == "date-time":
        return utc_now().isoformat()
    return f"M{n}"


def valid_body(endpoint: Endpoint) -> dict[str, Any] | None:
    if endpoint.body_model is None:
        return None
    n = next(_serial)
    known = BODIES.get(endpoint.body_model.__name__)
    if known is not None:
        return known(n)
    schema = endpoint.body_model.model_json_schema()
    body: dict[str, Any] = body_from_schema(schema, schema.get("$defs", {}), n)
    return body


@dataclass
class Plant:
    portal: EmbeddedPortal
    # (service, role) -> a client calling as that role with a service token.
    clients: dict[tuple[str, Role], httpx.AsyncClient] = field(default_factory=dict)
    # role -> a browser signed in to the gateway as a user holding that role only.
    sessions: dict[Role, httpx.AsyncClient] = field(default_factory=dict)
    # True after an allowed call that may have started events: wait for them before comparing.
    unsettled: bool = True
    # Path parameter values by (service, parameter), and by (path, parameter) where it differs.
    path_values: dict[tuple[str, str], str] = field(default_factory=dict)

    def path_for(self, endpoint: Endpoint) -> tuple[str, bool]:
        """The path with real values where known; False when a parameter had to be made up."""
        path, known = endpoint.path, True
        for name in _path_parameters(endpoint.path):
            value = self.path_values.get((endpoint.path, name)) or self.path_values.get(
                (endpoint.service, name)
            )
            if value is None:
                value, known = "UNKNOWN-1", False
            path = path.replace("{" + name + "}", value)
        return path, known

    def fingerprint(self, service: str) -> dict[str, str]:
        """A digest of every row of every table of the service's database, outbox included."""
        engine = self.portal.runtimes[service].db.engine
        tables = MetaData()
        tables.reflect(engine)
        digests = {}
        with engine.connect() as conn:
            for table in tables.sorted_tables:
                if service == "gateway" and table.name in SESSION_TABLES:
                    continue
                rows = sorted(repr(tuple(row)) for row in conn.execute(select(table)))
                digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return digests


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def set_up_data(plant: Plant) -> None:
    """An item, a vendor, a submitted PO received once (so a journal entry), a draft PO."""
    inventory = plant.clients[("inventory", Role.ADMIN)]
    purchasing = plant.clients[("purchasing", Role.ADMIN)]
    accounting = plant.clients[("accounting", Role.ADMIN)]
    ok(await inventory.post("/api/v1/items", json={"sku": "RESIN", "name": "Resin"}), 201)
    ok(await purchasing.post("/api/v1/vendors", json={"code": "ACME", "name": "Acme"}), 201)
    await plant.portal.wait_idle()
    order = {"vendor_code": "ACME", "lines": [{"sku": "RESIN", "qty": "10", "unit_cost": "2.5"}]}
    received = ok(await purchasing.post("/api/v1/purchase-orders", json=order), 201)["number"]
    ok(await purchasing.post(f"/api/v1/purchase-orders/{received}/submit"))
    receipt = {"lines": [{"line_no": 1, "qty": "1"}]}
    ok(await purchasing.post(f"/api/v1/purchase-orders/{received}/receipts", json=receipt), 201)
    held = {"lines": [{"line_no": 1, "qty": "1", "to_status": "pending_qc"}]}
    ok(await purchasing.post(f"/api/v1/purchase-orders/{received}/receipts", json=held), 201)
    draft = ok(await purchasing.post("/api/v1/purchase-orders", json=order), 201)["number"]
    await set_up_production_and_sales(plant)
    await set_up_schedule(plant)
    await set_up_vendor_items(plant)
    await set_up_books(plant)
    await set_up_downtime(plant)
    await set_up_erp_import(plant)
    await plant.portal.wait_idle()
    entries = ok(await accounting.get("/api/v1/journal-entries"))["items"]
    assert entries, "the receipt was not posted to the journal"
    plant.path_values.update(
        {
            ("inventory", "sku"): "RESIN",
            ("purchasing", "code"): "ACME",
            ("purchasing", "number"): received,
            ("/api/v1/purchase-orders/{number}/submit", "number"): draft,
            ("accounting", "number"): entries[0]["number"],
        }
    )


async def set_up_erp_import(plant: Plant) -> None:
    """An ERP connection string for mrp (to a driver that is not there: a run ends at once, as
    failed, and changes nothing but its own log), and one run to read."""
    mrp = plant.portal.runtimes["mrp"]
    mrp.settings = mrp.settings.model_copy(
        update={"erp_odbc": SecretStr("Database=matrix.sqlite"), "erp_odbc_drivers": ["None"]}
    )
    run = ok(await plant.clients[("mrp", Role.ADMIN)].post(IMPORTS, json={"dry_run": True}), 202)
    await background_imports(mrp.app).wait()
    plant.path_values[("mrp", "run_id")] = str(run["id"])


async def set_up_vendor_items(plant: Plant) -> None:
    """ACME sells RESIN (preferred: the suggestions go there) and PM-WIDGET (the one the matrix
    deactivates); vendor PM-VENDOR sells nothing yet (the matrix adds PM-WIDGET to it)."""
    purchasing = plant.clients[("purchasing", Role.ADMIN)]
    items = "/api/v1/vendors/ACME/items"
    resin = {"sku": "RESIN", "unit_cost": "2.5", "preferred": True}
    ok(await purchasing.post(items, json=resin), 201)
    ok(await purchasing.post(items, json={"sku": "PM-WIDGET", "unit_cost": "1"}), 201)
    ok(await purchasing.post("/api/v1/vendors", json={"code": "PM-VENDOR", "name": "PM"}), 201)
    plant.path_values[("purchasing", "sku")] = "RESIN"
    plant.path_values[("/api/v1/vendors/{code}/items", "code")] = "PM-VENDOR"
    plant.path_values[("/api/v1/vendors/{code}/items/{sku}/deactivate", "sku")] = "PM-WIDGET"


async def set_up_schedule(plant: Plant) -> None:
    """A sales order of its own for the scheduling grid's routes (no other route ships or
    cancels it, so its line stays open for the projection cell admin saves)."""
    mrp = plant.clients[("mrp", Role.ADMIN)]
    sale = {"customer_code": "PM-CUST", "lines": [{"sku": "RESIN", "qty": "5", "unit_price": "5"}]}
    so = ok(await mrp.post("/api/v1/sales-orders", json=sale), 201)["so_number"]
    line = ok(await mrp.get("/api/v1/schedule", params={"q": so}))["items"][0]["so_line_id"]
    for path in (
        "/api/v1/schedule/lines/{so_line_id}/{field}",
        "/api/v1/schedule/lines/{so_line_id}/history",
    ):
        plant.path_values[(path, "so_line_id")] = str(line)
    plant.path_values[("/api/v1/schedule/lines/{so_line_id}/{field}", "field")] = "low_risk_qty"


async def set_up_downtime(plant: Plant) -> None:
    """A facility with a line and a leaf reason, for the downtime bodies above."""
    downtime = plant.clients[("downtime", Role.ADMIN)]
    facility = {"code": "PM-PLANT", "name": "Matrix plant", "timezone": "America/Mexico_City"}
    ok(await downtime.post("/api/v1/facilities", json=facility), 201)
    line = {"code": "PM-LINE", "facility_code": "PM-PLANT", "name": "Matrix line"}
    ok(await downtime.post("/api/v1/lines", json=line), 201)
    reason = {"code": "PM-STOP", "facility_code": "PM-PLANT", "name": "Stop", "colour": "#993333"}
    ok(await downtime.post("/api/v1/reasons", json=reason), 201)


async def set_up_books(plant: Plant) -> None:
    """A paused webhook subscription (to a port nobody listens on) for the feed's routes."""
    accounting = plant.clients[("accounting", Role.ADMIN)]
    feed = {"name": "Matrix feed", "url": "http://127.0.0.1:9/hook", "active": False}
    created = ok(await accounting.post("/api/v1/webhooks/subscriptions", json=feed), 201)
    global WEBHOOK_SUBSCRIPTION
    WEBHOOK_SUBSCRIPTION = created["id"]
    plant.path_values[("accounting", "subscription_id")] = str(created["id"])
    plant.path_values[("accounting", "role")] = "raw_materials"
    plant.path_values[("accounting", "code")] = "1200"


async def set_up_production_and_sales(plant: Plant) -> None:
    """A made widget with a released BOM, a customer, and a sales order of resin that can ship
    (half the received resin moved to FG)."""
    inventory = plant.clients[("inventory", Role.ADMIN)]
    production = plant.clients[("production", Role.ADMIN)]
    mrp = plant.clients[("mrp", Role.ADMIN)]
    widget = {"sku": "PM-WIDGET", "name": "Widget", "item_type": "finished", "make_or_buy": "make"}
    ok(await inventory.post("/api/v1/items", json=widget), 201)
    await plant.portal.wait_idle()
    bom = {"sku": "PM-WIDGET", "lines": [{"line_no": 1, "component_sku": "RESIN", "qty_per": "1"}]}
    version = ok(await production.post("/api/v1/boms", json=bom), 201)["version"]
    ok(await production.post(f"/api/v1/boms/PM-WIDGET/versions/{version}/release"))
    ok(await mrp.post("/api/v1/customers", json={"code": "PM-CUST", "name": "Customer"}), 201)
    sale = {"customer_code": "PM-CUST", "lines": [{"sku": "RESIN", "qty": "1", "unit_price": "5"}]}
    so = ok(await mrp.post("/api/v1/sales-orders", json=sale), 201)["so_number"]
    move = {"sku": "RESIN", "from_location": "RAW", "to_location": "FG", "qty": "0.5"}
    ok(await inventory.post("/api/v1/stock/transfers", json=move), 201)
    await plant.portal.wait_idle()
    plant.path_values[("inventory", "so_number")] = so
    plant.path_values[("/api/v1/sales-orders/{number}", "number")] = so
    plant.path_values[("/api/v1/sales-orders/{number}/payments", "number")] = so
    # An MRP run, so the dashboard's line and its tooltip are there to read.
    ok(await mrp.post("/api/v1/mrp/runs"), 201)
    for path in (
        "/api/v1/mrp/lines/{so_number}/{line_no}",
        "/api/v1/mrp/lines/{so_number}/{line_no}/components/{sku}/taken",
    ):
        plant.path_values.update({(path, "so_number"): so, (path, "line_no"): "1"})
    plant.path_values[("/api/v1/mrp/lines/{so_number}/{line_no}/components/{sku}/taken", "sku")] = (
        "RESIN"
    )
    global SHIPPABLE_SO
    SHIPPABLE_SO = so


async def gateway_session(portal: EmbeddedPortal, role: Role) -> httpx.AsyncClient:
    """A browser signed in to the gateway as a local user holding only `role`."""
    username = f"matrix-{role.value}"
    with portal.gateway.uow() as uow:
        uow.session.add(
            User(
                username=username,
                display_name=f"Matrix {role.value}",
                password_hash=gateway_domain.hash_password(ROLE_PASSWORD),
                roles=[role.value],
                language="en",
                active=True,
                created_at=utc_now(),
            )
        )
        uow.commit()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=portal.gateway.app), base_url="http://gateway"
    )
    signed_in = await client.post(
        "/api/auth/login", json={"username": username, "password": ROLE_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    return client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Plant]:
    var_dir: Path = tmp_path_factory.mktemp("matrix")
    portal = EmbeddedPortal(Settings(var_dir=var_dir, admin_password="matrix-admin-password"))
    portal.prepare()
    async with portal.running():
        plant = Plant(portal)
        for service, role in itertools.product(SERVICES, ROLES):
            token = issue_service_token(
                portal.secret, user=f"matrix-{role.value}", roles=[role], ttl_seconds=3600
            )
            plant.clients[(service, role)] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=portal.runtimes[service].app),
                base_url=f"http://{service}",
                headers={"Authorization": f"Bearer {token}"},
            )
        for role in ROLES:
            plant.sessions[role] = await gateway_session(portal, role)
        await set_up_data(plant)
        try:
            yield plant
        finally:
            for client in [*plant.clients.values(), *plant.sessions.values()]:
                await client.aclose()


def role_checked_endpoints(plant: Plant, service: str) -> list[Endpoint]:
    app = plant.portal.runtimes[service].app
    return [endpoint for endpoint, checked in discover(service, app) if checked]


def may(role: Role, endpoint: Endpoint) -> bool:
    return all(allowed([role], action) for action in endpoint.actions)


def callers_in_order(endpoint: Endpoint) -> list[Role]:
    """Forbidden roles first (while the valid body would still succeed), then admin."""
    forbidden = [role for role in ROLES if not may(role, endpoint)]
    others = [role for role in ROLES if may(role, endpoint) and role is not Role.ADMIN]
    return [*forbidden, Role.ADMIN, *others]


async def call(
    plant: Plant, endpoint: Endpoint, role: Role, body: dict[str, Any] | None
) -> httpx.Response:
    path, _ = plant.path_for(endpoint)
    params = {name: QUERY_VALUES.get(name, "1") for name in endpoint.required_query}
    client = (
        plant.sessions[role] if endpoint.by_session else plant.clients[(endpoint.service, role)]
    )
    return await client.request(endpoint.method, path, params=params, json=body)


def refusal_problems(endpoint: Endpoint, role: Role, response: httpx.Response) -> list[str]:
    where = f"{endpoint} as {role.value}"
    if response.status_code != 403:
        return [f"{where}: the matrix forbids it, got {response.status_code} {response.text}"]
    problems = []
    if not response.headers.get("content-type", "").startswith(PROBLEM_MEDIA_TYPE):
        problems.append(f"{where}: 403 is not problem+json")
    elif response.json().get("code") != "permission_required":
        problems.append(f"{where}: 403 not from the permission check: {response.text}")
    return problems


async def check_forbidden(plant: Plant, endpoint: Endpoint, role: Role) -> list[str]:
    if plant.unsettled:
        # An admin's POST /erp/imports left a run going in the background, which writes mrp's
        # run log when it ends: let it end before mrp's tables are compared.
        await background_imports(plant.portal.runtimes["mrp"].app).wait()
        await plant.portal.wait_idle()
        plant.unsettled = False
    before = plant.fingerprint(endpoint.service)
    problems = refusal_problems(
        endpoint, role, await call(plant, endpoint, role, valid_body(endpoint))
    )
    if endpoint.body_model is not None:  # the refusal comes before the body is looked at
        problems += refusal_problems(endpoint, role, await call(plant, endpoint, role, {}))
    # A change would have been committed before the answer; the relay publishing it later
    # would change the outbox too, so no need to wait for it here.
    after = plant.fingerprint(endpoint.service)
    changed = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    if changed:
        problems.append(f"{endpoint} as {role.value}: refused, yet changed {', '.join(changed)}")
    return problems


async def check_allowed(plant: Plant, endpoint: Endpoint, role: Role) -> list[str]:
    response = await call(plant, endpoint, role, valid_body(endpoint))
    plant.unsettled |= endpoint.method != "GET"
    where = f"{endpoint} as {role.value}"
    if response.status_code == 403 or response.status_code >= 500:
        return [f"{where}: the matrix allows it, got {response.status_code} {response.text}"]
    _, real_path = plant.path_for(endpoint)
    if role is Role.ADMIN and real_path and not response.is_success:
        return [f"{where}: admin with a valid request got {response.status_code} {response.text}"]
    return []


async def test_every_api_route_declares_a_permission(plant: Plant) -> None:
    undeclared = [
        str(endpoint)
        for service in SERVICES
        for endpoint in role_checked_endpoints(plant, service)
        if not endpoint.actions
    ]
    assert not undeclared, (
        "these routes check no permission; add Depends(require_permission(Action.…)):\n"
        + "\n".join(undeclared)
    )


async def test_the_discovery_finds_the_endpoints_known_today(plant: Plant) -> None:
    """A guard on the discovery itself, so that the matrix test cannot pass by finding nothing."""
    found = {
        (endpoint.service, endpoint.method, endpoint.path, endpoint.actions)
        for service in SERVICE_APIS
        for endpoint in role_checked_endpoints(plant, service)
    }
    assert {
        ("inventory", "POST", "/api/v1/items", frozenset({Action.ITEMS_WRITE})),
        ("inventory", "GET", "/api/v1/items/{sku}/stock", frozenset({Action.STOCK_READ})),
        (
            "purchasing",
            "POST",
            "/api/v1/purchase-orders/{number}/receipts",
            frozenset({Action.RECEIPTS_WRITE}),
        ),
        ("purchasing", "POST", "/api/v1/vendors", frozenset({Action.VENDORS_WRITE})),
        ("accounting", "GET", "/api/v1/trial-balance", frozenset({Action.BOOKS_READ})),
        ("mrp", "POST", "/api/v1/erp/imports", frozenset({Action.ERP_IMPORT})),
        ("mrp", "GET", "/api/v1/erp/imports/{run_id}", frozenset({Action.ERP_IMPORT})),
    } <= found


@pytest.mark.parametrize("service", SERVICES)
async def test_each_role_gets_what_the_matrix_gives_it(plant: Plant, service: str) -> None:
    problems: list[str] = []
    for endpoint in role_checked_endpoints(plant, service):
        if not endpoint.actions:
            continue  # reported by test_every_api_route_declares_a_permission
        for role in callers_in_order(endpoint):
            if may(role, endpoint):
                problems += await check_allowed(plant, endpoint, role)
            else:
                problems += await check_forbidden(plant, endpoint, role)
    assert not problems, "\n".join(problems)


async def test_each_role_signs_in_to_the_gateway_with_only_its_role(plant: Plant) -> None:
    """The gateway sessions above are what they claim, so its role-checked routes are tested."""
    for role in ROLES:
        me = ok(await plant.sessions[role].get("/api/auth/me"))
        assert me["roles"] == [role.value]
