"""The MRP's "suggest purchases": shortages in, one draft purchase order per preferred vendor
out, each SKU's lines merged and rounded up to the vendor's minimum and order multiple, at the
vendor item's price, due when needed (or today plus the lead time). What cannot be placed comes
back with its reason; when nothing can be, nothing is created. A retry with the same
Idempotency-Key answers the same orders and creates nothing more.

The purchasing service runs alone on SQLite (the set-up of tests/unit/test_vendor_items.py);
the drafts in the purchase-order pages are tested at the end, in the embedded portal.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.embedded import EmbeddedPortal
from services.purchasing.suggestions.domain import Need, ShortageLine, merge, notes_text
from services.purchasing.vendor_items.domain import order_quantity
from shared.auth.permissions import Action, allowed
from shared.auth.tokens import Role, issue_service_token
from shared.clock import plant_today
from tests.support.ui import add_user, signed_in, ui_portal
from tests.unit.test_vendor_items import PurchasingApi, ok, purchasing_api, refused

SUGGEST = "/api/v1/purchase-orders/suggestions"
D = Decimal


# --- the rules on plain values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "moq", "multiple", "ordered"),
    [
        # 7 is below the MOQ of 10: 10; then the next multiple of 4 above 10: 12
        ("7", "10", "4", "12"),
        # 23 is above the MOQ; the next multiple of 4: 24
        ("23", "10", "4", "24"),
        # exactly a multiple above the MOQ: as it is
        ("12", "10", "4", "12"),
        # no multiple: the MOQ alone
        ("7", "10", None, "10"),
        ("10.5", "10", None, "10.5"),
        # 2.5 in lots of 0.75: 3.33 lots, so 4 lots = 3
        ("2.5", "1", "0.75", "3"),
        # a fraction of a kilo at MOQ 1
        ("0.3", "1", None, "1"),
        # a MOQ that is not itself a multiple: 25 → 30 in boxes of 6
        ("1", "25", "6", "30"),
    ],
)
def test_a_need_is_rounded_up_to_the_moq_then_to_the_order_multiple(
    need: str, moq: str, multiple: str | None, ordered: str
) -> None:
    assert order_quantity(D(need), D(moq), D(multiple) if multiple else None) == D(ordered)


def test_lines_of_one_sku_are_merged_adding_quantities_keeping_the_earliest_date() -> None:
    needs = merge(
        [
            ShortageLine("RESIN", D("4"), date(2026, 12, 10), "SO-1"),
            ShortageLine("BOX-S", D("100"), None, "SO-1"),
            ShortageLine("RESIN", D("3.5"), date(2026, 12, 3), "SO-2"),
            ShortageLine("RESIN", D("1"), date(2026, 12, 20), "SO-1"),
        ]
    )
    assert [(n.sku, n.qty, n.earliest, n.undated, n.references) for n in needs] == [
        ("RESIN", D("8.5"), date(2026, 12, 3), False, ["SO-1", "SO-2"]),
        ("BOX-S", D("100"), None, True, ["SO-1"]),
    ]


def test_an_undated_line_is_due_as_soon_as_the_vendor_can_bring_it() -> None:
    today = date(2026, 12, 1)
    assert Need("X", D(1), None, True).due_date(today, 10) == date(2026, 12, 11)
    # dated later than the vendor could bring it, but another line wants it as soon as possible
    assert Need("X", D(1), date(2027, 1, 31), True).due_date(today, 10) == date(2026, 12, 11)
    assert Need("X", D(1), date(2027, 1, 31), False).due_date(today, 10) == date(2027, 1, 31)


def test_the_notes_are_cut_to_what_a_purchase_order_holds() -> None:
    assert len(notes_text("From the MRP.", "x" * 2000, [], 1000)) == 1000


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[PurchasingApi]:
    """ACME sells resin (MOQ 25, multiple 5, 14 days) and boxes (MOQ 500, 3 days), preferred
    for both; BETA sells PLA (MOQ 2, 30 days), preferred, and resin too, not preferred; BETA
    also sells boxes, not preferred. BOX-S is preferred at ACME."""
    async with purchasing_api(tmp_path) as running:
        async with running.client("buyer") as buyer:
            for vendor, sku, terms in [
                (
                    "ACME",
                    "RESIN",
                    {
                        "unit_cost": "12.5",
                        "moq": "25",
                        "order_multiple": "5",
                        "lead_time_days": 14,
                        "preferred": True,
                    },
                ),
                (
                    "ACME",
                    "BOX-S",
                    {"unit_cost": "0.4", "moq": "500", "lead_time_days": 3, "preferred": True},
                ),
                (
                    "BETA",
                    "PLA-BLK",
                    {"unit_cost": "20", "moq": "2", "lead_time_days": 30, "preferred": True},
                ),
                ("BETA", "RESIN", {"unit_cost": "11", "moq": "1"}),
            ]:
                body = {"sku": sku, **terms}
                ok(await buyer.post(f"/api/v1/vendors/{vendor}/items", json=body), 201)
        yield running


def lines_of(order: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [
        (line["sku"], line["qty_ordered"], line["unit_cost"], line["due_date"])
        for line in order["lines"]
    ]


async def test_shortages_become_one_draft_per_preferred_vendor_rounded_and_dated(
    api: PurchasingApi,
) -> None:
    today = plant_today(api.runtime.settings)
    need_by = today + timedelta(days=20)
    body = {
        "lines": [
            {"sku": "RESIN", "qty": "7", "need_by": need_by.isoformat(), "reference": "SO-1"},
            {"sku": "PLA-BLK", "qty": "0.5", "need_by": None, "reference": None},
            {
                "sku": "RESIN",
                "qty": "16.5",
                "need_by": (need_by + timedelta(days=5)).isoformat(),
                "reference": "SO-2",
            },
            {"sku": "BOX-S", "qty": "120"},
        ],
        "notes": "Shortages of SO-1 and SO-2",
    }
    async with api.client("planner", user="pam") as planner:
        answer = ok(await planner.post(SUGGEST, json=body), 201)
    assert answer["unplaced"] == []
    acme, beta = answer["orders"]
    assert (acme["vendor_code"], acme["status"], beta["vendor_code"], beta["status"]) == (
        "ACME",
        "draft",
        "BETA",
        "draft",
    )
    assert lines_of(acme) == [
        # 7 + 16.5 = 23.5 → MOQ 25 → multiple of 5: 25; due by the earlier need date
        ("RESIN", "25.0000", "12.5000", need_by.isoformat()),
        # 120 → MOQ 500; no date: today + 3 days
        ("BOX-S", "500.0000", "0.4000", (today + timedelta(days=3)).isoformat()),
    ]
    # 0.5 → MOQ 2; no date: today + 30 days
    assert lines_of(beta) == [
        ("PLA-BLK", "2.0000", "20.0000", (today + timedelta(days=30)).isoformat())
    ]
    assert acme["total"] == "512.5000"  # 25 x 12.5 + 500 x 0.4
    assert acme["order_date"] == today.isoformat()
    assert acme["notes"].startswith("Drafted by the MRP from material shortages.")
    assert "Shortages of SO-1 and SO-2" in acme["notes"]
    assert "RESIN: SO-1, SO-2" in acme["notes"]
    assert "RESIN" not in beta["notes"]

    # each published as any PO is, and audited as created by the planner
    changed = {e.key: e.payload for e in api.events("PurchaseOrderChanged")}
    assert set(changed) == {acme["number"], beta["number"]}
    assert changed[acme["number"]]["status"] == "draft"
    created = [e for e in api.audit("purchasing.orders.create")]
    assert {e["entity_id"] for e in created} == {acme["number"], beta["number"]}
    assert {e["actor"] for e in created} == {"pam"}


async def test_suggested_drafts_take_their_numbers_from_the_same_counter_as_a_buyers_po(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        order = {"vendor_code": "BETA", "lines": [{"sku": "RESIN", "qty": "1", "unit_cost": "1"}]}
        first = ok(await buyer.post("/api/v1/purchase-orders", json=order), 201)["number"]
        suggested = ok(
            await buyer.post(SUGGEST, json={"lines": [{"sku": "RESIN", "qty": "1"}]}), 201
        )
        last = ok(await buyer.post("/api/v1/purchase-orders", json=order), 201)["number"]
    [draft] = suggested["orders"]
    serials = [int(number.rsplit("-", 1)[1]) for number in (first, draft["number"], last)]
    assert serials == [serials[0], serials[0] + 1, serials[0] + 2]


async def test_what_cannot_be_placed_comes_back_with_its_reason_beside_what_could(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        # ACME's resin no longer preferred (BETA's never was): resin has no preferred vendor
        ok(await buyer.patch("/api/v1/vendors/ACME/items/RESIN", json={"preferred": False}))
    body = {
        "lines": [
            {"sku": "PLA-BLK", "qty": "3"},
            {"sku": "RESIN", "qty": "4"},
            {"sku": "RESIN", "qty": "1"},
            {"sku": "NOPE", "qty": "2"},
            {"sku": "OLD-GLUE", "qty": "1"},
        ]
    }
    async with api.client("planner") as planner:
        answer = ok(await planner.post(SUGGEST, json=body), 201)
    assert [order["vendor_code"] for order in answer["orders"]] == ["BETA"]
    assert [(u["sku"], u["qty"], u["code"]) for u in answer["unplaced"]] == [
        ("RESIN", "5.0000", "no_preferred_vendor"),
        ("NOPE", "2.0000", "unknown_item"),
        ("OLD-GLUE", "1.0000", "inactive_item"),
    ]
    reasons = [u["reason"] for u in answer["unplaced"]]
    assert reasons == [
        "Item RESIN has no preferred vendor; mark one of its vendor items preferred.",
        "Item NOPE is not known to purchasing.",
        "Item OLD-GLUE is inactive.",
    ]


async def test_the_reasons_come_in_the_callers_language(api: PurchasingApi) -> None:
    body = {"lines": [{"sku": "PLA-BLK", "qty": "3"}, {"sku": "NOPE", "qty": "2"}]}
    async with api.client("planner", language="es") as planner:
        answer = ok(await planner.post(SUGGEST, json=body), 201)
    [unplaced] = answer["unplaced"]
    assert unplaced["reason"] == "Purchasing no conoce el artículo NOPE."
    assert answer["orders"][0]["notes"].startswith("Borrador del MRP")


async def test_a_deactivated_preferred_vendor_item_is_no_longer_bought_from(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        ok(await buyer.post("/api/v1/vendors/ACME/items/BOX-S/deactivate"))
        counts = api.row_counts()
        answer = await buyer.post(SUGGEST, json={"lines": [{"sku": "BOX-S", "qty": "10"}]})
    problem = refused(answer, 422, "lines", "nothing_to_order")
    assert problem["unplaced"] == [
        {
            "sku": "BOX-S",
            "qty": "10.0000",
            "reason": "Item BOX-S has no preferred vendor; mark one of its vendor items preferred.",
            "code": "no_preferred_vendor",
        }
    ]
    assert "BOX-S" in problem["detail"]
    assert api.row_counts() == counts


async def test_when_nothing_can_be_placed_nothing_is_created(api: PurchasingApi) -> None:
    counts = api.row_counts()
    body = {"lines": [{"sku": "NOPE", "qty": "2"}, {"sku": "OLD-GLUE", "qty": "1"}]}
    async with api.client("planner") as planner:
        answer = await planner.post(SUGGEST, json=body, headers={"Idempotency-Key": "mrp-run-1"})
    problem = refused(answer, 422, "lines", "nothing_to_order")
    assert [u["code"] for u in problem["unplaced"]] == ["unknown_item", "inactive_item"]
    assert api.row_counts() == counts  # no PO, no event, and the key is not kept


async def test_a_line_beyond_what_a_po_line_holds_is_unplaced_not_a_server_error(
    api: PurchasingApi,
) -> None:
    body = {"lines": [{"sku": "RESIN", "qty": "99999999999999"}, {"sku": "PLA-BLK", "qty": "1"}]}
    async with api.client("planner") as planner:
        answer = ok(await planner.post(SUGGEST, json=body), 201)
    assert [u["code"] for u in answer["unplaced"]] == ["too_large"]
    assert [o["vendor_code"] for o in answer["orders"]] == ["BETA"]


async def test_a_retry_with_the_same_key_answers_the_same_orders_and_creates_nothing_more(
    api: PurchasingApi,
) -> None:
    body = {"lines": [{"sku": "RESIN", "qty": "7"}, {"sku": "PLA-BLK", "qty": "1"}]}
    key = {"Idempotency-Key": "mrp-run-42"}
    async with api.client("planner") as planner:
        first = await planner.post(SUGGEST, json=body, headers=key)
        assert first.status_code == 201, first.text
        counts = api.row_counts()
        again = await planner.post(SUGGEST, json=body, headers=key)
        assert again.status_code == 201
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        assert api.row_counts() == counts
        # the same key for other shortages is refused, not answered with the first result
        other = {"lines": [{"sku": "RESIN", "qty": "8"}]}
        refused(await planner.post(SUGGEST, json=other, headers=key), 422, "Idempotency-Key")
        assert api.row_counts() == counts
        listed = ok(await planner.get("/api/v1/purchase-orders", params={"status": "draft"}))
    assert sorted(po["number"] for po in listed["items"]) == sorted(
        po["number"] for po in first.json()["orders"]
    )


async def test_a_shortage_finer_than_a_po_line_holds_is_bought_rounded_up(
    api: PurchasingApi,
) -> None:
    # what the MRP computed (a qty per times a quantity) finer than 0.0001: up, never down
    body = {"lines": [{"sku": "PLA-BLK", "qty": "2.00000001"}, {"sku": "NOPE", "qty": "0.999975"}]}
    async with api.client("planner") as planner:
        answer = ok(await planner.post(SUGGEST, json=body), 201)
    assert lines_of(answer["orders"][0])[0][1] == "2.0001"
    assert answer["unplaced"][0]["qty"] == "1.0000"


def many(n: int) -> list[dict[str, str]]:
    return [{"sku": "RESIN", "qty": "1"}] * n


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": many(501)}, "lines"),
        ({"lines": [{"sku": "RESIN", "qty": "0"}]}, "lines.0.qty"),
        ({"lines": [{"sku": "RESIN", "qty": "-3"}]}, "lines.0.qty"),
        ({"lines": [{"sku": "RESIN", "qty": "lots"}]}, "lines.0.qty"),
        ({"lines": [{"sku": "RESIN", "qty": "1e14"}]}, "lines.0.qty"),
        ({"lines": [{"sku": "RESIN", "qty": "NaN"}]}, "lines.0.qty"),
        ({"lines": [{"sku": "RESIN", "qty": "1"}, {"sku": "", "qty": "1"}]}, "lines.1.sku"),
        ({"lines": [{"sku": "X" * 65, "qty": "1"}]}, "lines.0.sku"),
        ({"lines": [{"qty": "1"}]}, "lines.0.sku"),
        ({"lines": [{"sku": "RESIN", "qty": "1", "need_by": "2026-13-01"}]}, "lines.0.need_by"),
        ({"lines": [{"sku": "RESIN", "qty": "1", "reference": "R" * 101}]}, "lines.0.reference"),
        ({"lines": [{"sku": "RESIN", "qty": "1", "vendor": "BETA"}]}, "lines.0.vendor"),
        ({"lines": [{"sku": "RESIN", "qty": "1"}], "notes": "n" * 501}, "notes"),
        ({"lines": "RESIN"}, "lines"),
    ],
)
async def test_bad_shortages_are_refused_naming_the_field_and_nothing_is_created(
    api: PurchasingApi, body: dict[str, Any], field: str
) -> None:
    counts = api.row_counts()
    async with api.client("planner") as planner:
        refused(await planner.post(SUGGEST, json=body), 422, field)
    assert api.row_counts() == counts


@pytest.mark.parametrize("role", list(Role))
async def test_those_the_matrix_lets_suggest_may_and_no_one_else(
    api: PurchasingApi, role: Role
) -> None:
    """Planners and buyers (and whoever else shared/auth/permissions.py names) get drafts;
    everyone else a 403 and nothing created."""
    may = allowed([role], Action.PURCHASE_SUGGEST)
    assert may or role not in (Role.PLANNER, Role.BUYER)
    counts = api.row_counts()
    async with api.client(role.value) as someone:
        answer = await someone.post(SUGGEST, json={"lines": [{"sku": "RESIN", "qty": "1"}]})
    assert answer.status_code == (201 if may else 403), answer.text
    if not may:
        assert api.row_counts() == counts


# --- the drafts on the purchase-order pages --------------------------------------------------


async def test_the_drafts_appear_in_the_purchase_order_list_as_drafts(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "ps-buyer", ["buyer"])
        numbers = await suggest_in(portal)
        async with signed_in(portal, "ps-buyer") as buyer:
            page = await buyer.get("/purchase-orders", params={"status": "draft"})
            assert page.status_code == 200
            rows = re.findall(r'<a href="/purchase-orders/(PO-[0-9-]+)">.*?</tr>', page.text, re.S)
            assert set(numbers) <= set(rows)
            detail = await buyer.get(f"/purchase-orders/{numbers[0]}")
            assert "Drafted by the MRP" in detail.text
            assert "Submit to vendor" in detail.text


async def suggest_in(portal: EmbeddedPortal) -> list[str]:
    """As the MRP would: an item, a vendor with a preferred vendor item, then the call."""
    clients = {}
    for service in ("inventory", "purchasing"):
        token = issue_service_token(
            portal.secret, user="ps-planner", roles=["admin"], ttl_seconds=600
        )
        clients[service] = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=portal.runtimes[service].app),
            base_url=f"http://{service}",
            headers={"Authorization": f"Bearer {token}"},
        )
    inventory, purchasing = clients["inventory"], clients["purchasing"]
    try:
        ok(await inventory.post("/api/v1/items", json={"sku": "PS-RESIN", "name": "Resin"}), 201)
        ok(await purchasing.post("/api/v1/vendors", json={"code": "PS-ACME", "name": "Acme"}), 201)
        await portal.wait_idle()
        item = {"sku": "PS-RESIN", "unit_cost": "3", "moq": "10", "preferred": True}
        ok(await purchasing.post("/api/v1/vendors/PS-ACME/items", json=item), 201)
        shortage = {"lines": [{"sku": "PS-RESIN", "qty": "4"}]}
        answer = ok(await purchasing.post(SUGGEST, json=shortage), 201)
    finally:
        for client in clients.values():
            await client.aclose()
    await portal.wait_idle()
    return [order["number"] for order in answer["orders"]]
