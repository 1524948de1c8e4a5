"""The sales pages in a running embedded portal: customers, the sales orders list, a new order
typed into the form with its lines, and one order with its payments; each change made through
its form as a browser does (the sign-in form's session, the page's CSRF token), each refusal
shown beside its field with nothing saved, and each button drawn only for the roles that may
use it.

What the pages saved is read back from the mrp API as the admin, so a page that showed a
success without the service having it would fail here. One portal serves the whole module (it
takes seconds to start): each test has a customer of its own and looks only at its orders.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Mapping
from html import unescape
from typing import Any

import httpx
import openpyxl
import pytest
import pytest_asyncio

from services.embedded import EmbeddedPortal
from services.gateway.ui.sales.orders import errors_by_row, lines_to_send, production_by_line
from services.gateway.ui.upstream import UpstreamProblem
from services.inventory import service as inventory_service
from services.inventory.schemas import ItemCreate
from tests.support.ui import ADMIN_PASSWORD, Browser, add_user, signed_in, ui_portal

USERS = {
    "paula": (["planner"], "en"),
    "ana": (["accountant"], "en"),
    "vera": (["viewer"], "en"),
    "sofia": (["planner"], "es"),
}
API = "/api/mrp/v1"
# The tests share the module's portal, so they run in the module's event loop.
in_the_modules_loop = pytest.mark.asyncio(loop_scope="module")
WIDGET, GADGET = "WIDGET-S", "GADGET-S"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def portal(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path_factory.mktemp("sales-pages")) as running:
        with running.runtimes["inventory"].uow() as uow:
            for sku in (WIDGET, GADGET):
                inventory_service.create_item(
                    uow,
                    ItemCreate(
                        sku=sku,
                        name=sku.title(),
                        uom="ea",
                        item_type="finished",
                        make_or_buy="make",
                    ),
                )
            uow.commit()
        await running.wait_idle()
        for username, (roles, language) in USERS.items():
            add_user(running, username, roles, language=language)
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def api(portal: EmbeddedPortal) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's JSON API as the admin, to set up and read back what the pages saved."""
    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        login = await client.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.headers["X-CSRF-Token"]
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def paula(portal: EmbeddedPortal) -> AsyncIterator[Browser]:
    async with signed_in(portal, "paula") as browser:
        yield browser


async def html_of(browser: Browser, url: str, status: int = 200) -> str:
    answer = await browser.get(url)
    assert answer.status_code == status, f"{url}: {answer.status_code} {answer.text[-3000:]}"
    return answer.text


async def posted(browser: Browser, url: str, data: Mapping[str, Any], status: int = 303) -> str:
    """Post a form; on a redirect the page it leads to, else the page drawn again."""
    answer = await browser.post_form(url, dict(data))
    assert answer.status_code == status, f"{url}: {answer.status_code} {answer.text[-3000:]}"
    if status == 303:
        return await html_of(browser, answer.headers["location"])
    return answer.text


def field_error(html: str, name: str) -> str:
    found = re.search(
        rf'<p class="field-error" id="e-{re.escape(name)}"[^>]*>(.*?)</p>', html, re.S
    )
    assert found, f"no message beside {name} on the page"
    return unescape(found.group(1)).strip()


def form_error(html: str) -> str:
    found = re.search(r'<div class="alert error" role="alert">(.*?)</div>', html, re.S)
    assert found, "no message at the top of the form"
    return unescape(found.group(1)).strip()


def main_of(html: str) -> str:
    return html.split('<main id="main"', 1)[1]


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}"><span>[^<]*</span><strong>([^<]*)</strong>', html)
    assert found, f"no {name} on the page"
    return unescape(found.group(1)).strip()


async def ok(answer: Any, status: int = 200) -> Any:
    response = await answer
    assert response.status_code == status, response.text
    return response.json()


