"""Customers pay against their sales orders, and the contract's late-shipping penalty is kept on
the order, in the mrp service alone (SQLite, or PostgreSQL where two clerks race), driven over
its API by the roles that do it. Nothing is relayed there: the outbox keeps every event mrp
published, so the PaymentReceived each payment makes is read exactly as it left. One story runs
on the whole embedded portal instead, where accounting books the payment Dr Cash / Cr AR.

The worked example of every test: Acme orders 10 widgets at 15.00 and 3 gadgets at 2.335; the
gadgets' line is worth 7.01 (to the cent, half up), so the order is worth 157.01.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from services import registry
from services.mrp.sales import service as sales_service
from services.mrp.sales.schemas import PaymentCreate
from shared.bus.inprocess import InProcessBus
from shared.events.catalogue import ItemUpserted
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support import servers
from tests.support.service_api import ServiceApi
from tests.support.ui import ADMIN_PASSWORD, ui_portal

SECRET = "sales-payments-test-secret-" + "x" * 30
WIDGET, GADGET = "WIDGET-P", "GADGET-P"
ORDER = {
    "customer_code": "ACME",
    "order_date": "2026-03-02",
    "business_unit": "PRINT",
    "lines": [
        {"sku": WIDGET, "qty": "10", "unit_price": "15.00", "due_date": "2026-04-01"},
        {"sku": GADGET, "qty": "3", "unit_price": "2.335", "business_unit": "RETAIL"},
    ],
}


def finished(sku: str) -> ItemUpserted:
    return ItemUpserted(
        sku=sku, name=sku.title(), uom="ea", item_type="finished", make_or_buy="make"
    )


class Sales(ServiceApi):
    """mrp as its users reach it: the planner takes orders, the accountant records payments."""

    async def take_order(self, **changes: Any) -> str:
        async with self.client("planner", user="paula") as planner:
            answer = await planner.post("/api/v1/sales-orders", json={**ORDER, **changes})
        assert answer.status_code == 201, answer.text
        number: str = answer.json()["so_number"]
        return number

    async def pay(self, number: str, amount: str, **body: Any) -> httpx.Response:
        async with self.client("accountant", user="ana") as accountant:
            answer: httpx.Response = await accountant.post(
                f"/api/v1/sales-orders/{number}/payments", json={"amount": amount, **body}
            )
            return answer

    async def order(self, number: str) -> dict[str, Any]:
        async with self.client("viewer", user="vera") as viewer:
            answer = await viewer.get(f"/api/v1/sales-orders/{number}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@asynccontextmanager
async def running_sales(tmp_path: Path, db_url: str | None = None) -> AsyncIterator[Sales]:
    """mrp on its own, knowing the two items and the customer Acme."""
    runtime = ServiceRuntime(
        registry.definition("mrp"),
        Settings(var_dir=tmp_path, plant_timezone="America/Chicago"),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    with runtime.uow() as uow:
        for sequence, sku in enumerate((WIDGET, GADGET), start=1):
            sales_service.remember_item(uow, finished(sku), sequence)
        uow.commit()
    sales = Sales(runtime, SECRET)
    async with sales.client("planner", user="paula") as planner:
        customer = {"code": "ACME", "name": "Acme Retail", "priority": 2}
        assert (await planner.post("/api/v1/customers", json=customer)).status_code == 201
    try:
        yield sales
    finally:
        runtime.db.dispose()


@pytest.fixture
async def sales(tmp_path: Path) -> AsyncIterator[Sales]:
    async with running_sales(tmp_path) as running:
        yield running


def refused(answer: httpx.Response, status: int, field: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["field"] == field, problem
    detail: str = problem["detail"]
    return detail


# --- payments ---------------------------------------------------------------------------------


async def test_two_payments_bring_the_balance_of_157_01_down_to_nothing(sales: Sales) -> None:
    number = await sales.take_order()
    order = await sales.order(number)
    assert (order["value"], order["paid"], order["balance"]) == ("157.0100", "0.0000", "157.0100")
    assert order["total"] == order["value"]

    first = await sales.pay(number, "100.00", reference="Wire 4471")
    assert first.status_code == 201, first.text
    assert first.json()["payment_id"] == f"PAY-{datetime.now(UTC).year}-00001"
    assert first.json()["recorded_by"] == "ana"
    order = await sales.order(number)
    assert (order["paid"], order["balance"]) == ("100.0000", "57.0100")

    # The rest, to the cent, and dated the day before: it came in then.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    second = await sales.pay(number, "57.01", received_at=yesterday.isoformat())
    assert second.status_code == 201, second.text
    order = await sales.order(number)
    assert (order["value"], order["paid"], order["balance"]) == ("157.0100", "157.0100", "0.0000")

    async with sales.client("viewer", user="vera") as viewer:
        listed = (await viewer.get(f"/api/v1/sales-orders/{number}/payments")).json()
    # Oldest received first: yesterday's before today's.
    assert [(p["amount"], p["reference"]) for p in listed["items"]] == [
        ("57.0100", None),
        ("100.0000", "Wire 4471"),
    ]
    assert (listed["value"], listed["paid"], listed["balance"]) == (
        "157.0100",
        "157.0100",
        "0.0000",
    )
    assert datetime.fromisoformat(listed["items"][0]["received_at"]) == yesterday

    # The list shows each order's figures too.
    async with sales.client("viewer", user="vera") as viewer:
        (row,) = (await viewer.get("/api/v1/sales-orders")).json()["items"]
    assert (row["paid"], row["balance"]) == ("157.0100", "0.0000")


async def test_an_overpayment_is_refused_naming_the_amount_and_nothing_changes(
    sales: Sales,
) -> None:
    number = await sales.take_order()
    assert (await sales.pay(number, "100")).status_code == 201
    before = sales.row_counts()

    detail = refused(await sales.pay(number, "57.0101"), 422, "amount")
    assert "57.01" in detail  # the open balance, said in the refusal
    refused(await sales.pay(number, "0"), 422, "amount")
    refused(await sales.pay(number, "-5"), 422, "amount")
    refused(await sales.pay(number, "1.00001"), 422, "amount")  # a fifth decimal
    refused(await sales.pay(number, "ten"), 422, "amount")
    refused(await sales.pay(number, "1", received_at="2026-03-02T10:00:00"), 422, "received_at")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    refused(await sales.pay(number, "1", received_at=tomorrow.isoformat()), 422, "received_at")
    refused(await sales.pay(number, "1", reference="x" * 201), 422, "reference")
    refused(await sales.pay(number, "1", cheque=True), 422, "cheque")
    refused(await sales.pay("SO-2026-99999", "1"), 404, "number")

    assert sales.row_counts() == before
    assert (await sales.order(number))["balance"] == "57.0100"


async def test_a_cancelled_order_takes_no_payment(sales: Sales) -> None:
    number = await sales.take_order()
    async with sales.client("planner", user="paula") as planner:
        assert (await planner.post(f"/api/v1/sales-orders/{number}/cancel")).status_code == 200
    before = sales.row_counts()
    refused(await sales.pay(number, "1"), 409, "status")
    assert sales.row_counts() == before


async def test_a_paid_order_cannot_be_cancelled(sales: Sales) -> None:
    """No refunds yet: the customer's money must not be left on an order that is gone."""
    number = await sales.take_order()
    assert (await sales.pay(number, "10")).status_code == 201
    before = sales.row_counts()
    async with sales.client("planner", user="paula") as planner:
        detail = refused(await planner.post(f"/api/v1/sales-orders/{number}/cancel"), 409, "status")
    assert "10" in detail
    assert sales.row_counts() == before
    assert (await sales.order(number))["status"] != "cancelled"


