"""Accounting on a real database: receipts posted through the handler, gapless numbering, the
redelivery guard, the trial balance, the read API, and the append-only journal.

Runs on a migrated SQLite file; the same story is told again on PostgreSQL (a fresh database,
dropped afterwards) where the deferred balance trigger exists. Without a reachable PostgreSQL
those tests skip, or fail when PORTAL_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.accounting import handlers, posting, service
from services.accounting.api import router
from services.accounting.bootstrap import definition
from services.accounting.models import JournalEntry, JournalLine, messaging
from services.accounting.reports import api as reports_api
from services.accounting.reports import service as reports
from services.accounting.service import JournalFilters
from shared.auth.tokens import issue_service_token
from shared.db import Database
from shared.events.catalogue import (
    ItemUpserted,
    JournalPosted,
    validate_payload,
)
from shared.events.envelope import Envelope
from shared.messaging.inbox import InboxConsumer
from shared.migrations import upgrade
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.pagination import PageParams
from shared.web.problems import InvalidInput, NotFound, install_problem_handlers

D = Decimal
PG_URL = os.environ.get(
    "PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "test-secret-for-accounting-" + "x" * 16
# The receipts' item, as inventory announced it: bought, so its stock is raw material (1200).
BOUGHT_ITEM = ItemUpserted(sku="SKU-1", name="Resin", uom="kg", item_type="raw", make_or_buy="buy")


# --- helpers ------------------------------------------------------------------------------------


def new_uow(db: Database) -> UnitOfWork:
    return UnitOfWork(db, messaging, "accounting")


def received(**changes: Any) -> Envelope:
    """A MaterialReceived envelope as purchasing publishes it."""
    fields: dict[str, Any] = {
        "po_number": "PO-2026-00001",
        "line_no": 2,
        "receipt_id": "RCV-1",
        "sku": "SKU-1",
        "qty": "100",
        "unit_cost": "2.5",
        "value": "250",
        "to_status": "approved",
        "vendor_code": "V-ACME",
        "received_at": "2026-03-04T10:00:00Z",
    }
    fields.update(changes)
    return Envelope(
        type="MaterialReceived",
        producer="purchasing",
        key=fields["po_number"],
        payload=validate_payload("MaterialReceived", fields),
    )


def post(db: Database, envelope: Envelope) -> None:
    with new_uow(db) as uow:
        handlers.on_value_moved(envelope, uow)
        uow.commit()


def entry_numbers(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(JournalEntry.number).order_by(JournalEntry.id)))


def count(db: Database, model: type[Any]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def migrated(url: str) -> Database:
    upgrade(definition(), url)
    db = Database(url)
    with new_uow(db) as uow:
        service.seed_chart_of_accounts(uow, Settings())
        posting.remember_item(uow, BOUGHT_ITEM, 1)
        uow.commit()
    return db


@pytest.fixture
def db(tmp_path: Any) -> Iterator[Database]:
    database = migrated(f"sqlite:///{tmp_path / 'accounting.db'}")
    yield database
    database.dispose()


# --- seeding ------------------------------------------------------------------------------------


def test_seeding_the_chart_twice_leaves_one_chart(db: Database) -> None:
    with new_uow(db) as uow:
        service.seed_chart_of_accounts(uow, Settings())
        uow.commit()
    with new_uow(db) as uow:
        accounts = service.list_accounts(uow)
    assert len(accounts) == 13  # the design's twelve and 3900 Opening balance equity
    assert (accounts[2].code, accounts[2].name, accounts[2].account_type) == (
        "1200",
        "Raw materials inventory",
        "asset",
    )


# --- posting a receipt --------------------------------------------------------------------------


def test_a_receipt_posts_raw_materials_against_payables_with_its_dimensions(
    db: Database,
) -> None:
    envelope = received()
    post(db, envelope)
    with new_uow(db) as uow:
        entry = service.get_journal_entry(uow, "JE-2026-00001")
    assert entry.entry_date == date(2026, 3, 4)
    assert entry.entry_type == "material_receipt"
    assert (entry.document_type, entry.document_ref) == ("purchase_order", "PO-2026-00001")
    assert entry.memo == "Receipt PO-2026-00001 line 2: 100 SKU-1 @ 2.5000"
    assert entry.source_event_id == str(envelope.id)
    assert entry.source_event_type == "MaterialReceived"
    assert entry.total_debit == entry.total_credit == D("250")
    assert entry.created_at.tzinfo is not None
    assert [(ln.line_no, ln.account_code, ln.debit, ln.credit) for ln in entry.lines] == [
        (1, "1200", D("250"), D(0)),
        (2, "2000", D(0), D("250")),
    ]
    assert {(ln.item_sku, ln.purchase_order) for ln in entry.lines} == {("SKU-1", "PO-2026-00001")}


def test_a_posting_publishes_journal_posted_keyed_by_the_entry_number(db: Database) -> None:
    envelope = received()
    post(db, envelope)
    outbox = messaging.outbox
    with db.session() as session:
        rows = session.execute(select(outbox.c.event_type, outbox.c.key, outbox.c.envelope)).all()
    assert [(row.event_type, row.key) for row in rows] == [("JournalPosted", "JE-2026-00001")]
    published = Envelope.model_validate_json(rows[0].envelope)
    assert published.causation_id is None  # the handler ran outside the inbox here
    payload = JournalPosted.model_validate(published.payload)
    assert payload.source_event_id == envelope.id
    assert payload.document_ref == "PO-2026-00001"
    assert [(ln.account_code, ln.debit, ln.credit) for ln in payload.lines] == [
        ("1200", D("250"), D(0)),
        ("2000", D(0), D("250")),
    ]
    assert payload.lines[0].dimensions == {
        "item_sku": "SKU-1",
        "location": "RAW",
        "purchase_order": "PO-2026-00001",
    }


def test_entries_are_numbered_per_year_without_gaps(db: Database) -> None:
    post(db, received(receipt_id="R1"))
    post(db, received(receipt_id="R2", received_at="2026-12-31T23:59:00Z"))
    post(db, received(receipt_id="R3", received_at="2027-01-01T00:00:00Z"))
    post(db, received(receipt_id="R4"))
    assert entry_numbers(db) == ["JE-2026-00001", "JE-2026-00002", "JE-2027-00001", "JE-2026-00003"]


def test_a_rolled_back_posting_gives_its_number_back(db: Database) -> None:
    post(db, received(receipt_id="R1"))
    with new_uow(db) as uow:
        handlers.on_value_moved(received(receipt_id="R2"), uow)
        uow.rollback()
    post(db, received(receipt_id="R3"))
    assert entry_numbers(db) == ["JE-2026-00001", "JE-2026-00002"]


def test_a_redelivered_event_posts_nothing(db: Database) -> None:
    envelope = received()
    post(db, envelope)
    post(db, envelope)
    assert count(db, JournalEntry) == 1
    assert count(db, JournalLine) == 2
    assert entry_numbers(db) == ["JE-2026-00001"]


def test_the_inbox_applies_an_envelope_delivered_twice_once(db: Database) -> None:
    consumer = InboxConsumer("accounting", handlers.HANDLERS, lambda: new_uow(db))
    first, second = received(receipt_id="R1"), received(receipt_id="R2")
    assert consumer.apply_batch([first, first, second]) == []
    assert consumer.apply_batch([second]) == []
    assert entry_numbers(db) == ["JE-2026-00001", "JE-2026-00002"]


def test_a_replay_the_inbox_missed_posts_nothing_and_gives_its_number_back(db: Database) -> None:
    envelope = received()
    post(db, envelope)
    # As if the inbox row were lost: the handler runs again, and the unique source_event_id
    # (ON CONFLICT DO NOTHING) decides: nothing posted, nothing raised, no event, no gap.
    with new_uow(db) as uow:
        assert posting.post_event(uow, envelope) is None
        assert uow.pending_events == []
        uow.commit()
    post(db, received(receipt_id="R2"))
    assert entry_numbers(db) == ["JE-2026-00001", "JE-2026-00002"]
    assert count(db, JournalLine) == 4


def test_a_receipt_of_no_value_posts_nothing(db: Database) -> None:
    post(db, received(unit_cost="0", value="0"))
    assert count(db, JournalEntry) == 0


# --- reading ------------------------------------------------------------------------------------


def test_the_trial_balance_balances_and_respects_its_date(db: Database) -> None:
    post(db, received(receipt_id="R1", value="250"))
    post(db, received(receipt_id="R2", value="99.9999", received_at="2026-03-10T08:00:00Z"))
    with new_uow(db) as uow:
        march_5 = reports.trial_balance(uow, date(2026, 3, 5))
        march_31 = reports.trial_balance(uow, date(2026, 3, 31))
        before = reports.trial_balance(uow, date(2026, 1, 1))
    rows = {row.code: row for row in march_31.rows}
    assert rows["1200"].balance == rows["2000"].balance == D("349.9999")
    assert rows["2000"].total_credit == D("349.9999")
    assert march_31.total_debit == march_31.total_credit == D("349.9999")
    assert march_31.balanced
    assert march_5.total_debit == D("250")
    assert before.total_debit == before.total_credit == D(0)
    assert before.balanced
    assert len(march_31.rows) == 13


def test_journal_entries_list_filters_and_pages(db: Database) -> None:
    post(db, received(receipt_id="R1"))
    post(db, received(receipt_id="R2", po_number="PO-2026-00002"))
    post(db, received(receipt_id="R3", received_at="2026-04-01T08:00:00Z"))
    with new_uow(db) as uow:
        everything = service.list_journal_entries(
            uow, PageParams(limit=2, offset=0), JournalFilters()
        )
        po_2 = service.list_journal_entries(
            uow, PageParams(), JournalFilters(document_ref="PO-2026-00002")
        )
        april = service.list_journal_entries(
            uow, PageParams(), JournalFilters(date_from=date(2026, 4, 1))
        )
        march = service.list_journal_entries(
            uow, PageParams(), JournalFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
        )
        none = service.list_journal_entries(uow, PageParams(), JournalFilters(entry_type="manual"))
    assert everything.total == 3
    assert [e.number for e in everything.items] == ["JE-2026-00003", "JE-2026-00002"]
    assert [e.number for e in po_2.items] == ["JE-2026-00002"]
    assert [e.number for e in april.items] == ["JE-2026-00003"]
    assert march.total == 2
    assert none.total == 0


def test_a_reversed_date_range_and_an_unknown_entry_are_refused(db: Database) -> None:
    with new_uow(db) as uow:
        with pytest.raises(InvalidInput) as bad_range:
            JournalFilters(date_from=date(2026, 4, 1), date_to=date(2026, 3, 1))
        with pytest.raises(NotFound):
            service.get_journal_entry(uow, "JE-2026-99999")
    assert bad_range.value.field == "date_from"


class FakeRuntime(NamedTuple):
    db: Database
    settings: Settings = Settings()

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return new_uow(self.db)


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


def auth(role: str = "accountant") -> dict[str, str]:
    token = issue_service_token(SECRET, user="ana", roles=[role], ttl_seconds=60)
    return {"Authorization": f"Bearer {token}"}


def test_the_api_needs_a_service_token(client: TestClient) -> None:
    for path in ("/api/v1/journal-entries", "/api/v1/accounts", "/api/v1/trial-balance"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"


def test_the_books_are_read_by_accountants_and_supervisors_not_the_floor(
    client: TestClient, db: Database
) -> None:
    post(db, received())
    for role in ("operator", "viewer", "buyer"):
        refused = client.get("/api/v1/journal-entries", headers=auth(role))
        assert refused.status_code == 403, role
    for role in ("accountant", "supervisor", "admin"):
        assert client.get("/api/v1/trial-balance", headers=auth(role)).status_code == 200, role


def test_the_journal_the_chart_and_the_trial_balance_read_back(
    client: TestClient, db: Database
) -> None:
    post(db, received())
    listed = client.get("/api/v1/journal-entries?entry_type=material_receipt", headers=auth())
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert listed.json()["items"][0]["total_debit"] == "250.0000"
    entry = client.get("/api/v1/journal-entries/JE-2026-00001", headers=auth("supervisor"))
    assert [line["account_code"] for line in entry.json()["lines"]] == ["1200", "2000"]
    accounts = client.get("/api/v1/accounts", headers=auth("accountant"))
    assert len(accounts.json()) == 13
    today = client.get("/api/v1/trial-balance", headers=auth())
    assert today.json()["balanced"] is True
    dated = client.get("/api/v1/trial-balance?as_of=2026-03-04", headers=auth())
    assert dated.json()["as_of"] == "2026-03-04"
    assert dated.json()["total_debit"] == "250.0000"


def test_the_api_answers_bad_input_with_a_problem_naming_the_field(client: TestClient) -> None:
    bad_date = client.get("/api/v1/trial-balance?as_of=31-12-2026", headers=auth())
    assert bad_date.status_code == 422
    assert bad_date.json()["field"] == "query.as_of"
    missing = client.get("/api/v1/journal-entries/JE-1999-00001", headers=auth())
    assert missing.status_code == 404
    assert missing.json()["field"] == "number"
    reversed_range = client.get(
        "/api/v1/journal-entries?date_from=2026-04-01&date_to=2026-03-01", headers=auth()
    )
    assert reversed_range.status_code == 422
    assert reversed_range.json()["field"] == "date_from"


# --- the database keeps the journal append-only -------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE journal_lines SET memo = 'edited'",
        "DELETE FROM journal_lines",
        "UPDATE journal_entries SET memo = 'edited'",
        "DELETE FROM journal_entries",
    ],
)
def test_the_database_refuses_to_change_or_delete_posted_journal_rows(
    db: Database, statement: str
) -> None:
    post(db, received())
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text(statement))
    assert count(db, JournalLine) == 2
    assert count(db, JournalEntry) == 1


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A freshly created, migrated PostgreSQL database, dropped afterwards."""
    server = make_url(PG_URL)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0]
        reason = f"PostgreSQL at {server.host}:{server.port} is unreachable ({first_line})"
        if os.environ.get("PORTAL_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"acct_test_{uuid.uuid4().hex[:12]}"
    database: Database | None = None
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        database = migrated(server.set(database=name).render_as_string(hide_password=False))
        yield database
    finally:
        if database is not None:
            database.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def insert_entry(conn: Any, number: str, total: str) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO journal_entries (number, entry_date, entry_type, memo, total_debit,"
                " total_credit, created_at) VALUES (:number, '2026-03-04', 'manual', '', :total,"
                " :total, now()) RETURNING id"
            ),
            {"number": number, "total": D(total)},
        ).scalar_one()
    )