async def a_customer(api: httpx.AsyncClient, code: str) -> None:
    if (await api.get(f"{API}/customers/{code}")).status_code == 404:
        customer = {"code": code, "name": f"Acme Retail {code}", "priority": 2}
        await ok(api.post(f"{API}/customers", json=customer), 201)


async def an_order(api: httpx.AsyncClient, customer: str, **header: Any) -> str:
    """The customer's order of 10 widgets at 15.00 and 3 gadgets at 2.335: worth 157.01."""
    await a_customer(api, customer)
    body = {
        "customer_code": customer,
        "lines": [
            {"sku": WIDGET, "qty": "10", "unit_price": "15.00", "due_date": "2026-12-10"},
            {"sku": GADGET, "qty": "3", "unit_price": "2.335"},
        ],
        **header,
    }
    created = await ok(api.post(f"{API}/sales-orders", json=body), 201)
    number: str = created["so_number"]
    return number


async def orders_of(api: httpx.AsyncClient, customer: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await ok(api.get(f"{API}/sales-orders", params={"customer_code": customer}))
    )["items"]
    return found


# --- what the pages compute ------------------------------------------------------------------


def test_empty_rows_are_left_out_and_a_refusal_goes_back_to_the_row_typed() -> None:
    rows = [
        {"sku": WIDGET, "qty": "2", "unit_price": "1", "due_date": ""},
        {"sku": "", "qty": "", "unit_price": "", "due_date": ""},
        {"sku": GADGET, "qty": "0", "unit_price": "1", "due_date": "2026-12-01"},
    ]
    body, sent_rows = lines_to_send(rows)
    assert [line["sku"] for line in body] == [WIDGET, GADGET]
    assert body[0]["due_date"] is None and sent_rows == [0, 2]
    problem = UpstreamProblem(
        422,
        {
            "detail": "Invalid input",
            "errors": [
                {"field": "lines.1.qty", "message": "Must be greater than 0."},
                {"field": "customer_code", "message": "No such customer."},
                {"field": "surprise", "message": "Not allowed."},
            ],
        },
    )
    errors, general = errors_by_row(problem, sent_rows)
    assert errors == {
        "lines.2.qty": "Must be greater than 0.",
        "customer_code": "No such customer.",
    }
    assert general == "Not allowed."


def test_a_reprint_naming_only_its_root_counts_for_the_roots_line() -> None:
    orders = [
        {"code": "PRD-1", "so_line_no": 1, "status": "completed"},
        {"code": "PRD-2", "so_line_no": 2, "status": "in_progress"},
        {"code": "PRD-3", "so_line_no": None, "root_order_code": "PRD-1", "status": "draft"},
        {"code": "PRD-9", "so_line_no": None, "status": "draft"},
    ]
    by_line = production_by_line(orders)
    assert {line: [o["code"] for o in made] for line, made in by_line.items()} == {
        1: ["PRD-1", "PRD-3"],
        2: ["PRD-2"],
    }


# --- customers --------------------------------------------------------------------------------


