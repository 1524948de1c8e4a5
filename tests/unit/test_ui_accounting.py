"""The books' pages without a browser: the journal filters and exports what it lists; a manual
entry is refused beside its fields, then posted once under its Idempotency-Key and reversed; an
admin closes a period an accountant cannot close, and an entry into it is refused beside its
date; the statements in Spanish; the chart, the posting accounts and the QuickBooks feed's
forms; other roles are refused.

The figures are worked by hand: a manual entry of Dr 5500 1,000.10 + Dr 5400 0.20 /
Cr 1000 1,000.30 moves the trial balance's totals by exactly 1,000.30 each side.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from openpyxl import load_workbook

from services.demo import load_demo_data_once
from tests.support.ui import Browser, add_user, signed_in, ui_portal

ENTRY = re.compile(r'<a href="/journal/(JE-\d{4}-\d{5})">')


def entry_numbers(html: str) -> list[str]:
    return ENTRY.findall(html)


def sheet_rows(answer: httpx.Response) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


async def api_json(browser: Browser, path: str, **params: Any) -> Any:
    answer = await browser.client.get(f"/api/accounting/v1/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def today_of(html: str) -> str:
    found = re.search(r'name="entry_date" type="date" value="(\d{4}-\d{2}-\d{2})"', html)
    assert found, "the form offers today's date"
    return found.group(1)


def manual_entry(day: str, key: str, lines: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The manual entry form as a browser posts it: one value per row for each column."""
    return {
        "idempotency_key": key,
        "entry_date": day,
        "memo": "Scrap write-off found at stock count",
        "document_type": "",
        "document_ref": "",
        "account_code": [code for code, _, _ in lines],
        "debit": [debit for _, debit, _ in lines],
        "credit": [credit for _, _, credit in lines],
        "line_memo": ["" for _ in lines],
    }


async def test_the_journal_filters_by_type_and_account_and_exports_what_it_lists(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path) as portal:
        await load_demo_data_once(portal)
        await portal.wait_idle()
        add_user(portal, "ana", ["accountant"])
        async with signed_in(portal, "ana") as browser:
            everything = await api_json(browser, "journal-entries", limit=1000)
            receipts = await api_json(
                browser, "journal-entries", entry_type="material_receipt", limit=1000
            )
            page = await browser.get("/journal")
            oldest_first = entry_numbers((await browser.get("/journal?sort=number")).text)
            second_page = await browser.get("/journal?sort=number&limit=2&offset=2")
            by_type = await browser.get("/journal?entry_type=material_receipt&limit=100")
            by_account = await browser.get("/journal?account_code=2000&limit=100")
            export = await browser.get("/journal.xlsx?entry_type=material_receipt")
            nothing = await browser.get("/journal?document_ref=NO-SUCH-DOC")
            bad_date = await browser.get("/journal?date_from=yesterday")

    assert everything["total"] > receipts["total"] > 0
    assert "New manual entry" in page.text  # an accountant may post
    assert '<option value="material_receipt">Material receipt</option>' in page.text
    assert '<option value="1200">1200 Raw materials inventory</option>' in page.text
    assert oldest_first == sorted(item["number"] for item in everything["items"])[:25]
    assert entry_numbers(second_page.text) == oldest_first[2:4]
    listed = sorted(entry_numbers(by_type.text))
    assert listed == sorted(item["number"] for item in receipts["items"])
    # Every receipt credits accounts payable (2000), and nothing else here does.
    assert sorted(entry_numbers(by_account.text)) == listed
    rows = sheet_rows(export)
    assert rows[0][0] == "Entry"
    assert sorted({row[0] for row in rows[1:]}) == listed  # one row per line of each entry
    assert "Nothing to show." in nothing.text
    assert bad_date.status_code == 422 and "field-error" in bad_date.text