def insert_line(conn: Any, entry_id: int, line_no: int, account: str, dr: str, cr: str) -> None:
    conn.execute(
        text(
            "INSERT INTO journal_lines (entry_id, line_no, account_code, debit, credit)"
            " VALUES (:entry_id, :line_no, :account, :dr, :cr)"
        ),
        {"entry_id": entry_id, "line_no": line_no, "account": account, "dr": D(dr), "cr": D(cr)},
    )


@pytest.mark.integration
def test_postgresql_posts_numbers_and_balances_like_sqlite(pg_db: Database) -> None:
    envelope = received(receipt_id="R1")
    post(pg_db, envelope)
    post(pg_db, envelope)
    post(pg_db, received(receipt_id="R2"))
    assert entry_numbers(pg_db) == ["JE-2026-00001", "JE-2026-00002"]
    with new_uow(pg_db) as uow:
        balance = reports.trial_balance(uow, date(2026, 12, 31))
    assert balance.balanced
    assert balance.total_debit == D("500.0000")


@pytest.mark.integration
def test_postgresql_refuses_at_commit_an_entry_whose_lines_do_not_balance(
    pg_db: Database,
) -> None:
    conn = pg_db.engine.connect()
    try:
        trans = conn.begin()
        entry_id = insert_entry(conn, "JE-2026-90001", "10")
        insert_line(conn, entry_id, 1, "1200", "10", "0")
        insert_line(conn, entry_id, 2, "2000", "0", "9")  # accepted until commit: deferred
        with pytest.raises(IntegrityError, match="does not balance"):
            trans.commit()
    finally:
        conn.close()
    assert count(pg_db, JournalEntry) == 0


