"""Issue 7's reconciliation through the real services, in the embedded mode (one process,
SQLite, the in-process bus): the production stories of issue 6, then every accounting report
against figures worked out by hand, inventory's own valuation beside the ledger with no
difference, and a difference that shows, with its document, when the ledger and the stock part.

Hand-worked from tests/support/production_flow.py (a widget's material costs 5.50: 0.25 kg of
PLA at 20.00 and a box at 0.50). Received: 10 kg PLA (200.00) and 100 boxes (50.00) = 250.00.
- Make to stock, 4 widgets: issued 1 kg PLA and 4 boxes (22.00); 4 good -> FG 22.00; passed;
  shipped at 12.00 -> COGS 22.00, revenue 48.00.
- Partial QC, 12 to make: issued 3 kg and 12 boxes (66.00); 10 good (55.00) and 2 bad
  (11.00, scrap); QC fails 2 (11.00, scrap); the reprint of 2 issues 0.5 kg and 2 boxes
  (11.00) and passes 2 good (11.00). Nothing of it is shipped.
So raw materials 250 - 22 - 66 - 11 = 151.00 (5.5 kg PLA = 110.00, 82 boxes = 41.00), WIP 0,
finished goods 55.00 (10 widgets); scrap 22.00; gross profit 26.00, net income 4.00.

The same books are checked on PostgreSQL across processes, with a posting really missing, in
test_reconciliation_pg.py.
"""

from __future__ import annotations

import io
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.embedded import EmbeddedPortal
from shared.settings import Settings
from tests.support import production_flow as pf
from tests.support.cluster import sign_in
from tests.support.flow import eventually, ok

D = Decimal
PASSWORD = "embedded-admin-pw"
BOOKS = "/api/accounting/v1"
STOCK = "/api/inventory/v1"

pytestmark = pytest.mark.timeout(300)