async def test_an_accountant_posts_a_manual_entry_once_and_reverses_it(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        await load_demo_data_once(portal)
        await portal.wait_idle()
        add_user(portal, "ana", ["accountant"])
        async with signed_in(portal, "ana") as browser:
            form = await browser.get("/journal/new")
            day = today_of(form.text)
            before = await api_json(browser, "trial-balance", as_of=day)
            count = (await api_json(browser, "journal-entries", limit=1))["total"]

            unbalanced = await browser.post_form(
                "/journal/new",
                manual_entry(
                    day,
                    "6f1c5a52-7d43-4f0e-9a55-000000000001",
                    [("5500", "10", ""), ("1000", "", "9.99")],
                ),
            )
            not_a_number = await browser.post_form(
                "/journal/new",
                manual_entry(
                    day,
                    "6f1c5a52-7d43-4f0e-9a55-000000000002",
                    [("5500", "12,50", ""), ("1000", "", "12.50")],
                ),
            )
            huge = await browser.post_form(
                "/journal/new",
                manual_entry(
                    day,
                    "6f1c5a52-7d43-4f0e-9a55-000000000006",
                    [("5500", "9" * 30, ""), ("1000", "", "1")],
                ),
            )
            good = manual_entry(
                day,
                "6f1c5a52-7d43-4f0e-9a55-000000000003",
                [
                    ("5500", "1,000.10", ""),
                    ("5400", "0.20", ""),
                    ("1000", "", "1,000.30"),
                    ("", "", ""),  # the spare row left blank
                ],
            )
            posted = await browser.post_form("/journal/new", good)
            again = await browser.post_form("/journal/new", good)  # a double click
            after = await api_json(browser, "trial-balance", as_of=day)
            number = posted.headers["location"].split("/")[2].split("?")[0]
            entry = await browser.get(posted.headers["location"])

            reversed_ = await browser.post_form(
                f"/journal/{number}/reverse",
                {"idempotency_key": "6f1c5a52-7d43-4f0e-9a55-000000000004", "entry_date": day},
            )
            reversal = await browser.get(reversed_.headers["location"])
            original = await browser.get(f"/journal/{number}")
            twice = await browser.post_form(
                f"/journal/{number}/reverse",
                {"idempotency_key": "6f1c5a52-7d43-4f0e-9a55-000000000005", "entry_date": day},
            )
            total = (await api_json(browser, "journal-entries", limit=1))["total"]

    assert "1,000.30" not in form.text and 'x-data="journalEntry"' in form.text
    assert form.text.count('name="debit"') == 3  # two rows and the blank row to add
    assert unbalanced.status_code == 422
    assert 'id="e-lines"' in unbalanced.text and "does not balance" in unbalanced.text
    assert 'value="9.99"' in unbalanced.text  # what was typed stays
    assert not_a_number.status_code == 422
    assert 'id="e-lines-0-debit"' in not_a_number.text
    assert huge.status_code == 422 and 'id="e-lines-0-debit"' in huge.text
    assert posted.status_code == 303 and posted.headers["location"].endswith("?done=posted")
    assert again.headers["location"] == posted.headers["location"]  # one entry, not two
    added = Decimal("1000.30")
    assert Decimal(after["total_debit"]) - Decimal(before["total_debit"]) == added
    assert Decimal(after["total_credit"]) - Decimal(before["total_credit"]) == added
    assert f"Entry {number} was posted." in entry.text
    assert "1,000.1" in entry.text and "0.2" in entry.text and "Manual entry" in entry.text
    assert "None: posted by hand" in entry.text
    assert 'action="/journal/' + number + '/reverse"' in entry.text
    assert reversed_.status_code == 303
    assert f'<a href="/journal/{number}">{number}</a>' in reversal.text  # "Reverses"
    assert "it reverses " + number in reversal.text
    reversal_number = reversed_.headers["location"].split("/")[2].split("?")[0]
    assert f'id="entry-reversed-by"><a href="/journal/{reversal_number}">' in original.text
    assert "/reverse" not in original.text  # reversed once, no button any more
    assert twice.status_code == 409
    assert total == count + 2  # the entry and its reversal


async def test_an_admin_closes_a_period_and_an_entry_into_it_is_refused_beside_its_date(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "ana", ["accountant"])
        add_user(portal, "alba", ["admin"])
        async with signed_in(portal, "ana") as ana, signed_in(portal, "alba") as alba:
            as_accountant = await ana.get("/accounting/periods?year=2025")
            refused = await ana.post_form("/accounting/periods/2025-03/close", {})
            closed = await alba.post_form("/accounting/periods/2025-03/close", {})
            shown = await alba.get(closed.headers["location"])
            into_closed = await ana.post_form(
                "/journal/new",
                manual_entry(
                    "2025-03-14",
                    "6f1c5a52-7d43-4f0e-9a55-000000000011",
                    [("5500", "5", ""), ("1000", "", "5")],
                ),
            )
            reopened = await alba.post_form("/accounting/periods/2025-03/reopen", {})
            periods = await api_json(ana, "periods", year=2025)
            export = await ana.get("/accounting/periods.xlsx?year=2025")

    assert as_accountant.status_code == 200
    assert as_accountant.text.count("<tr data-period=") == 12
    assert "/close" not in as_accountant.text  # the buttons are the admin's
    assert refused.status_code == 403
    assert closed.status_code == 303
    assert "Period 2025-03 is closed." in shown.text
    march = re.search(r'<tr data-period="2025-03">.*?</tr>', shown.text, re.S)
    assert march and "Closed" in march.group(0) and "/2025-03/reopen" in march.group(0)
    assert into_closed.status_code == 409
    assert 'id="e-entry_date"' in into_closed.text and "2025-03 is closed" in into_closed.text
    assert reopened.status_code == 303
    assert {p["period"]: p["status"] for p in periods}["2025-03"] == "open"
    rows = sheet_rows(export)
    assert rows[0][:3] == ("Period", "Month", "Status")
    assert [row[0] for row in rows[1:]] == [f"2025-{m:02d}" for m in range(1, 13)]


async def test_the_statements_in_spanish_balance_and_export(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        await load_demo_data_once(portal)
        await portal.wait_idle()
        add_user(portal, "ana", ["accountant"], language="es")
        async with signed_in(portal, "ana") as browser:
            trial = await browser.get("/trial-balance")
            figures = await api_json(browser, "trial-balance")
            export = await browser.get("/trial-balance.xlsx")
            pnl = await browser.get("/profit-and-loss?date_from=2026-01-01&date_to=2026-12-31")
            sheet = await browser.get("/balance-sheet")
            reconciliation = await browser.get("/accounting/reconciliation")
            bad_date = await browser.get("/trial-balance?as_of=yesterday")
            backwards = await browser.get(
                "/profit-and-loss?date_from=2026-12-31&date_to=2026-01-01"
            )

    assert "Cuadrada" in trial.text
    total = re.search(r'id="trial-total-debit">([^<]+)<', trial.text)
    assert total and Decimal(total.group(1).replace(",", "")) == Decimal(figures["total_debit"])
    assert Decimal(figures["total_debit"]) == Decimal(figures["total_credit"]) > 0
    assert export.status_code == 200 and sheet_rows(export)[0][0] is not None
    assert pnl.status_code == 200 and "Utilidad neta" in pnl.text and "Utilidad bruta" in pnl.text
    assert 'data-total="net_income"' in pnl.text
    assert "El activo es igual al pasivo más el capital" in sheet.text
    assert "Cuentas de inventario" in reconciliation.text
    assert reconciliation.text.count("<tr class=") >= 3  # raw materials, WIP, finished goods
    assert bad_date.status_code == 422 and "Escriba una fecha (AAAA-MM-DD)." in bad_date.text
    assert backwards.status_code == 422


async def test_accounts_posting_accounts_and_a_webhook_subscription_through_their_forms(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "ana", ["accountant"])
        async with signed_in(portal, "ana") as browser:
            added = await browser.post_form(
                "/accounting/accounts/new",
                {"code": "1300", "name": "Prepaid expenses", "account_type": "asset"},
            )
            mapped = await browser.post_form(
                "/accounting/accounts/1300",
                {"name": "Prepaid expenses", "subtype": "", "quickbooks_account_id": "QB-77"},
            )
            chart = await browser.get("/accounting/accounts")
            in_use = await browser.post_form(
                "/accounting/accounts/1200/active", {"active": "false"}
            )
            unused = await browser.post_form(
                "/accounting/accounts/1300/active", {"active": "false"}
            )
            role = await browser.post_form(
                "/accounting/posting-accounts/scrap", {"account_code": "5500"}
            )
            roles = await api_json(browser, "posting-accounts")
            not_web = await browser.post_form(
                "/accounting/webhooks/new",
                {"name": "QuickBooks", "url": "ftp://books.example/hook", "active": "on"},
            )
            created = await browser.post_form(
                "/accounting/webhooks/new",
                {
                    "name": "QuickBooks",
                    "url": "https://books.example/hook",
                    "active": "on",
                    "entry_types": ["shipment", "manual"],
                },
            )
            subscription = await browser.get(created.headers["location"])
            log = await browser.get("/accounting/webhooks/deliveries")

    assert added.status_code == 303
    assert mapped.status_code == 303
    row = re.search(r'<tr data-account="1300">.*?</tr>', chart.text, re.S)
    assert row and "QB-77" in row.group(0) and "Prepaid expenses" in row.group(0)
    assert in_use.status_code == 409 and "Account 1200:" in in_use.text
    assert unused.status_code == 303
    assert {r["role"]: r["account_code"] for r in roles}["scrap"] == "5500"
    assert role.status_code == 303
    assert not_web.status_code == 422 and 'id="e-url"' in not_web.text
    assert created.status_code == 303
    assert "Webhook subscription QuickBooks" in subscription.text
    assert "whsec_" in subscription.text  # the secret it was given, for the receiver
    assert 'value="shipment" checked' in subscription.text
    assert log.status_code == 200 and "Send again" in log.text


async def test_the_books_are_refused_to_a_role_without_them(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "omar", ["operator"])
        add_user(portal, "sara", ["supervisor"])
        async with signed_in(portal, "omar") as omar, signed_in(portal, "sara") as sara:
            home = await omar.get("/")
            journal = await omar.get("/journal")
            export = await omar.get("/journal.xlsx")
            supervisor_journal = await sara.get("/journal")
            supervisor_form = await sara.get("/journal/new")
            supervisor_feed = await sara.get("/accounting/webhooks")

    assert 'href="/journal"' not in home.text
    assert journal.status_code == 403
    assert export.status_code == 403
    assert supervisor_journal.status_code == 200
    assert "New manual entry" not in supervisor_journal.text  # reads, does not post
    assert supervisor_form.status_code == 403
    assert supervisor_feed.status_code == 403


async def test_the_reconciliation_flags_a_posting_inventory_never_saw_and_names_its_document(
    tmp_path: Path,
) -> None:
    """A hand-made Dr 1200 12.34 / Cr 5500 12.34 on PO-TEST-1: the ledger holds 12.34 of raw
    materials that inventory does not count, so 1200 is flagged by exactly 12.34 and the
    purchase order is the document that explains it."""
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "ana", ["accountant"])
        async with signed_in(portal, "ana") as browser:
            day = today_of((await browser.get("/journal/new")).text)
            agreed = await browser.get("/accounting/reconciliation")
            entry = manual_entry(
                day,
                "6f1c5a52-7d43-4f0e-9a55-000000000021",
                [("1200", "12.34", ""), ("5500", "", "12.34")],
            )
            entry.update(document_type="purchase_order", document_ref="PO-TEST-1")
            posted = await browser.post_form("/journal/new", entry)
            flagged = await browser.get("/accounting/reconciliation")

    assert "The ledger agrees with inventory" in agreed.text
    assert 'class="flagged"' not in agreed.text
    assert posted.status_code == 303
    row = re.search(r'<tr class="flagged" data-account="1200">.*?</tr>', flagged.text, re.S)
    assert row, "account 1200 is marked"
    cells = re.findall(r'<td class="money">([^<]*)</td>', row.group(0))
    assert cells == ["12.34", "0", "12.34"]  # ledger, inventory, difference
    assert flagged.text.count('<tr class="flagged"') >= 2  # the account and its document
    assert "Accounts that differ: 1" in flagged.text
    documents = re.search(r'id="documents-table">.*?</table>', flagged.text, re.S)
    assert documents and '<a href="/purchase-orders/PO-TEST-1">PO-TEST-1</a>' in documents.group(0)
