"""The production stories of issue 6, told once and run against any deployment (separate
processes on PostgreSQL and RabbitMQ, or the embedded portal), through the gateway's API as a
user would drive them.

Material: 10 kg of PLA at 20.00 (lot PLA-1) and 100 boxes at 0.50 (lot BOX-1), received from a
vendor. A widget takes 0.25 kg of PLA and one box, so one widget's material costs
0.25 x 20.00 + 0.50 = 5.50. Every figure below is worked out by hand from that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.support import servers
from tests.support.cluster import Cluster, running_cluster, sign_in
from tests.support.flow import eventually, ok

PLA, BOX, WIDGET = "PLA-WHT", "BOX-W", "WIDGET-W"
ITEMS = [
    {"sku": PLA, "name": "PLA filament, white", "uom": "kg", "item_type": "raw"},
    {"sku": BOX, "name": "Widget box", "uom": "ea", "item_type": "packaging"},
    {
        "sku": WIDGET,
        "name": "Widget, white",
        "uom": "ea",
        "item_type": "finished",
        "make_or_buy": "make",
    },
]
VENDOR = {"code": "FILCO", "name": "Filament Co"}
PO_LINES = [
    {"sku": PLA, "qty": "10", "unit_cost": "20.00"},
    {"sku": BOX, "qty": "100", "unit_cost": "0.50"},
]
RECEIPT = [
    {"line_no": 1, "qty": "10", "lot": "PLA-1"},
    {"line_no": 2, "qty": "100", "lot": "BOX-1"},
]
BOM_LINES = [
    {"line_no": 1, "component_sku": PLA, "qty_per": "0.25"},
    {"line_no": 2, "component_sku": BOX, "qty_per": "1"},
]
CUSTOMER = {"code": "ACME", "name": "Acme Retail"}
UNIT_COST = Decimal("5.50")
WITHIN = 60.0


async def set_up_material(api: httpx.AsyncClient) -> None:
    """Items, a vendor, a PO received in full, and the widget's BOM released."""
    for item in ITEMS:
        ok(await api.post("/api/inventory/v1/items", json=item), 201)
    ok(await api.post("/api/purchasing/v1/vendors", json=VENDOR), 201)

    async def everyone_knows_the_items() -> bool:
        skus = {item["sku"] for item in ITEMS}
        purchasing = ok(await api.get("/api/purchasing/v1/items", params={"limit": 100}))
        known = [
            await api.get(f"/api/{service}/v1/items/{sku}")
            for service in ("production", "mrp")
            for sku in skus
        ]
        return skus - {WIDGET} <= {i["sku"] for i in purchasing["items"]} and all(
            answer.status_code == 200 for answer in known
        )

    await eventually(everyone_knows_the_items, WITHIN, "the services to learn the items")
    po = ok(
        await api.post(
            "/api/purchasing/v1/purchase-orders",
            json={"vendor_code": VENDOR["code"], "lines": PO_LINES},
        ),
        201,
    )
    number = po["number"]
    ok(await api.post(f"/api/purchasing/v1/purchase-orders/{number}/submit"))
    ok(
        await api.post(
            f"/api/purchasing/v1/purchase-orders/{number}/receipts", json={"lines": RECEIPT}
        ),
        201,
    )
    await wait_for_stock(api, PLA, "available", Decimal("10"))
    await wait_for_stock(api, BOX, "available", Decimal("100"))
    bom = ok(
        await api.post("/api/production/v1/boms", json={"sku": WIDGET, "lines": BOM_LINES}), 201
    )
    ok(await api.post(f"/api/production/v1/boms/{WIDGET}/versions/{bom['version']}/release"))


