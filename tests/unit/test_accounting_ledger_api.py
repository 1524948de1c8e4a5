"""The accountant's side of the ledger API on a migrated SQLite file: manual entries, reversals,
periods, accounts and the accounts posting rules use; bad input is a problem naming the field
and posts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.accounting import posting
from services.accounting.api import router
from services.accounting.models import AccountDayBalance, JournalEntry, JournalLine, messaging
from services.accounting.reports import api as reports_api
from shared.db import Database
from shared.events.catalogue import validate_payload
from shared.events.envelope import Envelope
from shared.uow import UnitOfWork
from shared.web.problems import install_problem_handlers
from tests.unit.test_accounting_service import (
    SECRET,
    FakeRuntime,
    auth,
    count,
    migrated,
    post,
    received,
)


@pytest.fixture
def db(tmp_path: Any) -> Iterator[Database]:
    database = migrated(f"sqlite:///{tmp_path / 'accounting.db'}")
    yield database
    database.dispose()


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(router)
    app.include_router(reports_api.router)
    install_problem_handlers(app)
    app.state.runtime = FakeRuntime(db)
    app.state.token_secret = SECRET
    with TestClient(app) as test_client:
        yield test_client


def manual(**changes: Any) -> dict[str, Any]:
    """Owner's capital paid in: Dr Cash / Cr Owner's equity 5,000.00."""
    body: dict[str, Any] = {
        "entry_date": "2026-03-10",
        "memo": "Capital paid in",
        "lines": [
            {"account_code": "1000", "debit": "5000.00"},
            {"account_code": "3000", "credit": "5000.00", "memo": "owner"},
        ],
    }
    body.update(changes)
    return body


def trial(client: TestClient, as_of: str = "2026-12-31") -> dict[str, str]:
    rows = client.get(f"/api/v1/trial-balance?as_of={as_of}", headers=auth()).json()["rows"]
    return {row["code"]: row["balance"] for row in rows}


def nothing_posted(db: Database) -> bool:
    return count(db, JournalEntry) == 0 and count(db, JournalLine) == 0


# --- manual entries -----------------------------------------------------------------------------


def test_an_accountant_posts_a_balanced_manual_entry_once_per_idempotency_key(
    client: TestClient, db: Database
) -> None:
    headers = {**auth(), "Idempotency-Key": "capital-2026-03"}
    first = client.post("/api/v1/journal-entries", json=manual(), headers=headers)
    again = client.post("/api/v1/journal-entries", json=manual(), headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert first.json() == again.json()
    entry = first.json()
    assert entry["number"] == "JE-2026-00001"
    assert entry["entry_type"] == "manual"
    assert entry["posted_by"] == "ana"
    assert [(ln["account_code"], ln["debit"], ln["credit"]) for ln in entry["lines"]] == [
        ("1000", "5000.0000", "0.0000"),
        ("3000", "0.0000", "5000.0000"),
    ]
    assert count(db, JournalEntry) == 1
    assert count(db, AccountDayBalance) == 2
    balances = trial(client)
    assert (balances["1000"], balances["3000"]) == ("5000.0000", "5000.0000")


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        (
            manual(
                lines=[
                    {"account_code": "1000", "debit": "5000.00"},
                    {"account_code": "3000", "credit": "4999.99"},
                ]
            ),
            "lines",
            422,
        ),
        (
            manual(
                lines=[
                    {"account_code": "1000", "debit": "5", "credit": "5"},
                    {"account_code": "3000", "credit": "0"},
                ]
            ),
            "lines.0.debit",
            422,
        ),
        (
            manual(
                lines=[
                    {"account_code": "9999", "debit": "5"},
                    {"account_code": "3000", "credit": "5"},
                ]
            ),
            "lines.0.account_code",
            422,
        ),
        (
            manual(
                lines=[
                    {"account_code": "1000", "debit": "-5"},
                    {"account_code": "3000", "credit": "-5"},
                ]
            ),
            "lines.0.debit",
            422,
        ),
        (
            manual(
                lines=[
                    {"account_code": "1000", "debit": "0.00001"},
                    {"account_code": "3000", "credit": "0.00001"},
                ]
            ),
            "lines.0.debit",
            422,
        ),
        (manual(lines=[{"account_code": "1000", "debit": "5"}]), "lines", 422),
        (manual(entry_date="2026-02-30"), "entry_date", 422),
        (manual(memo=""), "memo", 422),
    ],
)
def test_a_bad_manual_entry_is_a_problem_naming_the_field_and_posts_nothing(
    client: TestClient, db: Database, body: dict[str, Any], field: str, status: int
) -> None:
    response = client.post("/api/v1/journal-entries", json=body, headers=auth())
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert nothing_posted(db)


def test_an_inactive_account_takes_no_manual_entry(client: TestClient, db: Database) -> None:
    created = client.post(
        "/api/v1/accounts",
        json={"code": "6100", "name": "Rent", "account_type": "expense", "subtype": "overhead"},
        headers=auth(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["normal_side"] == "debit"
    off = client.patch("/api/v1/accounts/6100", json={"active": False}, headers=auth())
    assert off.status_code == 200
    assert off.json()["active"] is False
    body = manual(
        lines=[{"account_code": "6100", "debit": "900"}, {"account_code": "1000", "credit": "900"}]
    )
    refused = client.post("/api/v1/journal-entries", json=body, headers=auth())
    assert refused.status_code == 422
    assert refused.json()["field"] == "lines.0.account_code"
    assert "inactive" in refused.json()["detail"]
    assert nothing_posted(db)


def test_only_accountants_and_admins_post_manual_entries(client: TestClient, db: Database) -> None:
    for role in ("supervisor", "operator", "viewer"):
        response = client.post("/api/v1/journal-entries", json=manual(), headers=auth(role))
        assert response.status_code == 403, role
    assert nothing_posted(db)
    assert client.post("/api/v1/journal-entries", json=manual(), headers=auth("admin")).is_success


# --- periods ------------------------------------------------------------------------------------


def test_a_closed_period_refuses_manual_entries_and_moves_event_postings_to_the_next_open_day(
    client: TestClient, db: Database
) -> None:
    assert client.post("/api/v1/periods/2026-03/close", headers=auth()).status_code == 403
    closed = client.post("/api/v1/periods/2026-03/close", headers=auth("admin"))
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["changed_by"] == "ana"

    refused = client.post("/api/v1/journal-entries", json=manual(), headers=auth())
    assert refused.status_code == 409
    assert refused.json()["field"] == "entry_date"
    assert nothing_posted(db)

    post(db, received())  # received on 4 March, in the closed month
    entry = client.get("/api/v1/journal-entries/JE-2026-00001", headers=auth()).json()
    assert entry["entry_date"] == "2026-04-01"
    assert entry["event_date"] == "2026-03-04"
    assert "closed period 2026-03" in entry["memo"]

    months = client.get("/api/v1/periods?year=2026", headers=auth()).json()
    assert [m["status"] for m in months][:4] == ["open", "open", "closed", "open"]
    assert months[3]["entries"] == 1
    assert months[1]["last_day"] == "2026-02-28"

    reopened = client.post("/api/v1/periods/2026-03/reopen", headers=auth("admin"))
    assert reopened.status_code == 200
    assert client.post("/api/v1/journal-entries", json=manual(), headers=auth()).is_success
    twice = client.post("/api/v1/periods/2026-03/reopen", headers=auth("admin"))
    assert twice.status_code == 409
    bad = client.post("/api/v1/periods/2026-13/close", headers=auth("admin"))
    assert bad.status_code == 422
    assert bad.json()["field"] == "period"


# --- reversals ----------------------------------------------------------------------------------


def test_a_reversal_mirrors_the_entry_links_both_ways_and_happens_once(
    client: TestClient, db: Database
) -> None:
    post(db, received())  # Dr 1200 / Cr 2000 250.00 on 4 March
    reversal = client.post(
        "/api/v1/journal-entries/JE-2026-00001/reverse",
        json={"entry_date": "2026-03-05", "memo": "Receipt keyed twice"},
        headers=auth(),
    )
    assert reversal.status_code == 201, reversal.text
    body = reversal.json()
    assert body["number"] == "JE-2026-00002"
    assert body["reverses_number"] == "JE-2026-00001"
    assert body["entry_type"] == "reversal"
    assert body["document_ref"] == "PO-2026-00001"
    assert [(ln["account_code"], ln["debit"], ln["credit"]) for ln in body["lines"]] == [
        ("1200", "0.0000", "250.0000"),
        ("2000", "250.0000", "0.0000"),
    ]
    original = client.get("/api/v1/journal-entries/JE-2026-00001", headers=auth()).json()
    assert original["reversed_by_number"] == "JE-2026-00002"
    assert trial(client, "2026-03-04")["1200"] == "250.0000"
    assert trial(client, "2026-03-05")["1200"] == "0.0000"

    again = client.post("/api/v1/journal-entries/JE-2026-00001/reverse", headers=auth())
    assert again.status_code == 409
    of_reversal = client.post("/api/v1/journal-entries/JE-2026-00002/reverse", headers=auth())
    assert of_reversal.status_code == 409
    missing = client.post("/api/v1/journal-entries/JE-2026-09999/reverse", headers=auth())
    assert missing.status_code == 404
    assert count(db, JournalEntry) == 2


# --- accounts and posting accounts --------------------------------------------------------------


def test_an_account_in_use_or_with_a_balance_stays_active(client: TestClient, db: Database) -> None:
    in_rule = client.patch("/api/v1/accounts/1200", json={"active": False}, headers=auth())
    assert in_rule.status_code == 409
    assert in_rule.json()["field"] == "active"
    client.post("/api/v1/journal-entries", json=manual(), headers=auth())
    with_balance = client.patch("/api/v1/accounts/3000", json={"active": False}, headers=auth())
    assert with_balance.status_code == 409
    assert "5000" in with_balance.json()["detail"]
    duplicate = client.post(
        "/api/v1/accounts",
        json={"code": "1000", "name": "Cash again", "account_type": "asset"},
        headers=auth(),
    )
    assert duplicate.status_code == 409
    bad_type = client.post(
        "/api/v1/accounts",
        json={"code": "1300", "name": "Prepaid", "account_type": "prepaid"},
        headers=auth(),
    )
    assert bad_type.status_code == 422
    assert bad_type.json()["field"] == "account_type"
    mapped = client.patch(
        "/api/v1/accounts/1200", json={"quickbooks_account_id": "84"}, headers=auth()
    )
    assert mapped.json()["quickbooks_account_id"] == "84"


def test_posting_accounts_are_settings_a_receipt_follows(client: TestClient, db: Database) -> None:
    roles = {
        r["role"]: r["account_code"]
        for r in client.get("/api/v1/posting-accounts", headers=auth()).json()
    }
    assert roles["raw_materials"] == "1200" and len(roles) == 11
    assert roles["opening_balance_equity"] == "3900"
    client.post(
        "/api/v1/accounts",
        json={"code": "1205", "name": "Resin stock", "account_type": "asset"},
        headers=auth(),
    )
    moved = client.put(
        "/api/v1/posting-accounts/raw_materials", json={"account_code": "1205"}, headers=auth()
    )
    assert moved.status_code == 200, moved.text
    post(db, received())
    entry = client.get("/api/v1/journal-entries/JE-2026-00001", headers=auth()).json()
    assert [line["account_code"] for line in entry["lines"]] == ["1205", "2000"]
    unknown = client.put(
        "/api/v1/posting-accounts/raw_materials", json={"account_code": "7777"}, headers=auth()
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "account_code"
    no_role = client.put(
        "/api/v1/posting-accounts/petty", json={"account_code": "1000"}, headers=auth()
    )
    assert no_role.status_code == 404


def test_the_journal_filters_by_account_and_document_type_and_exports(
    client: TestClient, db: Database
) -> None:
    post(db, received())
    client.post("/api/v1/journal-entries", json=manual(), headers=auth())
    by_cash = client.get("/api/v1/journal-entries?account_code=1000", headers=auth()).json()
    assert [e["entry_type"] for e in by_cash["items"]] == ["manual"]
    by_po = client.get("/api/v1/journal-entries?document_type=purchase_order", headers=auth())
    assert [e["number"] for e in by_po.json()["items"]] == ["JE-2026-00001"]
    bad = client.get("/api/v1/journal-entries?entry_type=bonus", headers=auth())
    assert bad.status_code == 422
    export = client.get("/api/v1/journal-entries.xlsx", headers=auth())
    assert export.status_code == 200
    assert export.content[:2] == b"PK"
    types = client.get("/api/v1/entry-types", headers=auth()).json()
    assert {"entry_type": "manual", "label": "Manual entry"} in types


# --- what a careless or hostile request cannot do ----------------------------------------------


@pytest.mark.parametrize("period", ["9999-12", "1999-12", "2026-\u0660\u0663", "2026-13", "26-03"])
def test_a_period_outside_the_books_years_or_not_in_ascii_digits_is_a_422(
    client: TestClient, period: str
) -> None:
    response = client.post(f"/api/v1/periods/{period}/close", headers=auth("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "period"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31"])
def test_a_manual_entry_outside_the_books_years_is_refused(
    client: TestClient, db: Database, day: str
) -> None:
    response = client.post("/api/v1/journal-entries", json=manual(entry_date=day), headers=auth())
    assert response.status_code == 422
    assert response.json()["field"] == "entry_date"
    assert nothing_posted(db)


def test_a_manual_entry_beyond_what_the_ledger_can_hold_is_refused(
    client: TestClient, db: Database
) -> None:
    huge = "90000000000000"
    body = manual(
        lines=[
            {"account_code": "1000", "debit": huge},
            {"account_code": "1000", "debit": huge},
            {"account_code": "3000", "credit": huge},
            {"account_code": "3000", "credit": huge},
        ]
    )
    response = client.post("/api/v1/journal-entries", json=body, headers=auth())
    assert response.status_code == 422
    assert response.json()["field"] == "lines"
    assert nothing_posted(db)


def test_a_reversal_is_not_dated_before_its_entry_nor_posted_to_an_inactive_account(
    client: TestClient, db: Database
) -> None:
    client.post("/api/v1/accounts", json=CASH_BOX, headers=auth())
    first = manual(lines=[{"account_code": "1050", "debit": "20"}, BACK_TO_EQUITY])
    client.post("/api/v1/journal-entries", json=first, headers=auth())  # JE-2026-00001
    undo = manual(
        lines=[
            {"account_code": "1050", "credit": "20"},
            {**BACK_TO_EQUITY, "debit": "20", "credit": "0"},
        ]
    )
    client.post("/api/v1/journal-entries", json=undo, headers=auth())  # 1050 back to zero
    early = client.post(
        "/api/v1/journal-entries/JE-2026-00001/reverse",
        json={"entry_date": "2026-03-09"},
        headers=auth(),
    )
    assert early.status_code == 422
    assert early.json()["field"] == "entry_date"
    off = client.patch("/api/v1/accounts/1050", json={"active": False}, headers=auth())
    assert off.status_code == 200, off.text
    refused = client.post("/api/v1/journal-entries/JE-2026-00001/reverse", headers=auth())
    assert refused.status_code == 422
    assert "1050" in refused.json()["detail"]
    assert count(db, JournalEntry) == 2


def test_a_long_note_is_clipped_to_the_memo_column_not_refused(
    client: TestClient, db: Database
) -> None:
    long_line_memo = "x" * 500
    body = manual(
        lines=[
            {"account_code": "1000", "debit": "1", "memo": long_line_memo},
            {"account_code": "3000", "credit": "1"},
        ]
    )
    assert client.post("/api/v1/journal-entries", json=body, headers=auth()).status_code == 201
    assert client.post("/api/v1/periods/2026-03/close", headers=auth("admin")).is_success
    # A count in the closed March with inventory's longest note: moved, the note kept whole.
    counted = Envelope(
        type="StockAdjusted",
        producer="inventory",
        key="SKU-1",
        payload=validate_payload(
            "StockAdjusted",
            {
                "adjustment_id": "ADJ-2026-00001",
                "sku": "SKU-1",
                "location": "RAW",
                "qty_delta": "-1",
                "value_delta": "-2.5",
                "reason_code": "damaged",
                "reason": "y" * 500,
                "adjusted_at": "2026-03-20T10:00:00Z",
            },
        ),
    )
    with UnitOfWork(db, messaging, "accounting") as uow:
        posting.post_event(uow, counted)
        uow.commit()
    lines = client.get("/api/v1/journal-entries/JE-2026-00001", headers=auth()).json()["lines"]
    assert lines[0]["memo"] == long_line_memo  # the column's size: kept whole
    entry = client.get("/api/v1/journal-entries/JE-2026-00002", headers=auth()).json()
    assert entry["memo"].endswith(
        "[dated 2026-03-20, in closed period 2026-03: posted on 2026-04-01]"
    )
    assert len(entry["memo"]) == 500


CASH_BOX = {"code": "1050", "name": "Petty cash", "account_type": "asset"}
BACK_TO_EQUITY = {"account_code": "3000", "credit": "20"}
