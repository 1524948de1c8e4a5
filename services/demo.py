"""Demo data for the embedded mode's first start: a small print farm's items, two vendors, a
purchase order received in two receipts, the products' BOMs, customers with open sales orders
and production orders at every stage (one passed QC in part with its reprint waiting, one
awaiting QC, one scheduled), preferred vendors, and a first MRP run, entered through the
services' own APIs so every event, stock movement and journal is real."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import structlog

from shared.auth.tokens import issue_service_token

if TYPE_CHECKING:
    from services.embedded import EmbeddedPortal

log = structlog.get_logger(__name__)

ITEMS: list[dict[str, Any]] = [
    {"sku": "PLA-BLK-1KG", "name": "PLA filament, black, 1 kg spool", "uom": "spool"},
    {"sku": "PLA-WHT-1KG", "name": "PLA filament, white, 1 kg spool", "uom": "spool"},
    {"sku": "PETG-CLR-1KG", "name": "PETG filament, clear, 1 kg spool", "uom": "spool"},
    {"sku": "BOX-S", "name": "Shipping box, small", "uom": "ea", "item_type": "packaging"},
    {"sku": "INSERT-M3", "name": "Heat-set insert M3", "uom": "ea", "item_type": "component"},
    {
        "sku": "BRKT-100",
        "name": "Mounting bracket",
        "uom": "ea",
        "item_type": "finished",
        "make_or_buy": "make",
    },
    {
        "sku": "HOOK-200",
        "name": "Wall hook, white",
        "uom": "ea",
        "item_type": "finished",
        "make_or_buy": "make",
    },
    {
        "sku": "LABEL-CT",
        "name": "Contoso shelf label (supplied by Contoso)",
        "uom": "ea",
        "item_type": "packaging",
        "customer_supplied": True,
    },
    {
        "sku": "TRAY-300",
        "name": "Display tray, clear",
        "uom": "ea",
        "item_type": "finished",
        "make_or_buy": "make",
    },
]
BOMS = [
    {
        "sku": "BRKT-100",
        "lines": [
            {"line_no": 1, "component_sku": "PLA-BLK-1KG", "qty_per": "0.05", "scrap_pct": "2"},
            {"line_no": 2, "component_sku": "INSERT-M3", "qty_per": "4"},
            {"line_no": 3, "component_sku": "BOX-S", "qty_per": "1"},
        ],
    },
    {
        "sku": "HOOK-200",
        "lines": [{"line_no": 1, "component_sku": "PLA-WHT-1KG", "qty_per": "0.02"}],
    },
    {
        "sku": "TRAY-300",
        "lines": [
            {"line_no": 1, "component_sku": "PETG-CLR-1KG", "qty_per": "0.08"},
            {"line_no": 2, "component_sku": "LABEL-CT", "qty_per": "1"},
            {"line_no": 3, "component_sku": "BOX-S", "qty_per": "1"},
        ],
    },
]
CUSTOMERS = [
    {"code": "NORTHWIND", "name": "Northwind Fixtures", "priority": 2},
    {"code": "CONTOSO", "name": "Contoso Retail", "priority": 1},
    {"code": "FABRIKAM", "name": "Fabrikam Home", "priority": 4},
]
# The planner's first morning: open orders the MRP sorts into every kind of answer. Each is
# (customer, business unit, penalty, [(sku, qty, unit price, days until due)]).
PLANNING_ORDERS = [
    ("CONTOSO", "RETAIL", True, [("HOOK-200", "60", "2.40", 4), ("TRAY-300", "50", "9.80", 9)]),
    ("FABRIKAM", "RETAIL", False, [("BRKT-100", "600", "6.10", 18)]),
    ("NORTHWIND", "PRINT", False, [("HOOK-200", "80", "2.35", 25), ("BRKT-100", "60", "6.50", 30)]),
]
# What the buyers' preferred vendors sell (what "suggest purchases" orders from).
VENDOR_ITEMS = [
    ("FILAMENTCO", "PLA-BLK-1KG", "18.50", "10", 5),
    ("FILAMENTCO", "PLA-WHT-1KG", "18.50", "10", 5),
    ("FILAMENTCO", "PETG-CLR-1KG", "22.75", "5", 7),
    ("PACKRITE", "BOX-S", "0.42", "250", 3),
    ("PACKRITE", "INSERT-M3", "0.035", "1000", 10),
]
VENDORS = [
    {"code": "FILAMENTCO", "name": "Filament Co.", "email": "orders@filament.example"},
    {"code": "PACKRITE", "name": "PackRite Supplies", "email": "sales@packrite.example"},
]
MARKER = ".demo-loaded"


async def load_demo_data_once(portal: EmbeddedPortal) -> None:
    marker = portal.settings.var_dir / MARKER
    if marker.exists():
        return
    token = issue_service_token(portal.secret, user="demo", roles=["admin"], ttl_seconds=300)
    headers = {"Authorization": f"Bearer {token}"}
    clients = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=rt.app), base_url=f"http://{name}", headers=headers
        )
        for name, rt in portal.runtimes.items()
    }
    try:
        await _load(clients)
        await portal.wait_idle()
        # The first MRP run, once mrp has heard every stock, BOM and order event.
        await _ok(clients["mrp"].post("/api/v1/mrp/runs"), 201)
    finally:
        for client in clients.values():
            await client.aclose()
    marker.write_text("demo data loaded\n")
    log.info("demo.loaded", items=len(ITEMS), vendors=len(VENDORS))


async def _load(clients: dict[str, httpx.AsyncClient]) -> None:
    inventory, purchasing = clients["inventory"], clients["purchasing"]
    await _load_downtime(clients["downtime"])
    for item in ITEMS:
        await _ok(inventory.post("/api/v1/items", json=item), 201, 409)
    for vendor in VENDORS:
        await _ok(purchasing.post("/api/v1/vendors", json=vendor), 201, 409)
    await _wait_for_items(purchasing, [i["sku"] for i in ITEMS if i.get("make_or_buy") != "make"])
    existing = await _ok(purchasing.get("/api/v1/purchase-orders", params={"limit": 1}), 200)
    if existing["total"]:
        return  # a start that stopped half-way already entered the POs: never enter them twice
    po = await _ok(
        purchasing.post(
            "/api/v1/purchase-orders",
            json={
                "vendor_code": "FILAMENTCO",
                "lines": [
                    {"sku": "PLA-BLK-1KG", "qty": "40", "unit_cost": "18.50"},
                    {"sku": "PLA-WHT-1KG", "qty": "20", "unit_cost": "18.50"},
                    {"sku": "PETG-CLR-1KG", "qty": "10", "unit_cost": "22.75"},
                ],
            },
        ),
        201,
    )
    number = po["number"]
    await _ok(purchasing.post(f"/api/v1/purchase-orders/{number}/submit"), 200)
    await _ok(
        purchasing.post(
            f"/api/v1/purchase-orders/{number}/receipts",
            json={
                "lines": [
                    {"line_no": 1, "qty": "40", "lot": "FC-2611-A"},
                    {"line_no": 2, "qty": "12", "lot": "FC-2611-B"},
                ]
            },
        ),
        201,
    )
    await _ok(
        purchasing.post(
            f"/api/v1/purchase-orders/{number}/receipts",
            json={
                "lines": [
                    {"line_no": 2, "qty": "8", "lot": "FC-2611-C"},
                    {"line_no": 3, "qty": "10", "lot": "FC-2611-D", "to_status": "pending_qc"},
                ]
            },
        ),
        201,
    )
    open_po = await _ok(
        purchasing.post(
            "/api/v1/purchase-orders",
            json={
                "vendor_code": "PACKRITE",
                "lines": [
                    {"sku": "BOX-S", "qty": "500", "unit_cost": "0.42"},
                    {"sku": "INSERT-M3", "qty": "2000", "unit_cost": "0.035"},
                ],
            },
        ),
        201,
    )
    await _ok(purchasing.post(f"/api/v1/purchase-orders/{open_po['number']}/submit"), 200)
    await _ok(
        purchasing.post(
            f"/api/v1/purchase-orders/{open_po['number']}/receipts",
            json={
                "lines": [
                    {"line_no": 1, "qty": "200", "lot": "PR-2611-1"},
                    {"line_no": 2, "qty": "1000", "lot": "PR-2611-2"},
                ]
            },
        ),
        201,
    )
    await _load_production(clients)


async def _load_production(clients: dict[str, httpx.AsyncClient]) -> None:
    """BOMs, a sales order and orders at each stage of the floor."""
    production, mrp = clients["production"], clients["mrp"]
    await _wait_for_items(production, [item["sku"] for item in ITEMS])
    await _wait_for_items(mrp, [item["sku"] for item in ITEMS])
    await _wait_for_stock(clients["inventory"], "BOX-S")
    for bom in BOMS:
        draft = await _ok(production.post("/api/v1/boms", json=bom), 201)
        await _ok(
            production.post(f"/api/v1/boms/{bom['sku']}/versions/{draft['version']}/release"), 200
        )
    for customer in CUSTOMERS:
        await _ok(mrp.post("/api/v1/customers", json=customer), 201, 409)
    so = await _ok(
        mrp.post(
            "/api/v1/sales-orders",
            json={
                "customer_code": "NORTHWIND",
                "business_unit": "PRINT",
                "lines": [{"sku": "BRKT-100", "qty": "40", "unit_price": "6.50"}],
            },
        ),
        201,
    )
    orders = "/api/v1/production-orders"
    made = await _ok(
        production.post(
            orders,
            json={
                "sku": "BRKT-100",
                "so_number": so["so_number"],
                "so_line_no": 1,
                "qty_ordered": "40",
                "qty_to_make": "44",
                "line_code": "PRN-01",
            },
        ),
        201,
    )
    code = made["code"]
    await _ok(production.post(f"{orders}/{code}/start", json={}), 200)
    run = {"qty_good": "42", "qty_bad": "2", "scrap_reason_code": "ADHESION"}
    await _ok(production.post(f"{orders}/{code}/runs", json=run), 201)
    await _wait_for_output(clients["inventory"], code)
    qc = {"qty_passed": "38", "qty_failed": "4", "reason_code": "SURFACE"}
    await _ok(production.post(f"{orders}/{code}/qc", json=qc), 201)
    hooks = await _ok(
        production.post(
            orders, json={"sku": "HOOK-200", "qty_ordered": "100", "line_code": "PRN-02"}
        ),
        201,
    )
    await _ok(production.post(f"{orders}/{hooks['code']}/start", json={}), 200)
    await _ok(production.post(f"{orders}/{hooks['code']}/runs", json={"qty_good": "100"}), 201)
    later = await _ok(
        production.post(orders, json={"sku": "BRKT-100", "qty_ordered": "20", "priority": "low"}),
        201,
    )
    await _ok(
        production.post(f"{orders}/{later['code']}/schedule", json={"line_code": "PRN-01"}), 200
    )
    await _load_planning(clients)


async def _load_planning(clients: dict[str, httpx.AsyncClient]) -> None:
    """Preferred vendors and the open orders of PLANNING_ORDERS."""
    purchasing, mrp = clients["purchasing"], clients["mrp"]
    for vendor, sku, cost, moq, lead_days in VENDOR_ITEMS:
        item = {
            "sku": sku,
            "unit_cost": cost,
            "moq": moq,
            "lead_time_days": lead_days,
            "preferred": True,
        }
        await _ok(purchasing.post(f"/api/v1/vendors/{vendor}/items", json=item), 201, 409)
    today = datetime.now(ZoneInfo("UTC")).date()
    for customer, unit, penalty, lines in PLANNING_ORDERS:
        order = {
            "customer_code": customer,
            "business_unit": unit,
            "contractual_penalty": penalty,
            "lines": [
                {
                    "sku": sku,
                    "qty": qty,
                    "unit_price": price,
                    "due_date": (today + timedelta(days=days)).isoformat(),
                }
                for sku, qty, price, days in lines
            ],
        }
        await _ok(mrp.post("/api/v1/sales-orders", json=order), 201)


async def _load_downtime(downtime: httpx.AsyncClient) -> None:
    """The plant: PLANT-1 in Mexico City (yesterday locks at 06:00), the printers the demo
    orders run on, three shifts Monday to Saturday, a coloured reason tree three levels deep
    with its planned stops, and each printer's units per shift. Each is added once (409: it is
    there already), so a start that stopped half-way can run it again."""
    plant = {"code": "PLANT-1", "name": "Main plant", "timezone": "America/Mexico_City"}
    await _ok(downtime.post("/api/v1/facilities", json={**plant, "day_lock_hour": 6}), 201, 409)
    lines = [
        {"code": "PRN-01", "name": "Printer 1", "tooling_type": "0.4mm nozzle"},
        {
            "code": "PRN-02",
            "name": "Printer 2",
            "tooling_type": "0.6mm nozzle",
            "speed_modifier": "1.2",
        },
    ]
    for line in lines:
        line = {**line, "facility_code": "PLANT-1", "line_type": "fdm_printer"}
        await _ok(downtime.post("/api/v1/lines", json=line), 201, 409)
    for code, name, start, end in (
        ("A", "Morning", "06:00", "14:00"),
        ("B", "Afternoon", "14:00", "22:00"),
        ("C", "Night", "22:00", "06:00"),
    ):
        shift = {
            "code": code,
            "name": name,
            "start_time": start,
            "end_time": end,
            "days_of_week": "123456",
        }
        await _ok(downtime.post("/api/v1/facilities/PLANT-1/shifts", json=shift), 201, 409)
    # code, parent, name, colour, planned (None: the parent's)
    reasons: list[tuple[str, str | None, str, str, bool | None]] = [
        ("MECH", None, "Mechanical", "#d9534f", False),
        ("MECH-NOZZLE", "MECH", "Nozzle", "#e06b67", None),
        ("MECH-NOZZLE-CLOG", "MECH-NOZZLE", "Clogged", "#e88683", None),
        ("MECH-NOZZLE-LEAK", "MECH-NOZZLE", "Leaking", "#eea19e", None),
        ("MECH-BED", "MECH", "Build plate", "#c9302c", None),
        ("MECH-BED-LEVEL", "MECH-BED", "Out of level", "#d43f3a", None),
        ("MECH-BELT", "MECH", "Belt or axis", "#ac2925", None),
        ("ELEC", None, "Electrical", "#f0ad4e", False),
        ("ELEC-POWER", "ELEC", "Power cut", "#f4c37d", None),
        ("ELEC-SENSOR", "ELEC", "Sensor fault", "#eea236", None),
        ("MAT", None, "Material", "#8e44ad", False),
        ("MAT-OUT", "MAT", "Ran out of filament", "#a569bd", None),
        ("MAT-WET", "MAT", "Moist filament", "#bb8fce", None),
        ("PLANNED", None, "Planned stop", "#5bc0de", True),
        ("PLANNED-CHANGEOVER", "PLANNED", "Changeover", "#46b8da", None),
        ("PLANNED-MAINT", "PLANNED", "Preventive maintenance", "#31b0d5", None),
        ("PLANNED-BREAK", "PLANNED", "Break", "#269abc", None),
    ]
    for order, (code, parent, name, colour, planned) in enumerate(reasons):
        reason: dict[str, Any] = {
            "code": code,
            "facility_code": "PLANT-1",
            "parent_code": parent,
            "name": name,
            "colour": colour,
            "sort_order": order,
        }
        if planned is not None:
            reason["planned"] = planned
        await _ok(downtime.post("/api/v1/reasons", json=reason), 201, 409)
    for line_code, sku, units in (
        ("PRN-01", None, "40"),
        ("PRN-01", "BRKT-100", "36"),
        ("PRN-02", None, "60"),
        ("PRN-02", "HOOK-200", "120"),
    ):
        capacity = {"sku": sku, "units_per_shift": units, "effective_from": "2026-01-01"}
        await _ok(downtime.post(f"/api/v1/lines/{line_code}/capacities", json=capacity), 201, 409)
    await _load_stops(downtime)


# A week of stops, so the OEE and downtime pages have something to show on the first start:
# (line, local start, minutes, reason) for each working day before today.
DEMO_STOPS = [
    ("PRN-01", time(9, 10), 25, "MECH-NOZZLE-CLOG"),
    ("PRN-01", time(14, 0), 20, "PLANNED-CHANGEOVER"),
    ("PRN-01", time(23, 30), 15, "MAT-OUT"),
    ("PRN-02", time(7, 45), 12, "MECH-BED-LEVEL"),
    ("PRN-02", time(12, 0), 30, "PLANNED-BREAK"),
    ("PRN-02", time(17, 20), 40, "ELEC-SENSOR"),
]


async def _load_stops(downtime: httpx.AsyncClient) -> None:
    """The last six working days' stops on both printers. Those days are locked by then, so
    they go in as an administrator's correction, with its reason, as a real late entry would."""
    zone = ZoneInfo("America/Mexico_City")
    today = datetime.now(zone).date()
    for back in range(1, 8):
        day = today - timedelta(days=back)
        if day.isoweekday() == 7:
            continue
        for number, (line_code, at, minutes, reason) in enumerate(DEMO_STOPS):
            start = datetime.combine(day, at, tzinfo=zone) + timedelta(minutes=3 * (back + number))
            stop = {
                "line_code": line_code,
                "reason_code": reason,
                "started_at": start.isoformat(),
                "ended_at": (start + timedelta(minutes=minutes + 2 * back)).isoformat(),
                "notes": "demo data",
                "edit_reason": "demo data",
            }
            await _ok(downtime.post("/api/v1/downtimes", json=stop), 201, 409)


async def _wait_for_items(service: httpx.AsyncClient, skus: list[str]) -> None:
    """A service learns items from ItemUpserted; wait until its copy has them all."""
    for _ in range(200):
        known = await _ok(service.get("/api/v1/items", params={"limit": 1000}), 200)
        if set(skus) <= {item["sku"] for item in known["items"]}:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{service.base_url.host} never learned the demo items")


async def _wait_for_stock(inventory: httpx.AsyncClient, sku: str) -> None:
    for _ in range(200):
        stock = await _ok(inventory.get(f"/api/v1/items/{sku}/stock"), 200)
        if Decimal(stock["available"]) > 0:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the demo receipt of {sku} never reached stock")


async def _wait_for_output(inventory: httpx.AsyncClient, code: str) -> None:
    for _ in range(200):
        summary = await _ok(inventory.get(f"/api/v1/production-orders/{code}/materials"), 200)
        if summary["runs"]:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the demo run of {code} never reached stock")


async def _ok(call: Any, *accepted: int) -> Any:
    response: httpx.Response = await call
    if response.status_code not in accepted:
        raise RuntimeError(
            f"demo data: {response.request.url} → {response.status_code} {response.text[:300]}"
        )
    return response.json()