@pytest.mark.integration
def test_postgresql_refuses_an_entry_without_lines_and_keeps_a_balanced_one(
    pg_db: Database,
) -> None:
    with pytest.raises(IntegrityError, match="does not balance"), pg_db.engine.begin() as conn:
        insert_entry(conn, "JE-2026-90002", "10")
    with pg_db.engine.begin() as conn:
        entry_id = insert_entry(conn, "JE-2026-90003", "10")
        insert_line(conn, entry_id, 1, "1200", "4", "0")
        insert_line(conn, entry_id, 2, "1210", "6", "0")
        insert_line(conn, entry_id, 3, "2000", "0", "10")
    assert count(pg_db, JournalLine) == 3


@pytest.mark.integration
@pytest.mark.parametrize(
    "statement",
    ["UPDATE journal_lines SET debit = debit + 1", "DELETE FROM journal_lines"],
)
def test_postgresql_refuses_to_change_or_delete_journal_lines(
    pg_db: Database, statement: str
) -> None:
    post(pg_db, received())
    with pytest.raises(DBAPIError, match="append-only"), pg_db.engine.begin() as conn:
        conn.execute(text(statement))
    assert count(pg_db, JournalLine) == 2


@pytest.mark.integration
def test_postgresql_concurrent_posters_never_share_or_skip_a_number(pg_db: Database) -> None:
    posters = 8
    start = threading.Barrier(posters)
    errors: list[BaseException] = []

    def poster(n: int) -> None:
        try:
            start.wait()
            post(pg_db, received(receipt_id=f"R{n}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(posters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(entry_numbers(pg_db)) == [f"JE-2026-{n:05d}" for n in range(1, posters + 1)]


@pytest.mark.integration
def test_postgresql_two_replicas_posting_one_event_at_once_post_it_once(pg_db: Database) -> None:
    envelope = received()
    outcome: list[Any] = []

    def second_replica() -> None:
        try:
            with new_uow(pg_db) as uow:
                outcome.append(posting.post_event(uow, envelope))
                uow.commit()
        except BaseException as exc:
            outcome.append(exc)

    with new_uow(pg_db) as first:
        assert posting.post_event(first, envelope) is not None
        second = threading.Thread(target=second_replica)
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive()  # queued behind the first on the year's counter row
        first.commit()
    second.join(timeout=10)
    assert outcome == [None]
    post(pg_db, received(receipt_id="R2"))
    assert entry_numbers(pg_db) == ["JE-2026-00001", "JE-2026-00002"]
    assert count(pg_db, JournalLine) == 4


@pytest.mark.integration
def test_postgresql_a_close_committed_while_a_posting_waits_moves_the_event_on_retry(
    pg_db: Database,
) -> None:
    """The posting read March as open; the close commits before it takes the year's lock. The
    posting must notice under the lock and not land in the closed month; the consumer's retry
    then posts it on 1 April."""
    envelope = received()  # 4 March
    outcome: list[Any] = []
    with new_uow(pg_db) as closer:
        service.set_period_status(closer, "2026-03", "closed")  # holds the year's lock

        def poster() -> None:
            try:
                with new_uow(pg_db) as uow:
                    outcome.append(posting.post_event(uow, envelope))
                    uow.commit()
            except BaseException as exc:
                outcome.append(exc)

        waiting = threading.Thread(target=poster)
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive()  # read March open, now queued on the year's counter row
        closer.commit()
    waiting.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], posting.PeriodClosed)
    assert entry_numbers(pg_db) == []

    post(pg_db, envelope)  # the retry
    with new_uow(pg_db) as uow:
        entry = service.get_journal_entry(uow, "JE-2026-00001")
    assert (entry.entry_date, entry.event_date) == (date(2026, 4, 1), date(2026, 3, 4))