@in_the_modules_loop
async def test_a_planner_adds_a_customer_changes_its_priority_and_deactivates_it(
    paula: Browser, api: httpx.AsyncClient
) -> None:
    listed = await html_of(paula, "/customers")
    assert "<h1>Customers</h1>" in listed and "Add a customer" in listed

    page = await posted(
        paula, "/customers", {"code": "CUST-C", "name": "Acme Retail", "priority": "2"}
    )
    assert "Customer CUST-C was added." in page
    assert (await ok(api.get(f"{API}/customers/CUST-C")))["priority"] == 2

    # The same code again: refused beside the code, and nothing more saved.
    again = await posted(
        paula, "/customers", {"code": "CUST-C", "name": "Other", "priority": "3"}, status=409
    )
    assert "already exists" in field_error(again, "code")
    assert 'value="Other"' in again
    # A priority of 9: refused beside the priority.
    wrong = await posted(paula, "/customers/CUST-C", {"name": "Acme", "priority": "9"}, status=422)
    assert field_error(wrong, "priority")
    customers = await ok(api.get(f"{API}/customers", params={"q": "CUST-C"}))
    assert [(c["code"], c["name"], c["priority"]) for c in customers["items"]] == [
        ("CUST-C", "Acme Retail", 2)
    ]

    page = await posted(paula, "/customers/CUST-C", {"name": "Acme Retail Ltd", "priority": "1"})
    assert "Customer CUST-C was saved." in page and 'data-priority="1"' in page
    page = await posted(paula, "/customers/CUST-C/deactivate", {})
    assert "Customer CUST-C was deactivated." in page and "Reactivate customer" in page
    saved = await ok(api.get(f"{API}/customers/CUST-C"))
    assert (saved["name"], saved["priority"], saved["active"]) == ("Acme Retail Ltd", 1, False)

    inactive = await html_of(paula, "/customers?active=false&q=CUST-C")
    assert 'href="/customers/CUST-C"' in inactive
    assert 'href="/customers/CUST-C"' not in await html_of(paula, "/customers?active=true&q=CUST-C")
    export = await paula.get("/customers.xlsx?q=CUST-C")
    assert export.status_code == 200, export.text
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True)) == [
        ("Customer", "Name", "Priority", "Status"),
        ("CUST-C", "Acme Retail Ltd", 1, "Inactive"),
    ]


# --- a new order ------------------------------------------------------------------------------


@in_the_modules_loop
async def test_a_planner_types_an_order_with_two_lines_and_a_bad_row_is_pointed_out(
    portal: EmbeddedPortal, paula: Browser, api: httpx.AsyncClient
) -> None:
    await a_customer(api, "ACME-N")
    form = await html_of(paula, "/sales-orders/new")
    assert '<option value="ACME-N">Acme Retail ACME-N (ACME-N)</option>' in form
    assert f'<option value="{WIDGET}">' in form  # the SKUs mrp knows, suggested
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    assert key is not None

    typed = {
        "idempotency_key": key.group(1),
        "rows": "3",
        "customer_code": "ACME-N",
        "business_unit": "PRINT",
        "contractual_penalty": "on",
        "lines.0.sku": WIDGET,
        "lines.0.qty": "10",
        "lines.0.unit_price": "15.00",
        "lines.0.due_date": "2026-12-10",
        "lines.2.sku": GADGET,
        "lines.2.qty": "0",
        "lines.2.unit_price": "2.335",
    }
    refused = await posted(paula, "/sales-orders/new", typed, status=422)
    assert field_error(refused, "lines-2-qty")  # the third row, as typed
    assert 'value="2.335"' in refused and "checked" in refused
    assert await orders_of(api, "ACME-N") == []

    # More lines: the form again with three more rows, nothing sent.
    more = await posted(paula, "/sales-orders/new", {**typed, "more": "1"}, status=200)
    assert 'name="lines.5.sku"' in more and f'value="{WIDGET}"' in more
    assert await orders_of(api, "ACME-N") == []

    page = await posted(paula, "/sales-orders/new", {**typed, "lines.2.qty": "3"})
    assert "The sales order was created." in page
    (order,) = await orders_of(api, "ACME-N")
    assert order["contractual_penalty"] is True and order["business_unit"] == "PRINT"
    assert [(line["sku"], line["qty_ordered"]) for line in order["lines"]] == [
        (WIDGET, "10.0000"),
        (GADGET, "3.0000"),
    ]
    assert figure(page, "value") == "$157.01" and figure(page, "balance") == "$157.01"
    assert 'data-line="2"' in page and "Penalty" in page

    # The same form sent again (a double click): the order is taken once.
    await posted(paula, "/sales-orders/new", {**typed, "lines.2.qty": "3"})
    assert len(await orders_of(api, "ACME-N")) == 1


