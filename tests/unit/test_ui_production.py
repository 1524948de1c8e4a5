"""The production pages in a running embedded portal: the order queue, an order's page with the
actions its status and the user's role allow, the QC station, BOMs and scrap codes.

The portal runs in one process (every service, the in-process bus, SQLite files). The material
is set up through the API as the admin (tests/support/production_flow.py: 10 kg of PLA and 100
boxes received, the widget's BOM released: 0.25 kg of PLA and one box per widget); the plant's
people then use the pages, signed in through the sign-in form, posting forms with the page's
CSRF token as a browser does.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.embedded import EmbeddedPortal
from tests.support import production_flow as pf
from tests.support.flow import eventually, ok
from tests.support.ui import ADMIN_PASSWORD, Browser, add_user, signed_in, ui_portal

# username -> (roles, language)
USERS = {
    "sam": (["supervisor"], "en"),
    "olga": (["operator"], "en"),
    "quinn": (["quality"], "es"),
    "paula": (["planner"], "en"),
    "vera": (["viewer"], "en"),
    "ada": (["admin"], "en"),
}
ORDER_LINK = re.compile(r'<a href="/production-orders/(PRD-[0-9-]+)">')


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path) as running:
        for username, (roles, language) in USERS.items():
            add_user(running, username, roles, language=language)
        async with admin_api(running) as api:
            await pf.set_up_material(api)
        yield running


@pytest.fixture
async def api(portal: EmbeddedPortal) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_api(portal) as client:
        yield client


def admin_api(portal: EmbeddedPortal) -> httpx.AsyncClient:
    """The gateway's JSON API as the admin; signed in when entered."""
    transport = httpx.ASGITransport(app=portal.gateway.app)

    class Admin(httpx.AsyncClient):
        async def __aenter__(self) -> Admin:
            await super().__aenter__()
            login = await self.post(
                "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            assert login.status_code == 200, login.text
            self.headers["X-CSRF-Token"] = login.headers["X-CSRF-Token"]
            return self

    return Admin(transport=transport, base_url="http://portal", timeout=30)


@pytest.fixture
async def sam(portal: EmbeddedPortal) -> AsyncIterator[Browser]:
    async with signed_in(portal, "sam") as browser:
        yield browser


@pytest.fixture
async def quinn(portal: EmbeddedPortal) -> AsyncIterator[Browser]:
    async with signed_in(portal, "quinn") as browser:
        yield browser


async def html_of(browser: Browser, url: str, status: int = 200) -> str:
    answer = await browser.get(url)
    assert answer.status_code == status, f"{url}: {answer.status_code} {answer.text[-3000:]}"
    return answer.text


async def post(browser: Browser, url: str, data: Mapping[str, str]) -> httpx.Response:
    return await browser.post_form(url, dict(data))


def field_error(html: str, name: str) -> str:
    found = re.search(
        rf'<p class="field-error" id="e-{re.escape(name)}"[^>]*>(.*?)</p>', html, re.S
    )
    assert found, f"no message beside {name} on the page"
    return unescape(found.group(1)).strip()


def key_of(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found, "no idempotency key on the form"
    return found.group(1)


async def order_of(api: httpx.AsyncClient, code: str) -> dict[str, Any]:
    return await pf.order(api, code)


async def new_order_on_the_form(browser: Browser, qty: str = "10", **fields: str) -> str:
    page = await html_of(browser, "/production-orders/new")
    form = {
        "idempotency_key": key_of(page),
        "sku": pf.WIDGET,
        "qty_ordered": qty,
        "qty_to_make": fields.pop("qty_to_make", ""),
        "priority": fields.pop("priority", "normal"),
        "due_date": "2030-01-15",
        **fields,
    }
    created = await post(browser, "/production-orders/new", form)
    assert created.status_code == 303, created.text[-3000:]
    location = created.headers["location"]
    assert location.startswith("/production-orders/PRD-")
    return location.split("?")[0].rsplit("/", 1)[-1]


async def start_on_the_page(browser: Browser, code: str, allow: bool = False) -> httpx.Response:
    page = await html_of(browser, f"/production-orders/{code}")
    form = {"idempotency_key": key_of(page)}
    if allow:
        form["allow_insufficient"] = "on"
    return await post(browser, f"/production-orders/{code}/start", form)


# --- the story: start, run with scrap, partial QC, the reprint in the queue ----------------


async def test_supervisor_runs_an_order_and_qc_reprints_the_shortfall_into_the_queue(
    portal: EmbeddedPortal, api: httpx.AsyncClient, sam: Browser
) -> None:
    code = await new_order_on_the_form(sam, "10", qty_to_make="12", priority="high")
    detail = await html_of(sam, f"/production-orders/{code}?done=created")
    assert "The production order was created." in detail
    assert "Start production" in detail and "Complete run" not in detail

    started = await start_on_the_page(sam, code)
    assert started.status_code == 303, started.text[-3000:]
    running = await html_of(sam, started.headers["location"])
    assert "status-in_progress" in running and "Complete run" in running
    # The run form offers the active scrap codes, print failures first.
    assert running.index('value="ADHESION"') < running.index('value="SURFACE"')
    assert '<optgroup label="Print failure">' in running

    page_key = key_of(running)
    run = {
        "idempotency_key": page_key,
        "qty_good": "10",
        "qty_bad": "2",
        "scrap_reason_code": "ADHESION",
        "notes": "corner lifted",
        "final_run": "on",
    }
    first = await post(sam, f"/production-orders/{code}/runs", run)
    again = await post(sam, f"/production-orders/{code}/runs", run)  # a double tap
    assert first.status_code == 303 and again.status_code in (303, 409), again.text[-2000:]
    order = await order_of(api, code)
    assert order["status"] == "printed"
    assert Decimal(order["qty_good"]) == 10 and Decimal(order["qty_scrapped"]) == 2
    await portal.wait_idle()  # inventory has booked the run into the QC hold

    station = await html_of(sam, "/qc")
    assert 'class="floor-page"' in station and code in station
    picked = await html_of(sam, f"/qc?order={code}")
    assert 'name="qty_passed" value="10"' in picked  # all the good output, ready to inspect
    assert re.search(r'<input type="checkbox" id="f-reprint" name="reprint"\s+checked', picked)
    # QC failure reasons come first in the list.
    assert picked.index('value="SURFACE"') < picked.index('value="ADHESION"')
    decision = {
        "idempotency_key": key_of(picked),
        "qty_passed": "8",
        "qty_failed": "2",
        "reason_code": "SURFACE",
        "notes": "",
        "reprint": "on",
    }
    result = await sam.client.post(
        f"/qc/{code}",
        data={**decision, "csrf_token": sam.csrf_token or ""},
        headers={"HX-Request": "true", "HX-Target": "qc-station"},
    )
    assert result.status_code == 200, result.text[-3000:]
    assert "<html" not in result.text and "data-qc-done" in result.text
    reprint = re.search(r'data-reprint="(PRD-[0-9-]+)"', result.text)
    assert reprint, "the reprint order is shown"
    reprint_code = reprint.group(1)
    made = await order_of(api, reprint_code)
    assert Decimal(made["qty_ordered"]) == 2 and made["priority"] == "high"
    assert made["root_order_code"] == code and made["reprint_seq"] == 1

    queue = await html_of(sam, "/production-orders?sort=-code")
    assert ORDER_LINK.findall(queue)[:2] == [reprint_code, code]
    assert f"#1 of {code}" in queue
    assert '<span class="status status-high">High</span>' in queue

    chain = await html_of(sam, f"/production-orders/{reprint_code}")
    assert "Reprint chain" in chain and f'href="/production-orders/{code}"' in chain

    export = await sam.client.get(f"/production-orders.xlsx?sku={pf.WIDGET}&sort=-code")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
    exported = {row[0]: row for row in rows if str(row[0]).startswith("PRD-")}
    assert set(exported) == {code, reprint_code}
    assert code in exported[reprint_code]  # the chain's root is in the export


async def test_a_start_refused_for_material_lists_the_shortages_and_changes_nothing(
    api: httpx.AsyncClient, sam: Browser
) -> None:
    code = await new_order_on_the_form(sam, "500")  # 125 kg of PLA; 10 kg are there

    refused = await start_on_the_page(sam, code)

    assert refused.status_code == 409, refused.text[-3000:]
    assert 'id="shortages"' in refused.text
    shortages = refused.text[refused.text.index('id="shortages"') :]
    assert pf.PLA in shortages and "115" in shortages  # 125 required, 10 available
    assert (await order_of(api, code))["status"] in ("draft", "scheduled")

    allowed = await start_on_the_page(sam, code, allow=True)
    assert allowed.status_code == 303, allowed.text[-3000:]
    order = await order_of(api, code)
    assert order["status"] == "in_progress"
    assert {s["sku"] for s in order["shortages"]} >= {pf.PLA}


# --- roles ----------------------------------------------------------------------------------


async def test_each_role_sees_only_the_actions_it_may_take(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    draft = await pf.create_order(api, qty_ordered="2")
    forms = {
        "schedule": f'action="/production-orders/{draft}/schedule"',
        "start": f'action="/production-orders/{draft}/start"',
        "cancel": f'action="/production-orders/{draft}/cancel"',
        "new": 'href="/production-orders/new"',
    }
    expected = {
        "sam": {"schedule", "start", "cancel", "new"},
        "paula": {"schedule", "cancel", "new"},
        "olga": {"start"},
        "quinn": set(),
        "vera": set(),
    }
    for username, shown in expected.items():
        async with signed_in(portal, username) as browser:
            page = await html_of(browser, f"/production-orders/{draft}")
            queue = await html_of(browser, "/production-orders")
            seen = {name for name, marker in forms.items() if marker in page + queue}
            assert seen == shown, username

    # A refused action is refused by the service too, whatever the page showed.
    async with signed_in(portal, "vera") as viewer:
        await html_of(viewer, f"/production-orders/{draft}")
        forbidden = await post(viewer, f"/production-orders/{draft}/cancel", {})
        assert forbidden.status_code == 403
        assert (await html_of(viewer, "/qc", 403)) and (await html_of(viewer, "/scrap-codes", 403))
    assert (await order_of(api, draft))["status"] == "draft"


# --- forms ----------------------------------------------------------------------------------


async def test_a_bad_new_order_is_shown_beside_its_field_and_nothing_is_created(
    api: httpx.AsyncClient, sam: Browser
) -> None:
    before = ok(await api.get("/api/production/v1/production-orders"))["total"]
    page = await html_of(sam, "/production-orders/new")
    form = {"idempotency_key": key_of(page), "sku": "NO-SUCH-THING", "qty_ordered": "5"}

    unknown = await post(sam, "/production-orders/new", form)
    not_a_number = await post(
        sam, "/production-orders/new", {**form, "sku": pf.WIDGET, "qty_ordered": "lots"}
    )

    assert unknown.status_code in (404, 409, 422), unknown.text[-2000:]
    assert "NO-SUCH-THING" in field_error(unknown.text, "sku")
    assert 'value="NO-SUCH-THING"' in unknown.text  # what was typed stays
    assert not_a_number.status_code == 422
    assert field_error(not_a_number.text, "qty_ordered")
    assert ok(await api.get("/api/production/v1/production-orders"))["total"] == before


async def test_qc_above_the_good_quantity_is_refused_beside_the_field_in_spanish(
    portal: EmbeddedPortal, api: httpx.AsyncClient, quinn: Browser
) -> None:
    code = await pf.create_order(api, qty_ordered="4")
    ok(await api.post(f"/api/production/v1/production-orders/{code}/start", json={}))
    ok(
        await api.post(
            f"/api/production/v1/production-orders/{code}/runs",
            json={"qty_good": "4", "qty_bad": "0"},
        ),
        201,
    )
    await portal.wait_idle()

    page = await html_of(quinn, f"/qc?order={code}")
    assert "Estación de calidad" in page  # the quality inspector's page is in Spanish
    refused = await post(
        quinn,
        f"/qc/{code}",
        {
            "idempotency_key": str(uuid.uuid4()),
            "qty_passed": "4",
            "qty_failed": "3",
            "reason_code": "SURFACE",
            "reprint": "on",
        },
    )

    assert refused.status_code in (409, 422), refused.text[-3000:]
    message = field_error(refused.text, "qty_passed")
    assert "7" in message and "4" in message  # 4 + 3 inspected; 4 waiting
    assert "Passed plus failed" not in message  # in the inspector's language
    assert 'value="3"' in refused.text  # what was typed stays
    order = await order_of(api, code)
    assert Decimal(order["qty_passed"]) == 0 and Decimal(order["qty_failed"]) == 0


async def test_a_run_with_a_bad_quantity_is_refused_beside_the_field(
    api: httpx.AsyncClient, sam: Browser
) -> None:
    code = await pf.create_order(api, qty_ordered="3")
    ok(await api.post(f"/api/production/v1/production-orders/{code}/start", json={}))
    page = await html_of(sam, f"/production-orders/{code}")

    refused = await post(
        sam,
        f"/production-orders/{code}/runs",
        {"idempotency_key": key_of(page), "qty_good": "abc", "qty_bad": "0", "final_run": "on"},
    )

    assert refused.status_code == 422, refused.text[-3000:]
    assert field_error(refused.text, "qty_good") == "Enter a number."
    assert (await order_of(api, code))["status"] == "in_progress"


# --- BOMs and scrap codes -------------------------------------------------------------------


async def test_the_bom_viewer_explodes_a_quantity_and_shows_where_an_item_is_used(
    sam: Browser,
) -> None:
    listed = await html_of(sam, "/boms")
    assert f'href="/boms/{pf.WIDGET}"' in listed

    bom = await html_of(sam, f"/boms/{pf.WIDGET}?qty=40")
    assert pf.PLA in bom and pf.BOX in bom
    explosion = bom[bom.index('id="bom-explosion"') :]
    assert re.search(rf"{pf.PLA}</td>\s*<td class=\"number\">10<", explosion)  # 40 x 0.25 kg

    partial = await sam.get(
        f"/boms/{pf.WIDGET}?qty=4", headers={"HX-Request": "true", "HX-Target": "bom-explosion"}
    )
    assert partial.status_code == 200 and "<html" not in partial.text

    bad = await html_of(sam, f"/boms/{pf.WIDGET}?qty=-3")
    assert 'id="e-qty"' in bad

    used = await html_of(sam, f"/boms/{pf.PLA}")
    assert "has no released BOM of its own" in used and f'href="/boms/{pf.WIDGET}"' in used


async def test_admin_adds_and_deactivates_a_scrap_code(
    portal: EmbeddedPortal, api: httpx.AsyncClient, sam: Browser
) -> None:
    async with signed_in(portal, "ada") as admin:
        await html_of(admin, "/scrap-codes")
        added = await post(
            admin,
            "/scrap-codes/new",
            {
                "code": "SPAGHETTI",
                "category": "print_failure",
                "description": "Print detached mid-job",
                "corrective_action": "Check adhesion and supports",
            },
        )
        assert added.status_code == 303, added.text[-2000:]
        listed = await html_of(admin, added.headers["location"])
        assert "SPAGHETTI" in listed and "Print detached mid-job" in listed

        duplicate = await post(
            admin,
            "/scrap-codes/new",
            {
                "code": "SPAGHETTI",
                "category": "other",
                "description": "x",
                "corrective_action": "y",
            },
        )
        assert duplicate.status_code == 409
        assert "SPAGHETTI" in field_error(duplicate.text, "code")

        gone = await post(admin, "/scrap-codes/deactivate", {"code": "SPAGHETTI"})
        assert gone.status_code == 303, gone.text[-2000:]

    code = await pf.create_order(api, qty_ordered="1")
    ok(await api.post(f"/api/production/v1/production-orders/{code}/start", json={}))
    run_form = await html_of(sam, f"/production-orders/{code}")
    assert 'value="ADHESION"' in run_form and 'value="SPAGHETTI"' not in run_form
    assert await html_of(sam, "/scrap-codes", 403)


async def test_the_order_pages_follow_the_orders_as_they_change(
    portal: EmbeddedPortal, api: httpx.AsyncClient, sam: Browser
) -> None:
    """The queue is a live table, and a filter the service refuses is shown beside it."""
    page = await html_of(sam, "/production-orders")
    assert 'hx-trigger="sse:production-orders"' in page
    refused = await html_of(sam, "/production-orders?status=bogus", 422)
    assert 'role="alert"' in refused and not ORDER_LINK.findall(refused)

    async def code_listed() -> bool:
        listed = await sam.get("/production-orders?status=draft")
        return len(ORDER_LINK.findall(listed.text)) == 1

    await pf.create_order(api, qty_ordered="1")
    await eventually(code_listed, 10, "the new order in the queue")