async def stock(api: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(await api.get(f"/api/inventory/v1/items/{sku}/stock"))
    return body


async def wait_for_stock(api: httpx.AsyncClient, sku: str, figure: str, value: Decimal) -> None:
    async def there() -> bool:
        return Decimal((await stock(api, sku))[figure]) == value

    await eventually(there, WITHIN, f"{sku} {figure} to be {value}")


async def order(api: httpx.AsyncClient, code: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(await api.get(f"/api/production/v1/production-orders/{code}"))
    return body


async def create_order(api: httpx.AsyncClient, **fields: Any) -> str:
    body = ok(
        await api.post("/api/production/v1/production-orders", json={"sku": WIDGET, **fields}),
        201,
    )
    code: str = body["code"]
    return code


async def materials(api: httpx.AsyncClient, code: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        await api.get(f"/api/inventory/v1/production-orders/{code}/materials")
    )
    return body


async def wait_for_materials(
    api: httpx.AsyncClient, code: str, check: str, predicate: Any, what: str
) -> dict[str, Any]:
    """Poll the order's material summary until `predicate(summary)` holds."""
    latest: dict[str, Any] = {}

    async def holds() -> bool:
        nonlocal latest
        response = await api.get(f"/api/inventory/v1/production-orders/{code}/materials")
        if response.status_code != 200:
            return False
        latest = response.json()
        return bool(predicate(latest))

    await eventually(holds, WITHIN, f"{code}: {what} ({check})")
    return latest


async def run_and_inspect(
    api: httpx.AsyncClient,
    code: str,
    *,
    good: str,
    bad: str = "0",
    scrap_code: str | None = None,
    passed: str,
    failed: str = "0",
    qc_code: str | None = None,
) -> dict[str, Any]:
    """Start the order, complete its run, wait for inventory to book it, then QC it."""
    ok(await api.post(f"/api/production/v1/production-orders/{code}/start", json={}))
    run = {"qty_good": good, "qty_bad": bad, "scrap_reason_code": scrap_code}
    ok(await api.post(f"/api/production/v1/production-orders/{code}/runs", json=run), 201)
    await wait_for_materials(
        api,
        code,
        "relieved",
        lambda m: Decimal(m["output"]["qty_good"]) == Decimal(good),
        "the run booked into stock",
    )
    qc = {"qty_passed": passed, "qty_failed": failed, "reason_code": qc_code}
    result: dict[str, Any] = ok(
        await api.post(f"/api/production/v1/production-orders/{code}/qc", json=qc), 201
    )
    return result


async def sales_order(api: httpx.AsyncClient, so: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(await api.get(f"/api/mrp/v1/sales-orders/{so}"))
    return body


async def wait_for_sales_status(api: httpx.AsyncClient, so: str, status: str) -> None:
    seen: dict[str, Any] = {}

    async def there() -> bool:
        seen.update(await sales_order(api, so))
        return seen["status"] == status

    try:
        await eventually(there, WITHIN, f"{so} to be {status}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the sales order is {seen}") from None


async def create_sales_order(api: httpx.AsyncClient, qty: str, unit_price: str) -> str:
    response = await api.post("/api/mrp/v1/customers", json=CUSTOMER)
    assert response.status_code in (201, 409), response.text
    body = ok(
        await api.post(
            "/api/mrp/v1/sales-orders",
            json={
                "customer_code": CUSTOMER["code"],
                "lines": [{"sku": WIDGET, "qty": qty, "unit_price": unit_price}],
            },
        ),
        201,
    )
    number: str = body["so_number"]
    return number


async def ship(api: httpx.AsyncClient, so: str, lines: list[dict[str, str]]) -> dict[str, Any]:
    """Ship, as the store's tablet would: inventory learns the sales order from its event, so a
    shipment sent the moment the order was made may hear 404 first; the same Idempotency-Key
    makes the retry safe."""
    answer: dict[str, Any] = {}

    async def shipped() -> bool:
        response = await api.post(
            "/api/inventory/v1/shipments",
            json={"so_number": so, "lines": lines},
            headers={"Idempotency-Key": f"ship-{so}"},
        )
        if response.status_code == 404 and response.json().get("field") == "so_number":
            return False
        answer.update(ok(response, 201))
        return True

    await eventually(shipped, WITHIN, f"inventory to learn {so} and ship it")
    return answer


async def ledger_sum(api: httpx.AsyncClient, sku: str) -> Decimal:
    """The sum of every ledger row of `sku` outside WIP and SCRAP: what on hand must equal."""
    total = Decimal(0)
    offset = 0
    while True:
        page = ok(
            await api.get(
                "/api/inventory/v1/transactions",
                params={"sku": sku, "limit": 200, "offset": offset},
            )
        )
        for row in page["items"]:
            if row["location"] not in ("WIP", "SCRAP"):
                total += Decimal(row["qty"])
        offset += len(page["items"])
        if offset >= page["total"] or not page["items"]:
            return total


async def settle(seconds: float = 0.5) -> None:
    await asyncio.sleep(seconds)


async def make_to_stock_story(api: httpx.AsyncClient) -> None:
    """Made without a sales order, passed, sold from stock, shipped: FG consumed once."""
    code = await create_order(api, qty_ordered="4")
    fg_before = await stock(api, WIDGET)
    await run_and_inspect(api, code, good="4", passed="4")

    # Four widgets at 5.50 each reach FG, available for sale; the order's WIP is empty.
    summary = await wait_for_materials(
        api, code, "inspected", lambda m: Decimal(m["output"]["qty_passed"]) == 4, "QC booked"
    )
    assert Decimal(summary["wip_value"]) == 0
    assert Decimal(summary["value_relieved"]) == Decimal("22.00")
    fg = await stock(api, WIDGET)
    assert Decimal(fg["available"]) - Decimal(fg_before["available"]) == 4

    so = await create_sales_order(api, qty="4", unit_price="12.00")
    allocated = ok(await api.post(f"/api/mrp/v1/sales-orders/{so}/allocate"))
    assert Decimal(allocated["lines"][0]["qty_allocated"]) == 4
    await wait_for_sales_status(api, so, "ready_to_ship")
    shipment = await ship(api, so, [{"line_no": 1, "qty": "4"}])
    assert Decimal(shipment["lines"][0]["cost_value"]) == Decimal("22.00")
    assert Decimal(shipment["lines"][0]["sales_value"]) == Decimal("48.00")
    await wait_for_sales_status(api, so, "shipped")
    after = await stock(api, WIDGET)
    assert Decimal(after["on_hand"]) == Decimal(fg_before["on_hand"])  # FG consumed once
    assert Decimal(after["on_hand"]) == await ledger_sum(api, WIDGET)


async def partial_qc_story(api: httpx.AsyncClient) -> None:
    """The issue's partial-QC story: 10 ordered, 12 printed, 10 good / 2 bad, QC 8 / 2."""
    so = await create_sales_order(api, qty="10", unit_price="15.00")
    code = await create_order(api, qty_ordered="10", qty_to_make="12", so_number=so, so_line_no=1)
    pla_before = await stock(api, PLA)
    result = await run_and_inspect(
        api,
        code,
        good="10",
        bad="2",
        scrap_code="ADHESION",
        passed="8",
        failed="2",
        qc_code="SURFACE",
    )
    reprint = result["reprint_order_code"]
    assert reprint

    summary = await wait_for_materials(
        api, code, "inspected", lambda m: Decimal(m["output"]["qty_failed"]) == 2, "QC booked"
    )
    # Material for 12 widgets (3 kg of PLA, 12 boxes: 66.00) issued and consumed once.
    issued = {c["sku"]: Decimal(c["qty_issued"]) for c in summary["components"]}
    relieved = {c["sku"]: Decimal(c["qty_relieved"]) for c in summary["components"]}
    assert issued == relieved == {PLA: Decimal("3"), BOX: Decimal("12")}
    assert Decimal(summary["value_relieved"]) == Decimal("66.00")
    assert Decimal(summary["wip_value"]) == 0
    pla = await stock(api, PLA)
    assert Decimal(pla_before["on_hand"]) - Decimal(pla["on_hand"]) == 3

    # Four scrapped in all, each ledger row with its code: 2 at the run, 2 at QC.
    scrap = ok(
        await api.get(
            "/api/inventory/v1/transactions",
            params={"sku": WIDGET, "location": "SCRAP", "reference": code},
        )
    )
    assert sorted((r["reason_code"], Decimal(r["qty"])) for r in scrap["items"]) == [
        ("ADHESION", Decimal(2)),
        ("SURFACE", Decimal(2)),
    ]

    # The reprint: 2 (10 ordered - 8 passed), high priority, linked to the root.
    again = await order(api, reprint)
    assert Decimal(again["qty_ordered"]) == 2
    assert again["priority"] == "high"
    assert again["reprint_of"] == code and again["root_order_code"] == code
    assert again["reprint_seq"] == 1
    await wait_for_sales_status(api, so, "partial_qc")

    await run_and_inspect(api, reprint, good="2", passed="2")
    await wait_for_sales_status(api, so, "ready_to_ship")
    summary = await materials(api, reprint)
    assert Decimal(summary["wip_value"]) == 0
    history = ok(await api.get(f"/api/production/v1/production-orders/{code}/reprint-history"))
    totals = history["totals"]
    assert totals["orders_in_chain"] == 2
    assert Decimal(totals["qty_completed"]) == 10
    assert Decimal(totals["qty_scrapped"]) == 4
    # 10 passed of 14 printed (12 + 2).
    assert Decimal(totals["effective_yield"]) == Decimal("0.7143")


# --- the stories on a cluster of `portal serve` processes (PostgreSQL and RabbitMQ) -----------


def stories_cluster(tmp: Path, services: Sequence[str]) -> Iterator[Cluster]:
    """A module's cluster of `services` on fresh databases, dropped afterwards (for a
    module-scoped fixture: `yield from stories_cluster(...)`)."""
    servers.require_postgres()
    servers.require_rabbitmq()
    databases = servers.PostgresDatabases()
    try:
        with running_cluster(databases, servers.AMQP_URL, tmp, services) as running:
            yield running
    finally:
        databases.drop_all()


def set_up_material_once(cluster: Cluster) -> None:
    """The stories' material received, once per module, on a loop of its own (the tests each
    have theirs)."""

    async def set_up() -> None:
        async with cluster.gateway_client() as api:
            await sign_in(api)
            await set_up_material(api)

    asyncio.run(set_up())


async def signed_in_gateway(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the cluster's gateway, signed in as admin (for a function-scoped fixture)."""
    async with cluster.gateway_client() as client:
        await sign_in(client)
        yield client