@in_the_modules_loop
async def test_an_order_typed_with_its_erp_number_shows_it_and_a_taken_number_is_pointed_out(
    portal: EmbeddedPortal, paula: Browser, api: httpx.AsyncClient
) -> None:
    await a_customer(api, "ACME-R")
    form = await html_of(paula, "/sales-orders/new")
    assert 'name="external_ref"' in form
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    assert key is not None
    typed = {
        "idempotency_key": key.group(1),
        "rows": "3",
        "customer_code": "ACME-R",
        "external_ref": "ERP-7731",
        "lines.0.sku": WIDGET,
        "lines.0.qty": "2",
        "lines.0.unit_price": "15",
    }
    page = await posted(paula, "/sales-orders/new", typed)
    assert "The sales order was created." in page
    assert re.search(r'<dt>ERP ref</dt><dd data-field="external_ref">ERP-7731</dd>', page)
    (order,) = await orders_of(api, "ACME-R")
    assert order["external_ref"] == "ERP-7731"

    # The same number on another order (a new form, so a new key): refused beside the field.
    again = {**typed, "idempotency_key": "7c1f6a52-0d3e-4c38-9a57-3c2b1d4e5f60"}
    refused = await posted(paula, "/sales-orders/new", again, status=409)
    assert "ERP-7731" in field_error(refused, "external_ref")
    assert 'value="ERP-7731"' in refused
    assert len(await orders_of(api, "ACME-R")) == 1

    # An order without one shows no such line; in Spanish the label is its own.
    plain = await an_order(api, "ACME-R")
    assert "ERP ref" not in await html_of(paula, f"/sales-orders/{plain}")
    async with signed_in(portal, "sofia") as sofia:
        spanish = await html_of(sofia, f"/sales-orders/{order['so_number']}")
    assert "<dt>Ref. ERP</dt>" in spanish


# --- the list ---------------------------------------------------------------------------------


@in_the_modules_loop
async def test_the_list_filters_by_status_and_penalty_and_exports_what_it_shows(
    paula: Browser, api: httpx.AsyncClient
) -> None:
    penalised = await an_order(api, "ACME-L", contractual_penalty=True, business_unit="PRINT-L")
    plain = await an_order(api, "ACME-L")
    await ok(api.post(f"{API}/sales-orders/{plain}/cancel"))

    listed = await html_of(paula, "/sales-orders?customer_code=ACME-L")
    assert "New sales order" in listed
    assert (
        f'href="/sales-orders/{penalised}"' in listed and f'href="/sales-orders/{plain}"' in listed
    )
    with_penalty = await html_of(
        paula, "/sales-orders?customer_code=ACME-L&contractual_penalty=true"
    )
    assert f'href="/sales-orders/{penalised}"' in with_penalty
    assert f'href="/sales-orders/{plain}"' not in with_penalty
    cancelled = await html_of(paula, "/sales-orders?customer_code=ACME-L&status=cancelled")
    assert f'href="/sales-orders/{plain}"' in cancelled
    assert f'href="/sales-orders/{penalised}"' not in cancelled
    backwards = await html_of(paula, "/sales-orders?due_from=2027-01-02&due_to=2027-01-01", 422)
    assert "The last day comes before the first day." in backwards

    export = await paula.get("/sales-orders.xlsx?business_unit=PRINT-L")
    assert export.status_code == 200, export.text
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[-4:] == ("Contractual penalty", "Value", "Paid", "Balance")
    assert [(row[0], row[-4], row[-1]) for row in rows] == [(penalised, "Penalty", 157.01)]


# --- one order and its payments ---------------------------------------------------------------