async def test_a_retry_with_the_same_key_records_the_payment_once(sales: Sales) -> None:
    number = await sales.take_order()
    headers = {"Idempotency-Key": "pay-acme-0001"}
    async with sales.client("accountant", user="ana") as accountant:
        path = f"/api/v1/sales-orders/{number}/payments"
        first = await accountant.post(path, json={"amount": "40"}, headers=headers)
        again = await accountant.post(path, json={"amount": "40"}, headers=headers)
        other = await accountant.post(path, json={"amount": "41"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    refused(other, 422, "Idempotency-Key")
    assert sales.row_counts()["customer_payments"] == 1
    assert len(sales.events("PaymentReceived")) == 1
    assert (await sales.order(number))["paid"] == "40.0000"


async def test_the_payment_received_event_carries_exactly_the_payment(sales: Sales) -> None:
    number = await sales.take_order()
    received = datetime(2026, 3, 5, 15, 30, tzinfo=UTC)
    answer = await sales.pay(
        number, "12.3456", reference="Cheque 88", received_at="2026-03-05T09:30:00-06:00"
    )
    assert answer.status_code == 201, answer.text
    payment = answer.json()

    (event,) = sales.events("PaymentReceived")
    assert event.key == number
    assert event.payload == {
        "payment_id": payment["payment_id"],
        "so_number": number,
        "customer_code": "ACME",
        "amount": "12.3456",
        "received_at": received.isoformat().replace("+00:00", "Z"),
        "reference": "Cheque 88",
    }
    assert datetime.fromisoformat(payment["received_at"]) == received

    # Audited as the accountant's act, in the same transaction.
    audits = [
        e.payload
        for e in sales.events("AuditRecorded")
        if e.payload["action"].startswith("mrp.pay")
    ]
    assert [(a["action"], a["entity_type"], a["entity_id"], a["actor"]) for a in audits] == [
        ("mrp.payments.create", "customer_payment", payment["payment_id"], "ana")
    ]
    assert audits[0]["after"]["amount"] == "12.3456"


async def test_only_an_accountant_or_an_admin_records_a_payment(sales: Sales) -> None:
    number = await sales.take_order()
    for role in ("planner", "supervisor", "viewer"):
        async with sales.client(role) as someone:
            answer = await someone.post(
                f"/api/v1/sales-orders/{number}/payments", json={"amount": "1"}
            )
        assert answer.status_code == 403, (role, answer.text)
    async with sales.client("admin") as admin:
        answer = await admin.post(f"/api/v1/sales-orders/{number}/payments", json={"amount": "1"})
    assert answer.status_code == 201, answer.text
    assert sales.row_counts()["customer_payments"] == 1


async def test_a_payment_waits_for_one_being_recorded_and_cannot_overpay_with_it(
    postgres: servers.PostgresDatabases, tmp_path: Path
) -> None:
    """Two clerks record 100 each against the 157.01 owed. The first one's transaction holds
    the order's row: on PostgreSQL the second waits for it, then finds only 57.01 owed."""
    async with running_sales(tmp_path, postgres.create("sales_payments")) as sales:
        number = await sales.take_order()
        with sales.runtime.uow() as first:
            sales_service.record_payment(
                first,
                number,
                PaymentCreate(amount=Decimal(100)),
                datetime.now(UTC),
                datetime.now(UTC).date(),
            )
            second = asyncio.create_task(sales.pay(number, "100"))
            await asyncio.sleep(0.5)
            assert not second.done(), second.result().text
            first.commit()
        refused(await second, 422, "amount")
        assert (await sales.order(number))["balance"] == "57.0100"
        assert sales.row_counts()["customer_payments"] == 1


# --- the contractual penalty ------------------------------------------------------------------


async def test_the_contractual_penalty_is_kept_filtered_exported_and_changed(
    sales: Sales,
) -> None:
    penalised = await sales.take_order(contractual_penalty=True)
    plain = await sales.take_order()
    assert (await sales.order(penalised))["contractual_penalty"] is True
    assert (await sales.order(plain))["contractual_penalty"] is False

    async with sales.client("viewer", user="vera") as viewer:

        async def numbers(**params: str) -> list[str]:
            answer = await viewer.get("/api/v1/sales-orders", params=params)
            assert answer.status_code == 200, answer.text
            return [so["so_number"] for so in answer.json()["items"]]

        assert await numbers(contractual_penalty="true") == [penalised]
        assert await numbers(contractual_penalty="false") == [plain]
        export = await viewer.get("/api/v1/sales-orders.xlsx", params={"sort": "number"})
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    column = header.index("Contractual penalty")
    assert [(row[0], row[column]) for row in rows] == [(penalised, "yes"), (plain, "no")]
    assert header[-3:] == ("Paid", "Balance", "Total")

    # The planner learns the plain order's contract has a penalty after all, and moves it to
    # another business unit; the line that had the order's unit follows it.
    async with sales.client("planner", user="paula") as planner:
        path = f"/api/v1/sales-orders/{plain}"
        changed = await planner.patch(
            path, json={"contractual_penalty": True, "business_unit": "EXPORT", "notes": "Late fee"}
        )
        assert changed.status_code == 200, changed.text
        refused(
            await planner.patch(path, json={"contractual_penalty": None}),
            422,
            "contractual_penalty",
        )
        refused(await planner.patch(path, json={"status": "shipped"}), 422, "status")
    order = await sales.order(plain)
    assert (order["contractual_penalty"], order["business_unit"], order["notes"]) == (
        True,
        "EXPORT",
        "Late fee",
    )
    assert [line["business_unit"] for line in order["lines"]] == ["EXPORT", "RETAIL"]
    assert sales.events("SalesOrderChanged", key=plain)[-1].payload["business_unit"] == "EXPORT"
    (audit,) = [
        e.payload
        for e in sales.events("AuditRecorded")
        if e.payload["action"] == "mrp.sales_orders.update"
    ]
    assert (audit["before"]["contractual_penalty"], audit["after"]["contractual_penalty"]) == (
        False,
        True,
    )

    # A cancelled order's header no longer changes.
    async with sales.client("planner", user="paula") as planner:
        assert (await planner.post(f"/api/v1/sales-orders/{plain}/cancel")).status_code == 200
        before = sales.row_counts()
        refused(
            await planner.patch(f"/api/v1/sales-orders/{plain}", json={"notes": "x"}), 409, "status"
        )
    assert sales.row_counts() == before


# --- accounting books it ----------------------------------------------------------------------


async def test_accounting_books_a_payment_as_cash_received_against_receivables(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as portal:
        mrp = Sales(portal.runtimes["mrp"], portal.secret)
        with mrp.runtime.uow() as uow:
            for sequence, sku in enumerate((WIDGET, GADGET), start=1):
                sales_service.remember_item(uow, finished(sku), sequence)
            uow.commit()
        async with mrp.client("planner") as planner:
            customer = {"code": "ACME", "name": "Acme Retail"}
            assert (await planner.post("/api/v1/customers", json=customer)).status_code == 201
        number = await mrp.take_order()
        paid = await mrp.pay(number, "57.01", reference="Wire 9")
        assert paid.status_code == 201, paid.text
        await portal.wait_idle()

        transport = httpx.ASGITransport(app=portal.gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as api:
            login = {"username": "admin", "password": ADMIN_PASSWORD}
            assert (await api.post("/api/auth/login", json=login)).status_code == 200
            found = await api.get(
                "/api/accounting/v1/journal-entries", params={"entry_type": "customer_payment"}
            )
            assert found.status_code == 200, found.text
            (summary,) = found.json()["items"]
            assert summary["document_ref"] == number
            entry = (
                await api.get(f"/api/accounting/v1/journal-entries/{summary['number']}")
            ).json()
    assert [(line["account_code"], line["debit"], line["credit"]) for line in entry["lines"]] == [
        ("1000", "57.0100", "0.0000"),
        ("1100", "0.0000", "57.0100"),
    ]
    assert {line["sales_order"] for line in entry["lines"]} == {number}
    assert paid.json()["payment_id"] in entry["memo"] and "Wire 9" in entry["memo"]