# --- what every mode checks ----------------------------------------------------------------------


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def tomorrow() -> str:
    return (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


async def reconciliation(api: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(await api.get(f"{BOOKS}/reports/reconciliation", params=params))
    return body


def accounts_of(report: dict[str, Any]) -> list[tuple[str, list[str], D, D, D, bool]]:
    return [
        (
            row["code"],
            row["inventory_classes"],
            D(row["gl_balance"]),
            D(row["inventory_value"]),
            D(row["difference"]),
            row["flagged"],
        )
        for row in report["accounts"]
    ]


async def wait_until_reconciled(api: httpx.AsyncClient) -> dict[str, Any]:
    """Events travel after the stories' last answer: wait for the ledger to catch up."""
    latest: dict[str, Any] = {}

    async def agrees() -> bool:
        latest.update(await reconciliation(api))
        return not latest["flagged"]

    try:
        await eventually(agrees, pf.WITHIN, "the ledger to agree with inventory")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {latest}") from None
    return latest


async def assert_the_books_after_the_stories(api: httpx.AsyncClient) -> None:
    """Every report of the accounting service after the two stories, figure by figure."""
    report = await wait_until_reconciled(api)
    assert accounts_of(report) == [
        ("1200", ["raw"], D("151.00"), D("151.00"), D(0), False),
        ("1210", ["wip"], D(0), D(0), D(0), False),
        ("1220", ["finished"], D("55.00"), D("55.00"), D(0), False),
    ]
    assert (report["total_gl"], report["total_inventory"], report["total_difference"]) == (
        "206.0000",
        "206.0000",
        "0.0000",
    )
    assert report["documents"] == [] and report["items"] == []

    # Inventory's own valuation, by class and item (SCRAP's 4 widgets hold no value).
    valuation = ok(await api.get(f"{STOCK}/valuation"))
    assert valuation["source"] == "balances"
    assert [(c["inventory_class"], D(c["value"])) for c in valuation["classes"]] == [
        ("raw", D("151.00")),
        ("wip", D(0)),
        ("finished", D("55.00")),
    ]
    assert [
        (i["sku"], i["inventory_class"], D(i["qty"]), D(i["value"])) for i in valuation["items"]
    ] == [
        (pf.BOX, "raw", D(82), D("41.00")),
        (pf.PLA, "raw", D("5.5"), D("110.00")),
        (pf.WIDGET, "finished", D(10), D("55.00")),
    ]
    # Yesterday, from the stock ledger: nothing had happened yet.
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    before = ok(await api.get(f"{STOCK}/valuation", params={"as_of": yesterday}))
    assert before["source"] == "ledger"
    assert [D(c["value"]) for c in before["classes"]] == [0, 0, 0] and before["items"] == []

    # The value each document moved, as the journal names documents.
    moved = ok(await api.get(f"{STOCK}/valuation/documents"))
    assert sorted(
        (d["document_type"], d["inventory_class"], D(d["value"])) for d in moved["documents"]
    ) == sorted(
        [
            ("purchase_order", "raw", D("250.00")),
            ("production_order", "raw", D("-22.00")),  # make to stock
            ("production_order", "finished", D("22.00")),
            ("sales_order", "finished", D("-22.00")),  # its shipment
            ("production_order", "raw", D("-66.00")),  # partial QC
            ("production_order", "finished", D("44.00")),  # 55 good less 11 failed at QC
            ("production_order", "raw", D("-11.00")),  # the reprint
            ("production_order", "finished", D("11.00")),
        ]
    )

    trial = ok(await api.get(f"{BOOKS}/trial-balance"))
    balances = {row["code"]: D(row["balance"]) for row in trial["rows"]}
    assert balances == {
        "1000": D(0),
        "1100": D("48.00"),
        "1200": D("151.00"),
        "1210": D(0),
        "1220": D("55.00"),
        "2000": D("250.00"),
        "3000": D(0),
        "3100": D(0),
        "3900": D(0),
        "4000": D("48.00"),
        "5000": D("22.00"),
        "5400": D("22.00"),
        "5500": D(0),
    }
    # Debits: 250 + 22 + 22 + (22 + 48) + 66 + (55 + 11) + 11 + 11 + 11.
    assert (D(trial["total_debit"]), D(trial["total_credit"]), trial["balanced"]) == (
        D("529.00"),
        D("529.00"),
        True,
    )

    pnl = ok(
        await api.get(
            f"{BOOKS}/reports/profit-and-loss", params={"date_from": today(), "date_to": today()}
        )
    )
    figures = ("revenue", "cost_of_goods_sold", "gross_profit", "scrap", "other_expenses")
    assert [D(pnl[name]) for name in (*figures, "net_income")] == [
        D("48.00"),
        D("22.00"),
        D("26.00"),
        D("22.00"),
        D(0),
        D("4.00"),
    ]
    sections = {
        s["section"]: [(r["code"], D(r["amount"])) for r in s["rows"]] for s in pnl["sections"]
    }
    assert sections == {
        "revenue": [("4000", D("48.00"))],
        "cost_of_goods_sold": [("5000", D("22.00"))],
        "scrap": [("5400", D("22.00"))],
        "other_expenses": [("5500", D(0))],
    }

    sheet = ok(await api.get(f"{BOOKS}/reports/balance-sheet"))
    assert (D(sheet["total_assets"]), D(sheet["total_liabilities_and_equity"])) == (
        D("254.00"),
        D("254.00"),
    )
    assert sheet["balanced"] is True
    assert D(sheet["current_year_earnings"]) == D("4.00")
    assert [(r["code"], D(r["amount"])) for r in sheet["equity"]["rows"]] == [
        ("3000", D(0)),
        ("3100", D(0)),
        ("3900", D(0)),
        (None, D("4.00")),
    ]

    cogs = ok(
        await api.get(f"{BOOKS}/reports/cogs", params={"date_from": today(), "date_to": today()})
    )
    assert [
        (i["sku"], D(i["cost_of_goods_sold"]), D(i["scrap"]), D(i["inventory_adjustments"]))
        for i in cogs["items"]
    ] == [(pf.WIDGET, D("22.00"), D("22.00"), D(0))]
    assert D(cogs["totals"]["total"]) == D("44.00")

    gl_inventory = ok(await api.get(f"{BOOKS}/reports/inventory-valuation"))
    assert [
        (
            a["code"],
            D(a["balance"]),
            [(i["sku"], D(i["balance"])) for i in a["items"]],
            a["production_orders"],
        )
        for a in gl_inventory["accounts"]
    ] == [
        ("1200", D("151.00"), [(pf.BOX, D("41.00")), (pf.PLA, D("110.00"))], []),
        ("1210", D(0), [], []),  # every order's WIP relieved
        ("1220", D("55.00"), [(pf.WIDGET, D("55.00"))], []),
    ]

    # Finished goods, line by line: MTS output, its shipment, the partial-QC output, the two
    # failed at QC, the reprint's output.
    ledger = ok(
        await api.get(
            f"{BOOKS}/reports/general-ledger",
            params={"account_code": "1220", "date_from": today(), "date_to": today()},
        )
    )
    assert [
        (line["entry_type"], D(line["debit"]) - D(line["credit"]), D(line["balance"]))
        for line in ledger["lines"]
    ] == [
        ("production_output", D("22.00"), D("22.00")),
        ("shipment", D("-22.00"), D(0)),
        ("production_output", D("55.00"), D("55.00")),
        ("qc_scrap", D("-11.00"), D("44.00")),
        ("production_output", D("11.00"), D("55.00")),
    ]
    assert (D(ledger["opening_balance"]), D(ledger["closing_balance"]), ledger["has_more"]) == (
        D(0),
        D("55.00"),
        False,
    )
    assert (D(ledger["total_debit"]), D(ledger["total_credit"])) == (D("88.00"), D("33.00"))
    page = ok(
        await api.get(
            f"{BOOKS}/reports/general-ledger",
            params={"account_code": "1220", "date_from": today(), "limit": 2, "offset": 2},
        )
    )
    assert [D(line["balance"]) for line in page["lines"]] == [D("55.00"), D("44.00")]
    assert page["has_more"] is True
    later = ok(
        await api.get(
            f"{BOOKS}/reports/general-ledger",
            params={"account_code": "1220", "date_from": tomorrow(), "date_to": tomorrow()},
        )
    )
    assert (D(later["opening_balance"]), later["lines"], D(later["closing_balance"])) == (
        D("55.00"),
        [],
        D("55.00"),
    )

    check = ok(await api.get(f"{BOOKS}/reports/ledger-check"))
    assert check["matches"] is True and check["mismatches"] == []
    # The accounts used: 1100, 1200, 1210, 1220, 2000, 4000, 5000, 5400.
    assert check["accounts_checked"] == 8


# --- the embedded portal -------------------------------------------------------------------------


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedPortal, httpx.AsyncClient]]:
    settings = Settings(var_dir=tmp_path, admin_password=PASSWORD, demo_data=False)
    embedded = EmbeddedPortal(settings)
    embedded.prepare()
    async with embedded.running():
        transport = httpx.ASGITransport(app=embedded.gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            await sign_in(client, PASSWORD)
            await pf.set_up_material(client)
            yield embedded, client


async def test_ledger_and_inventory_agree_to_the_cent_after_the_production_stories(
    portal: tuple[EmbeddedPortal, httpx.AsyncClient],
) -> None:
    embedded, api = portal
    received = await wait_until_reconciled(api)
    assert accounts_of(received)[0] == ("1200", ["raw"], D("250.00"), D("250.00"), D(0), False)

    await pf.make_to_stock_story(api)
    await pf.partial_qc_story(api)
    await embedded.wait_idle()

    await assert_the_books_after_the_stories(api)


async def test_an_entry_on_an_inventory_account_without_stock_shows_as_a_difference_until_reversed(
    portal: tuple[EmbeddedPortal, httpx.AsyncClient],
) -> None:
    embedded, api = portal
    await wait_until_reconciled(api)
    entry = ok(
        await api.post(
            f"{BOOKS}/journal-entries",
            json={
                "entry_date": today(),
                "memo": "PLA found on the shelf, no count recorded",
                "lines": [
                    {"account_code": "1200", "debit": "7.50", "item_sku": pf.PLA},
                    {"account_code": "5500", "credit": "7.50", "item_sku": pf.PLA},
                ],
            },
        ),
        201,
    )

    report = await reconciliation(api)
    assert (report["flagged"], report["documents_checked"], report["explained"]) == (
        True,
        True,
        True,
    )
    assert accounts_of(report) == [
        ("1200", ["raw"], D("257.50"), D("250.00"), D("7.50"), True),
        ("1210", ["wip"], D(0), D(0), D(0), False),
        ("1220", ["finished"], D(0), D(0), D(0), False),
    ]
    assert [
        (
            d["document_type"],
            d["document_ref"],
            d["account_code"],
            d["gl_amount"],
            d["inventory_amount"],
            d["difference"],
        )
        for d in report["documents"]
    ] == [("journal_entry", entry["number"], "1200", "7.5000", "0.0000", "7.5000")]
    assert report["documents"][0]["items"] == [
        {
            "account_code": "1200",
            "sku": pf.PLA,
            "gl_amount": "7.5000",
            "inventory_amount": "0.0000",
            "difference": "7.5000",
        }
    ]
    assert [(i["sku"], i["gl_amount"], i["inventory_amount"]) for i in report["items"]] == [
        (pf.PLA, "207.5000", "200.0000")
    ]
    # Compared from tomorrow on, no document moved: the difference stays unexplained.
    window = await reconciliation(api, documents_from=today(), as_of=tomorrow())
    assert (window["documents_checked"], window["explained"]) == (True, True)
    empty = await reconciliation(api, documents_from=tomorrow(), as_of=tomorrow())
    assert (empty["documents_checked"], empty["explained"], empty["documents"]) == (
        True,
        False,
        [],
    )
    # Without the explanation, the flag alone.
    bare = await reconciliation(api, explain="false")
    assert bare["flagged"] is True and bare["documents_checked"] is False
    assert bare["explained"] is False and bare["documents"] == []

    # The workbook carries the same rows.
    workbook = await api.get(f"{BOOKS}/reports/reconciliation.xlsx")
    assert workbook.status_code == 200, workbook.text
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[1][:2] == ["Account", "1200"]
    assert [D(str(value)) for value in rows[1][4:7]] == [D("257.5"), D("250"), D("7.5")]
    assert ["Document", "1200", f"journal_entry {entry['number']}", pf.PLA] == rows[4][:4]

    ok(await api.post(f"{BOOKS}/journal-entries/{entry['number']}/reverse", json={}), 201)
    await embedded.wait_idle()
    after = await reconciliation(api)
    assert after["flagged"] is False
    assert accounts_of(after)[0] == ("1200", ["raw"], D("250.00"), D("250.00"), D(0), False)


async def test_reports_refuse_bad_input_naming_the_field(
    portal: tuple[EmbeddedPortal, httpx.AsyncClient],
) -> None:
    _embedded, api = portal
    cases = [
        (f"{BOOKS}/trial-balance", {"as_of": "2026-02-30"}, 422, "query.as_of"),
        (f"{BOOKS}/reports/balance-sheet", {"as_of": "soon"}, 422, "query.as_of"),
        (
            f"{BOOKS}/reports/profit-and-loss",
            {"date_from": "2026-03-31", "date_to": "2026-03-01"},
            422,
            "query.date_to",
        ),
        (f"{BOOKS}/reports/cogs", {"date_from": "yesterday"}, 422, "query.date_from"),
        (f"{BOOKS}/reports/general-ledger", {}, 422, "query.account_code"),
        (f"{BOOKS}/reports/general-ledger", {"account_code": "9999"}, 404, "account_code"),
        (
            f"{BOOKS}/reports/general-ledger",
            {"account_code": "1200", "limit": "0"},
            422,
            "query.limit",
        ),
        (f"{BOOKS}/reports/reconciliation", {"as_of": "2026-13-01"}, 422, "query.as_of"),
        (
            f"{BOOKS}/reports/reconciliation",
            {"as_of": "2026-03-01", "documents_from": "2026-03-02"},
            422,
            "query.documents_from",
        ),
        (f"{STOCK}/valuation", {"as_of": "2026-1-1x"}, 422, "query.as_of"),
        (
            f"{STOCK}/valuation/documents",
            {"date_from": "2026-03-02", "date_to": "2026-03-01"},
            422,
            "query.date_to",
        ),
    ]
    for path, params, status, field in cases:
        response = await api.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == field, (path, params, response.json())


async def test_reconciliation_is_503_when_inventory_does_not_answer(
    portal: tuple[EmbeddedPortal, httpx.AsyncClient],
) -> None:
    embedded, api = portal
    accounting = embedded.runtimes["accounting"].app.state
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    unreachable = httpx.AsyncClient(base_url=f"http://127.0.0.1:{closed}")
    accounting.upstreams = {**embedded.upstreams, "inventory": unreachable}
    try:
        response = await api.get(f"{BOOKS}/reports/reconciliation")
    finally:
        accounting.upstreams = embedded.upstreams
        await unreachable.aclose()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "peer_unavailable"
    # The ledger's own reports do not need inventory.
    assert ok(await api.get(f"{BOOKS}/reports/inventory-valuation"))["total"] == "250.0000"


async def test_every_report_downloads_as_a_workbook(
    portal: tuple[EmbeddedPortal, httpx.AsyncClient],
) -> None:
    _embedded, api = portal
    await wait_until_reconciled(api)
    paths = [
        f"{BOOKS}/trial-balance.xlsx",
        f"{BOOKS}/reports/general-ledger.xlsx?account_code=1200",
        f"{BOOKS}/reports/profit-and-loss.xlsx",
        f"{BOOKS}/reports/balance-sheet.xlsx",
        f"{BOOKS}/reports/cogs.xlsx",
        f"{BOOKS}/reports/inventory-valuation.xlsx",
        f"{BOOKS}/reports/ledger-check.xlsx",
        f"{BOOKS}/reports/reconciliation.xlsx",
        f"{STOCK}/valuation.xlsx",
        f"{STOCK}/valuation/documents.xlsx",
    ]
    for path in paths:
        response = await api.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ), path
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None and sheet.max_row >= 1, path
    trial = load_workbook(io.BytesIO((await api.get(f"{BOOKS}/trial-balance.xlsx")).content)).active
    assert trial is not None
    rows = {row[0]: row for row in trial.iter_rows(values_only=True)}
    assert D(str(rows["1200"][5])) == D("250")
    assert D(str(rows["Total"][3])) == D(str(rows["Total"][4])) == D("250")
