"""The MRP story of issue 9, told once through the gateway's API as a planner would drive it,
against any deployment: its own items (so other stories' material use cannot change its
figures), stock received from a vendor who is the preferred source, a released BOM, two sales
orders, an MRP run, a job created from it and purchases suggested.

A gadget takes 0.5 kg of resin and one cap. Received: 3 kg of resin, 20 caps.
- SO A, 4 gadgets, due first: needs 2 kg and 4 caps: Full Production Ready.
- SO B, 10 gadgets, due later: 1 kg and 16 caps are left, so 2 can be made; resin is the
  bottleneck: Partial Production Ready - [RESIN-M]; short 8 x 0.5 = 4 kg of resin, which the
  preferred vendor sells in 5 kg lots (MOQ): the draft PO asks for 5.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.support.flow import eventually, ok

RESIN, CAP, GADGET = "RESIN-M", "CAP-M", "GADGET-M"
VENDOR = {"code": "MRPV", "name": "Resin & Caps Ltd"}
WITHIN = 60.0


async def set_up(api: httpx.AsyncClient) -> tuple[str, str]:
    """Items, the vendor with its items, stock received, the BOM, the customer and two orders;
    returns the two sales-order numbers (due first, due later)."""
    items = [
        {"sku": RESIN, "name": "Resin", "uom": "kg", "item_type": "raw"},
        {"sku": CAP, "name": "Cap", "uom": "ea", "item_type": "component"},
        {
            "sku": GADGET,
            "name": "Gadget",
            "uom": "ea",
            "item_type": "finished",
            "make_or_buy": "make",
        },
    ]
    for item in items:
        ok(await api.post("/api/inventory/v1/items", json=item), 201)
    ok(await api.post("/api/purchasing/v1/vendors", json=VENDOR), 201)

    async def purchasing_knows_the_items() -> bool:
        answers = [await api.get(f"/api/purchasing/v1/items?q={sku}") for sku in (RESIN, CAP)]
        return all(a.status_code == 200 and a.json()["total"] >= 1 for a in answers)

    await eventually(purchasing_knows_the_items, WITHIN, "purchasing to learn the items")
    for sku, cost, moq in ((RESIN, "30.00", "5"), (CAP, "0.20", "1")):
        vendor_item = {"sku": sku, "unit_cost": cost, "moq": moq, "preferred": True}
        ok(
            await api.post(f"/api/purchasing/v1/vendors/{VENDOR['code']}/items", json=vendor_item),
            201,
        )
    lines = [
        {"sku": RESIN, "qty": "3", "unit_cost": "30.00"},
        {"sku": CAP, "qty": "20", "unit_cost": "0.20"},
    ]
    po = ok(
        await api.post(
            "/api/purchasing/v1/purchase-orders",
            json={"vendor_code": VENDOR["code"], "lines": lines},
        ),
        201,
    )
    ok(await api.post(f"/api/purchasing/v1/purchase-orders/{po['number']}/submit"))
    receipt = [{"line_no": 1, "qty": "3", "lot": "R-1"}, {"line_no": 2, "qty": "20", "lot": "C-1"}]
    ok(
        await api.post(
            f"/api/purchasing/v1/purchase-orders/{po['number']}/receipts", json={"lines": receipt}
        ),
        201,
    )
    bom_lines = [
        {"line_no": 1, "component_sku": RESIN, "qty_per": "0.5"},
        {"line_no": 2, "component_sku": CAP, "qty_per": "1"},
    ]

    async def production_knows_the_gadget() -> bool:
        return (await api.get(f"/api/production/v1/items/{GADGET}")).status_code == 200

    await eventually(production_knows_the_gadget, WITHIN, "production to learn the gadget")
    bom = ok(
        await api.post("/api/production/v1/boms", json={"sku": GADGET, "lines": bom_lines}), 201
    )
    ok(await api.post(f"/api/production/v1/boms/{GADGET}/versions/{bom['version']}/release"))
    ok(
        await api.post(
            "/api/mrp/v1/customers", json={"code": "MRPC", "name": "Gadget Buyer", "priority": 2}
        ),
        201,
    )

    async def mrp_knows_the_gadget() -> bool:
        return (await api.get(f"/api/mrp/v1/items/{GADGET}")).status_code == 200

    await eventually(mrp_knows_the_gadget, WITHIN, "mrp to learn the gadget")
    soon = datetime.now(UTC).date() + timedelta(days=7)
    numbers = []
    for qty, due in (("4", soon), ("10", soon + timedelta(days=7))):
        order = {
            "customer_code": "MRPC",
            "lines": [{"sku": GADGET, "qty": qty, "unit_price": "25", "due_date": due.isoformat()}],
        }
        numbers.append(ok(await api.post("/api/mrp/v1/sales-orders", json=order), 201)["so_number"])
    return numbers[0], numbers[1]


async def line_after_run(api: httpx.AsyncClient, number: str) -> dict[str, Any]:
    ok(await api.post("/api/mrp/v1/mrp/runs"), 201)
    line: dict[str, Any] = ok(await api.get(f"/api/mrp/v1/mrp/lines/{number}/1"))
    return line


async def story(api: httpx.AsyncClient) -> None:
    first, second = await set_up(api)
    expected = "Full Production Ready - Create job now"

    async def planned() -> bool:
        return (await line_after_run(api, first))["status_text"] == expected

    # mrp's read models fill as the stock, BOM and order events arrive over RabbitMQ.
    await eventually(planned, WITHIN, f"{first} to be '{expected}'")
    later = ok(await api.get(f"/api/mrp/v1/mrp/lines/{second}/1"))
    assert later["status_text"] == f"Partial Production Ready - [{RESIN}]", later
    assert Decimal(later["qty_can_make"]) == 2

    job = ok(await api.post(f"/api/mrp/v1/mrp/lines/{first}/1/job"), 201)
    made = ok(await api.get(f"/api/production/v1/production-orders/{job['order_code']}"))
    assert (made["sku"], Decimal(made["qty_ordered"]), made["so_number"]) == (GADGET, 4, first)

    bought = ok(await api.post(f"/api/mrp/v1/mrp/lines/{second}/1/purchases"), 201)
    assert len(bought["order_numbers"]) == 1, bought
    draft = ok(await api.get(f"/api/purchasing/v1/purchase-orders/{bought['order_numbers'][0]}"))
    assert draft["status"] == "draft" and draft["vendor_code"] == VENDOR["code"]
    assert [(line["sku"], Decimal(line["qty_ordered"])) for line in draft["lines"]] == [(RESIN, 5)]

    async def job_counted() -> bool:
        return (await line_after_run(api, first))["status_text"] == "In Production"

    # The job's ProductionOrderChanged reaches mrp: the line is now covered by its job.
    await eventually(job_counted, WITHIN, f"{first} to be In Production")
