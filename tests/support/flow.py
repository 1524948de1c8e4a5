"""The first flow, told once and run against any deployment: items and a vendor, a PO of three
lines (two of them the same resin at different costs), submitted, then received in two receipts.
The expected figures are worked out by hand below, so each mode is checked against arithmetic,
not against the other mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx

ITEMS = [
    {"sku": "RESIN-GRY", "name": "Resin, grey, 1 L", "uom": "L"},
    {"sku": "BOX-S", "name": "Shipping box, small", "uom": "ea", "item_type": "packaging"},
]
VENDOR = {"code": "ACME", "name": "Acme Supplies"}
PO_LINES = [
    {"sku": "RESIN-GRY", "qty": "10", "unit_cost": "2.50"},
    {"sku": "BOX-S", "qty": "200", "unit_cost": "0.415"},
    {"sku": "RESIN-GRY", "qty": "30", "unit_cost": "3.10"},
]
RECEIPTS = [
    [{"line_no": 1, "qty": "10", "lot": "R-1"}, {"line_no": 2, "qty": "120"}],
    [
        {"line_no": 2, "qty": "80"},
        {"line_no": 3, "qty": "30", "lot": "R-2", "to_status": "pending_qc"},
    ],
]

# Worked by hand. Receipt values: 10 x 2.50 = 25.00; 120 x 0.415 = 49.80; 80 x 0.415 = 33.20;
# 30 x 3.10 = 93.00. Resin: 40 on hand (10 approved in RAW, 30 pending QC), value 118.00,
# moving average 118 / 40 = 2.95. Boxes: 200 at 0.415, value 83.00. AP owed: 201.00.
EXPECTED = {
    "RESIN-GRY": {
        "on_hand": Decimal("40"),
        "available": Decimal("10"),
        "pending_qc": Decimal("30"),
        "average_cost": Decimal("2.95"),
        "value": Decimal("118.00"),
    },
    "BOX-S": {
        "on_hand": Decimal("200"),
        "available": Decimal("200"),
        "pending_qc": Decimal("0"),
        "average_cost": Decimal("0.415"),
        "value": Decimal("83.00"),
    },
}
EXPECTED_JOURNALS = 4
EXPECTED_INVENTORY_DEBIT = Decimal("201.00")

Get = Callable[[str], Awaitable[httpx.Response]]


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.1)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def run_first_flow(api: httpx.AsyncClient, within: float = 60.0) -> str:
    """Drive the flow through the gateway's API; returns the PO number."""
    for item in ITEMS:
        ok(await api.post("/api/inventory/v1/items", json=item), 201)
    ok(await api.post("/api/purchasing/v1/vendors", json=VENDOR), 201)

    async def purchasing_knows_items() -> bool:
        known = ok(await api.get("/api/purchasing/v1/items"))
        return {i["sku"] for i in ITEMS} <= {i["sku"] for i in known["items"]}

    await eventually(purchasing_knows_items, within, "purchasing to learn the items")
    po = ok(
        await api.post(
            "/api/purchasing/v1/purchase-orders",
            json={"vendor_code": VENDOR["code"], "lines": PO_LINES},
        ),
        201,
    )
    number: str = po["number"]
    ok(await api.post(f"/api/purchasing/v1/purchase-orders/{number}/submit"))
    for lines in RECEIPTS:
        ok(
            await api.post(
                f"/api/purchasing/v1/purchase-orders/{number}/receipts", json={"lines": lines}
            ),
            201,
        )
    return number


async def wait_for_journals(api: httpx.AsyncClient, count: int, within: float = 60.0) -> None:
    async def posted() -> bool:
        entries = ok(await api.get("/api/accounting/v1/journal-entries", params={"limit": 1}))
        return int(entries["total"]) >= count

    await eventually(posted, within, f"{count} journal entries")


async def wait_for_stock_movements(
    api: httpx.AsyncClient, count: int, within: float = 60.0
) -> None:
    async def moved() -> bool:
        txns = ok(await api.get("/api/inventory/v1/stock-transactions", params={"limit": 1}))
        return int(txns["total"]) >= count

    await eventually(moved, within, f"{count} stock transactions")


async def figures(api: httpx.AsyncClient) -> dict[str, Any]:
    """What the books and the stock say now, in plain values to compare."""
    stock = {}
    for item in ITEMS:
        body = ok(await api.get(f"/api/inventory/v1/items/{item['sku']}/stock"))
        stock[item["sku"]] = {
            "on_hand": Decimal(body["on_hand"]),
            "available": Decimal(body["available"]),
            "pending_qc": Decimal(body["pending_qc"]),
            "average_cost": Decimal(body["average_cost"]),
            "value": Decimal(body["value"]),
        }
    entries = ok(await api.get("/api/accounting/v1/journal-entries", params={"limit": 1000}))
    trial = ok(await api.get("/api/accounting/v1/trial-balance"))
    return {
        "stock": stock,
        "journal_count": entries["total"],
        "entry_numbers": sorted(e["number"] for e in entries["items"]),
        "trial_balance": trial,
    }


def account_balance(trial: dict[str, Any], code: str) -> Decimal:
    """The account's balance on its normal side (debit for assets, credit for liabilities)."""
    for row in trial["rows"]:
        if row["code"] == code:
            return Decimal(row["balance"])
    return Decimal(0)


def assert_first_flow_books(result: dict[str, Any]) -> None:
    """Stock, moving-average cost and trial balance are exactly the hand-worked figures."""
    assert result["stock"] == EXPECTED
    assert result["journal_count"] == EXPECTED_JOURNALS
    year = result["entry_numbers"][0][3:7]
    assert result["entry_numbers"] == [f"JE-{year}-{n:05d}" for n in range(1, 5)]
    trial = result["trial_balance"]
    assert trial["balanced"] is True
    assert Decimal(trial["total_debit"]) == Decimal(trial["total_credit"]) == Decimal("201.00")
    assert account_balance(trial, "1200") == EXPECTED_INVENTORY_DEBIT
    assert account_balance(trial, "2000") == EXPECTED_INVENTORY_DEBIT