@in_the_modules_loop
async def test_an_accountant_records_a_payment_and_the_balance_drops(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    number = await an_order(api, "ACME-P")
    url = f"/sales-orders/{number}"
    async with signed_in(portal, "ana") as ana:
        page = await html_of(ana, url)
        assert "Record a payment" in page and "Cancel this order" not in page
        assert "At most the open balance of $157.01." in page
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
        assert key is not None

        too_much = await posted(
            ana, f"{url}/payments", {"idempotency_key": key.group(1), "amount": "157.02"}, 422
        )
        assert "open balance" in field_error(too_much, "amount")
        assert 'value="157.02"' in too_much
        assert (await ok(api.get(f"{API}/sales-orders/{number}/payments")))["items"] == []

        paid = {"idempotency_key": key.group(1), "amount": "100", "reference": "Wire 4471"}
        page = await posted(ana, f"{url}/payments", paid)
        assert "The payment was recorded." in page
        assert (figure(page, "paid"), figure(page, "balance")) == ("$100.00", "$57.01")
        assert "Wire 4471" in page and 'data-payment="PAY-' in page
        # The same form sent twice records it once.
        await posted(ana, f"{url}/payments", paid)
        payments = await ok(api.get(f"{API}/sales-orders/{number}/payments"))
        assert [(p["amount"], p["recorded_by"]) for p in payments["items"]] == [("100.0000", "ana")]

        # The rest, received on an earlier morning (plant time).
        rest = {"amount": "57.01", "received_at": "2026-01-05T09:30"}
        page = await posted(ana, f"{url}/payments", rest)
        assert figure(page, "balance") == "$0.00"
        assert "Record a payment" not in page  # nothing more is owed
        refused = await posted(ana, f"/sales-orders/{number}/cancel", {}, status=403)
        assert "Your role does not allow this page." in refused


@in_the_modules_loop
async def test_only_the_roles_that_may_see_the_buttons(
    portal: EmbeddedPortal, paula: Browser, api: httpx.AsyncClient
) -> None:
    number = await an_order(api, "ACME-R")
    url = f"/sales-orders/{number}"
    page = await html_of(paula, url)
    assert "Record a payment" not in page and "Cancel this order" in page
    refused = await paula.post_form(f"{url}/payments", {"amount": "1"})
    assert refused.status_code == 403

    async with signed_in(portal, "vera") as vera:
        for path in (url, "/sales-orders", "/customers", "/customers/ACME-R"):
            assert 'method="post"' not in main_of(await html_of(vera, path)), path
        assert "New sales order" not in await html_of(vera, "/sales-orders")
        await html_of(vera, "/sales-orders/new", status=403)


@in_the_modules_loop
async def test_a_planner_flags_the_penalty_then_cancels_the_order(
    paula: Browser, api: httpx.AsyncClient
) -> None:
    number = await an_order(api, "ACME-X", business_unit="PRINT")
    url = f"/sales-orders/{number}"
    page = await posted(
        paula, url, {"contractual_penalty": "on", "business_unit": "EXPORT", "notes": "Late fee"}
    )
    assert "The sales order was saved." in page
    saved = await ok(api.get(f"{API}/sales-orders/{number}"))
    assert (saved["contractual_penalty"], saved["business_unit"], saved["notes"]) == (
        True,
        "EXPORT",
        "Late fee",
    )
    wrong = await posted(paula, url, {"business_unit": "no spaces allowed"}, status=422)
    assert field_error(wrong, "business_unit")
    assert (await ok(api.get(f"{API}/sales-orders/{number}")))["business_unit"] == "EXPORT"

    page = await posted(paula, f"{url}/cancel", {})
    assert "The sales order was cancelled." in page and "Cancelled" in page
    assert "Cancel this order" not in page and "Change the order" not in page
    again = await posted(paula, f"{url}/cancel", {}, status=409)
    assert "already cancelled" in form_error(again)


@in_the_modules_loop
async def test_the_sales_pages_speak_spanish(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    number = await an_order(api, "ACME-ES", contractual_penalty=True)
    async with signed_in(portal, "sofia") as sofia:
        listed = await html_of(sofia, "/sales-orders")
        assert "<h1>Pedidos de venta</h1>" in listed and "Nuevo pedido de venta" in listed
        page = await html_of(sofia, f"/sales-orders/{number}")
        assert "Penalización contractual" in page and "Saldo" in page
        customers = await html_of(sofia, "/customers")
        assert "<h1>Clientes</h1>" in customers and "Añadir un cliente" in customers
