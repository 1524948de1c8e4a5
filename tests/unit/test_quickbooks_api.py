"""The QuickBooks feed's API and its worker steps on a migrated SQLite file: subscriptions (and
the bad input they refuse), queueing entries by the journal's cursor, the delivery log with
its attempts, the retry schedule as recorded, replays, and the IIF and CSV exports over HTTP.

Journal entries are posted the way the ledger posts them (`services.accounting.posting.post_draft`);
the worker's steps are called one at a time here, and run for real in
tests/integration/test_webhooks.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from services import registry
from services.accounting.domain import DraftLine, JournalDraft
from services.accounting.models import Account
from services.accounting.posting import post_draft
from services.accounting.quickbooks import service
from services.accounting.quickbooks.domain import DeliveryConfig
from services.accounting.quickbooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from services.accounting.quickbooks.service import Outcome
from shared.auth.tokens import Role, issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web.problems import PROBLEM_MEDIA_TYPE

D = Decimal
SECRET = "quickbooks-feed-test-secret-" + "x" * 30
HOOK = "http://127.0.0.1:9/hook"
# Queue at once, without waiting for entries to settle (one process, nothing in flight).
NOW = DeliveryConfig(settle_seconds=0)


# --- helpers shared with tests/integration/test_webhooks.py --------------------------------------


def accounting_runtime(tmp_path: Path, db_url: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime(
        registry.definition("accounting"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    return runtime


def post_entry(
    runtime: ServiceRuntime,
    day: date,
    amount: str,
    *,
    entry_type: str = "material_receipt",
    memo: str = "",
    debit: str = "1200",
    credit: str = "2000",
) -> str:
    """Post a two-line entry as the ledger does; its number."""
    draft = JournalDraft(
        entry_date=day,
        entry_type=entry_type,
        lines=(
            DraftLine(debit, debit=D(amount)),
            DraftLine(credit, credit=D(amount)),
        ),
        memo=memo,
    )
    with runtime.uow() as uow:
        entry = post_draft(uow, draft)
        uow.commit()
    assert entry is not None
    return entry.number


def client(runtime: ServiceRuntime, *roles: Role, language: str = "en") -> httpx.AsyncClient:
    token = issue_service_token(
        SECRET, user="ana", roles=list(roles or [Role.ACCOUNTANT]), ttl_seconds=600
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://accounting",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": language},
    )


def queue(runtime: ServiceRuntime, config: DeliveryConfig = NOW) -> None:
    with runtime.uow(read_only=True) as uow:
        subscriptions = service.subscriptions_to_queue_for(uow, utc_now(), config)
    for subscription_id in subscriptions:
        with runtime.uow() as uow:
            service.queue_new_entries(uow, subscription_id, utc_now(), config)
            uow.commit()


def count(runtime: ServiceRuntime, model: Any, *where: Any) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def deliveries(runtime: ServiceRuntime) -> list[tuple[int, str, str, int]]:
    """(subscription, entry number, status, attempts) of every delivery, in id order."""
    with runtime.db.session() as session:
        rows = session.execute(
            select(
                WebhookDelivery.subscription_id,
                WebhookDelivery.entry_number,
                WebhookDelivery.status,
                WebhookDelivery.attempts,
            ).order_by(WebhookDelivery.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServiceRuntime]:
    running = accounting_runtime(tmp_path)
    yield running
    running.db.dispose()


@pytest.fixture
async def api(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    async with client(runtime) as accountant:
        yield accountant


async def subscribe(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/webhooks/subscriptions", json={"name": "QuickBooks", "url": HOOK, **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- subscriptions ------------------------------------------------------------------------------


async def test_a_subscription_gets_a_secret_and_starts_after_the_last_entry(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    post_entry(runtime, date(2026, 11, 25), "10")
    post_entry(runtime, date(2026, 11, 26), "20")

    created = await subscribe(api)

    assert created["secret"].startswith("whsec_") and len(created["secret"]) == 50
    assert (created["id"], created["active"], created["entry_types"]) == (1, True, [])
    assert (created["start_after_entry_id"], created["created_by"]) == (2, "ana")
    queue(runtime)
    assert count(runtime, WebhookDelivery) == 0  # the older entries go only by replay
    post_entry(runtime, date(2026, 11, 27), "30")
    queue(runtime)
    assert deliveries(runtime) == [(1, "JE-2026-00003", "pending", 0)]


async def test_only_those_who_manage_webhooks_see_the_secret(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    await subscribe(api, secret=secret, entry_types=["material_receipt", "manual"])

    async with client(runtime, Role.SUPERVISOR) as supervisor:
        listed = (await supervisor.get("/api/v1/webhooks/subscriptions")).json()
        one = (await supervisor.get("/api/v1/webhooks/subscriptions/1")).json()
        refused = await supervisor.post(
            "/api/v1/webhooks/subscriptions", json={"name": "x", "url": HOOK}
        )
    mine = (await api.get("/api/v1/webhooks/subscriptions/1")).json()

    assert [(s["id"], s["secret"], s["entry_types"]) for s in listed] == [
        (1, None, ["material_receipt", "manual"])
    ]
    assert one["secret"] is None
    assert mine["secret"] == secret
    assert refused.status_code == 403
    async with client(runtime, Role.VIEWER) as viewer:
        assert (await viewer.get("/api/v1/webhooks/deliveries")).status_code == 403


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "example.com/hook", "javascript:alert(1)", "https://"]
)
async def test_a_url_that_is_not_http_is_refused_naming_url_and_nothing_is_stored(
    runtime: ServiceRuntime, api: httpx.AsyncClient, url: str
) -> None:
    response = await api.post("/api/v1/webhooks/subscriptions", json={"name": "QB", "url": url})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert response.json()["field"] == "url"
    assert "http:// or https://" in response.json()["detail"]
    assert count(runtime, WebhookSubscription) == 0


async def test_bad_input_is_refused_in_spanish_too(runtime: ServiceRuntime) -> None:
    async with client(runtime, Role.ACCOUNTANT, language="es") as api:
        bad_url = await api.post(
            "/api/v1/webhooks/subscriptions", json={"name": "QB", "url": "ftp://x"}
        )
        bad_secret = await api.post(
            "/api/v1/webhooks/subscriptions", json={"name": "QB", "url": HOOK, "secret": "abc"}
        )
        bad_type = await api.post(
            "/api/v1/webhooks/subscriptions",
            json={"name": "QB", "url": HOOK, "entry_types": ["bonus"]},
        )
        unknown = await api.get("/api/v1/webhooks/subscriptions/7")

    assert bad_url.json()["detail"] == (
        "url: Introduzca una dirección http:// o https://, como https://example.com/hook."
    )
    assert (bad_secret.status_code, bad_secret.json()["field"]) == (422, "secret")
    assert "Un secreto de firma es 'whsec_'" in bad_secret.json()["detail"]
    assert (bad_type.status_code, bad_type.json()["field"]) == (422, "entry_types")
    assert "Tipo de asiento desconocido bonus" in bad_type.json()["detail"]
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "No existe la suscripción de webhook 7."
    assert count(runtime, WebhookSubscription) == 0


async def test_unknown_subscriptions_and_deliveries_are_404(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    today = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
    answers = [
        await api.get("/api/v1/webhooks/subscriptions/5"),
        await api.patch("/api/v1/webhooks/subscriptions/5", json={"active": False}),
        await api.get("/api/v1/webhooks/deliveries/5"),
        await api.post("/api/v1/webhooks/deliveries/5/replay"),
        await api.post("/api/v1/webhooks/replay", json={"subscription_id": 5, **today}),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert [a.json()["field"] for a in answers] == [
        "subscription_id",
        "subscription_id",
        "delivery_id",
        "delivery_id",
        "subscription_id",
    ]


async def test_an_idempotency_key_makes_one_subscription(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    body = {"name": "QB", "url": HOOK}
    key = {"Idempotency-Key": "sub-1"}
    first = await api.post("/api/v1/webhooks/subscriptions", json=body, headers=key)
    again = await api.post("/api/v1/webhooks/subscriptions", json=body, headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(runtime, WebhookSubscription) == 1


# --- queueing -----------------------------------------------------------------------------------


async def test_each_subscription_gets_the_entries_of_its_types_once(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    await subscribe(api, name="Receipts only", entry_types=["material_receipt"])
    post_entry(runtime, date(2026, 11, 26), "10")
    post_entry(runtime, date(2026, 11, 26), "5", entry_type="manual", debit="1000", credit="3000")
    post_entry(runtime, date(2026, 11, 27), "7")

    queue(runtime)
    queue(runtime)

    assert deliveries(runtime) == [
        (1, "JE-2026-00001", "pending", 0),
        (1, "JE-2026-00002", "pending", 0),
        (1, "JE-2026-00003", "pending", 0),
        (2, "JE-2026-00001", "pending", 0),
        (2, "JE-2026-00003", "pending", 0),
    ]
    with runtime.db.session() as session:
        cursors = session.execute(
            select(WebhookSubscription.id, WebhookSubscription.start_after_entry_id)
        ).all()
        ids = set(session.scalars(select(WebhookDelivery.webhook_id)))
    assert sorted(cursors) == [(1, 3), (2, 3)]
    assert len(ids) == 5 and all(i.startswith("msg_") for i in ids)


async def test_the_cursor_waits_for_entries_to_settle_and_nothing_is_queued_twice(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    post_entry(runtime, date(2026, 11, 26), "10")
    post_entry(runtime, date(2026, 11, 26), "11")
    settling = DeliveryConfig(settle_seconds=60)

    queue(runtime, settling)
    queue(runtime, settling)

    with runtime.db.session() as session:
        cursor = session.scalar(select(WebhookSubscription.start_after_entry_id))
    assert cursor == 0  # both entries are younger than a minute
    assert [d[1] for d in deliveries(runtime)] == ["JE-2026-00001", "JE-2026-00002"]


async def test_a_small_queue_batch_takes_several_rounds_and_misses_nothing(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    for n in range(5):
        post_entry(runtime, date(2026, 11, 26), str(n + 1))
    small = DeliveryConfig(settle_seconds=0, queue_batch_size=2)

    rounds = []
    for _ in range(4):
        with runtime.uow() as uow:
            rounds.append(service.queue_new_entries(uow, 1, utc_now(), small))
            uow.commit()

    assert rounds == [True, True, False, False]
    assert [d[1] for d in deliveries(runtime)] == [f"JE-2026-0000{n}" for n in range(1, 6)]


async def test_a_paused_subscription_queues_and_sends_nothing_then_catches_up(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    post_entry(runtime, date(2026, 11, 26), "10")
    queue(runtime)

    paused = await api.patch("/api/v1/webhooks/subscriptions/1", json={"active": False})
    post_entry(runtime, date(2026, 11, 27), "20")
    queue(runtime)
    with runtime.uow() as uow:
        claimed = service.claim_due_deliveries(uow, utc_now(), NOW)
        uow.commit()

    assert paused.status_code == 200
    assert (paused.json()["active"], paused.json()["updated_by"]) == (False, "ana")
    assert paused.json()["pending"] == 1
    assert claimed == []
    assert [d[1] for d in deliveries(runtime)] == ["JE-2026-00001"]
    resumed = await api.patch("/api/v1/webhooks/subscriptions/1", json={"active": True})
    queue(runtime)
    assert resumed.json()["active"] is True
    assert [d[1] for d in deliveries(runtime)] == ["JE-2026-00001", "JE-2026-00002"]


# --- claiming, recording, the log -----------------------------------------------------------------


def claim(runtime: ServiceRuntime, config: DeliveryConfig = NOW) -> list[service.Claim]:
    with runtime.uow() as uow:
        claims = service.claim_due_deliveries(uow, utc_now(), config)
        uow.commit()
    return claims


def record(
    runtime: ServiceRuntime,
    claimed: service.Claim,
    status: int | None,
    config: DeliveryConfig = NOW,
    *,
    text: str | None = None,
    error: str | None = None,
    at: datetime | None = None,
) -> str | None:
    start = at or utc_now()
    outcome = Outcome(start, start + timedelta(milliseconds=25), status, text, error)
    with runtime.uow() as uow:
        result = service.record_attempt(uow, claimed, outcome, config)
        uow.commit()
    return result


async def test_a_claim_carries_the_signed_body_and_hides_the_delivery_until_its_timeout(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    subscription = await subscribe(api)
    with runtime.uow() as uow:
        uow.session.execute(
            update(Account).where(Account.code == "1200").values(quickbooks_account_id="84")
        )
        uow.commit()
    post_entry(runtime, date(2026, 11, 26), "12.5", memo="Receipt of resin")
    queue(runtime)

    claims = claim(runtime)

    assert len(claims) == 1
    claimed = claims[0]
    assert (claimed.attempt_no, claimed.url, claimed.secret) == (1, HOOK, subscription["secret"])
    assert claimed.body.startswith(
        '{"DocNumber":"JE-2026-00001","TxnDate":"2026-11-26","PrivateNote":"Receipt of resin",'
        '"Line":[{"Id":"1","Description":"Receipt of resin","Amount":"12.5000",'
        '"DetailType":"JournalEntryLineDetail","JournalEntryLineDetail":{"PostingType":"Debit",'
        '"AccountRef":{"value":"84","name":"Raw materials inventory"}}},'
    )
    assert claim(runtime) == []  # claimed: not due again for timeout + margin (40 s)
    with runtime.db.session() as session:
        due = session.scalar(select(WebhookDelivery.next_attempt_at))
    assert due is not None
    assert timedelta(seconds=39) < due - utc_now() <= timedelta(seconds=40)


async def test_failures_follow_the_schedule_then_the_delivery_fails(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    post_entry(runtime, date(2026, 11, 26), "10")
    queue(runtime)
    quick = DeliveryConfig(settle_seconds=0, retry_delays=(timedelta(0), timedelta(0)))
    moment = utc_now() - timedelta(seconds=5)  # answered in the past: due again at once

    first = record(runtime, claim(runtime, quick)[0], 500, quick, text="boom", at=moment)
    second = record(runtime, claim(runtime, quick)[0], None, quick, error="refused", at=moment)
    third = record(runtime, claim(runtime, quick)[0], 404, quick, text="nope", at=moment)

    assert (first, second, third) == ("pending", "pending", "failed")
    assert claim(runtime, quick) == []
    detail = (await api.get("/api/v1/webhooks/deliveries/1")).json()
    assert (detail["status"], detail["attempts"], detail["next_attempt_at"]) == ("failed", 3, None)
    assert (detail["last_status_code"], detail["last_response_excerpt"]) == (404, "nope")
    assert [
        (a["attempt_no"], a["status_code"], a["duration_ms"], a["response_excerpt"], a["error"])
        for a in detail["attempt_log"]
    ] == [
        (1, 500, 25, "boom", None),
        (2, None, 25, None, "refused"),
        (3, 404, 25, "nope", None),
    ]


async def test_the_default_schedule_waits_thirty_seconds_then_two_minutes(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    post_entry(runtime, date(2026, 11, 26), "10")
    queue(runtime)
    moment = utc_now()

    record(runtime, claim(runtime)[0], 503, at=moment)
    with runtime.db.session() as session:
        first_wait = session.scalar(select(WebhookDelivery.next_attempt_at))
    with runtime.db.session() as session:
        session.execute(update(WebhookDelivery).values(next_attempt_at=moment))
    record(runtime, claim(runtime)[0], 503, at=moment)
    with runtime.db.session() as session:
        second_wait = session.scalar(select(WebhookDelivery.next_attempt_at))

    finished = moment + timedelta(milliseconds=25)
    assert first_wait == finished + timedelta(seconds=30)
    assert second_wait == finished + timedelta(minutes=2)


async def test_a_2xx_delivers_and_a_long_answer_is_cut_to_500_characters(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    post_entry(runtime, date(2026, 11, 26), "10")
    queue(runtime)

    status = record(runtime, claim(runtime)[0], 204, text="x" * 700)

    detail = (await api.get("/api/v1/webhooks/deliveries/1")).json()
    assert status == "delivered"
    assert detail["status"] == "delivered" and detail["delivered_at"] is not None
    assert len(detail["last_response_excerpt"]) == 500
    assert len(detail["attempt_log"][0]["response_excerpt"]) == 500


async def test_an_answer_for_a_delivery_claimed_again_meanwhile_only_logs_the_attempt(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    post_entry(runtime, date(2026, 11, 26), "10")
    queue(runtime)
    stale = claim(runtime)[0]
    replayed = await api.post("/api/v1/webhooks/deliveries/1/replay")
    fresh = claim(runtime)[0]

    assert record(runtime, stale, 500) is None
    assert record(runtime, fresh, 200) == "delivered"
    assert replayed.json()["status"] == "pending"
    assert (stale.attempt_no, fresh.attempt_no) == (1, 2)
    assert stale.webhook_id == fresh.webhook_id
    assert count(runtime, WebhookAttempt) == 2
    assert deliveries(runtime) == [(1, "JE-2026-00001", "delivered", 2)]


async def test_the_delivery_log_filters_by_subscription_status_and_entry(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    await subscribe(api, name="Second")
    post_entry(runtime, date(2026, 11, 26), "10")
    post_entry(runtime, date(2026, 11, 27), "20")
    queue(runtime)
    claims = claim(runtime)
    record(runtime, next(c for c in claims if c.delivery_id == 1), 200)

    async def numbers(**query: Any) -> tuple[int, list[tuple[int, str, str]]]:
        page = (await api.get("/api/v1/webhooks/deliveries", params=query)).json()
        return page["total"], [
            (d["subscription_id"], d["entry_number"], d["status"]) for d in page["items"]
        ]

    assert await numbers(subscription_id=2) == (
        2,
        [(2, "JE-2026-00002", "pending"), (2, "JE-2026-00001", "pending")],
    )
    assert await numbers(status="delivered") == (1, [(1, "JE-2026-00001", "delivered")])
    unsortable = await api.get("/api/v1/webhooks/deliveries", params={"sort": "url"})
    assert (unsortable.status_code, unsortable.json()["field"]) == (422, "query.sort")
    assert await numbers(entry_number="JE-2026-00002", sort="id") == (
        2,
        [(1, "JE-2026-00002", "pending"), (2, "JE-2026-00002", "pending")],
    )
    assert await numbers(limit=1, offset=1) == (4, [(2, "JE-2026-00001", "pending")])
    bad_status = await api.get("/api/v1/webhooks/deliveries", params={"status": "lost"})
    assert (bad_status.status_code, bad_status.json()["field"]) == (422, "query.status")


# --- replays ------------------------------------------------------------------------------------


async def test_replaying_a_range_queues_the_entries_never_sent_and_requeues_the_others(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    post_entry(runtime, date(2026, 11, 25), "1")
    post_entry(runtime, date(2026, 11, 26), "2")
    post_entry(runtime, date(2026, 11, 26), "3", entry_type="manual", debit="1000", credit="3000")
    post_entry(runtime, date(2026, 11, 27), "4")
    await subscribe(api, entry_types=["material_receipt"])
    span = {"subscription_id": 1, "date_from": "2026-11-26", "date_to": "2026-11-27"}

    first = await api.post("/api/v1/webhooks/replay", json=span)
    sent = [record(runtime, claimed, 200) for claimed in claim(runtime)]
    again = await api.post("/api/v1/webhooks/replay", json=span)

    assert first.status_code == 200
    assert (first.json()["queued"], first.json()["requeued"]) == (2, 0)
    assert sent == ["delivered", "delivered"]
    assert (again.json()["queued"], again.json()["requeued"]) == (0, 2)
    assert deliveries(runtime) == [
        (1, "JE-2026-00002", "pending", 1),
        (1, "JE-2026-00004", "pending", 1),
    ]


async def test_a_backwards_range_is_refused_naming_date_to(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    span: dict[str, str | int] = {
        "subscription_id": 1,
        "date_from": "2026-11-27",
        "date_to": "2026-11-26",
    }

    response = await api.post("/api/v1/webhooks/replay", json=span)
    export = await api.get("/api/v1/exports/journal.csv", params=span)

    assert (response.status_code, response.json()["field"]) == (422, "date_to")
    assert (export.status_code, export.json()["field"]) == (422, "query.date_to")


async def test_replaying_a_failed_delivery_starts_the_schedule_again(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    post_entry(runtime, date(2026, 11, 26), "10")
    queue(runtime)
    once = DeliveryConfig(settle_seconds=0, retry_delays=())
    record(runtime, claim(runtime, once)[0], 500, once)

    replayed = await api.post(
        "/api/v1/webhooks/deliveries/1/replay", headers={"Idempotency-Key": "r-1"}
    )

    assert replayed.status_code == 200
    assert (replayed.json()["status"], replayed.json()["attempts"]) == ("pending", 1)
    with runtime.db.session() as session:
        step = session.scalar(select(WebhookDelivery.backoff_step))
    assert step == 0
    assert claim(runtime)[0].attempt_no == 2


# --- exports ------------------------------------------------------------------------------------


async def test_the_journal_exports_as_iif_and_csv_for_a_date_range(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    post_entry(runtime, date(2026, 11, 25), "99")
    post_entry(runtime, date(2026, 11, 26), "12.5", memo="Resin")
    post_entry(runtime, date(2026, 11, 27), "0.3333", memo="Pigment")
    span = {"date_from": "2026-11-26", "date_to": "2026-11-27"}

    iif = await api.get("/api/v1/exports/journal.iif", params=span)
    csv = await api.get("/api/v1/exports/journal.csv", params={"date_from": "2026-11-27"})

    assert iif.status_code == 200
    assert iif.headers["content-type"].startswith("text/plain")
    assert iif.headers["content-disposition"] == (
        'attachment; filename="journal-2026-11-26-2026-11-27.iif"'
    )
    assert iif.text == (
        "!TRNS\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO\r\n"
        "!SPL\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO\r\n"
        "!ENDTRNS\r\n"
        "TRNS\tGENERAL JOURNAL\t11/26/2026\tRaw materials inventory\t12.50\tJE-2026-00002\t"
        "Resin\r\n"
        "SPL\tGENERAL JOURNAL\t11/26/2026\tAccounts payable\t-12.50\tJE-2026-00002\tResin\r\n"
        "ENDTRNS\r\n"
        "TRNS\tGENERAL JOURNAL\t11/27/2026\tRaw materials inventory\t0.3333\tJE-2026-00003\t"
        "Pigment\r\n"
        "SPL\tGENERAL JOURNAL\t11/27/2026\tAccounts payable\t-0.3333\tJE-2026-00003\tPigment\r\n"
        "ENDTRNS\r\n"
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[1:] == [
        "JE-2026-00003,2026-11-27,material_receipt,,,1,1200,Raw materials inventory,0.3333,,"
        "Pigment,,,,,",
        "JE-2026-00003,2026-11-27,material_receipt,,,2,2000,Accounts payable,,0.3333,Pigment,,,,,",
    ]
    async with client(runtime, Role.OPERATOR) as operator:
        assert (await operator.get("/api/v1/exports/journal.iif")).status_code == 403


async def test_the_worker_looks_for_work_with_reads_before_it_takes_a_write_lock(
    runtime: ServiceRuntime, api: httpx.AsyncClient
) -> None:
    await subscribe(api)
    await subscribe(api, name="Paused", active=False)
    settling = DeliveryConfig(settle_seconds=60)

    def look() -> tuple[list[int], bool]:
        with runtime.uow(read_only=True) as uow:
            return (
                service.subscriptions_to_queue_for(uow, utc_now(), settling),
                service.any_delivery_due(uow, utc_now()),
            )

    idle = look()
    post_entry(runtime, date(2026, 11, 26), "10")
    posted = look()
    queue(runtime, settling)
    queued = look()
    claimed = claim(runtime)
    sending = look()

    assert idle == ([], False)
    assert posted == ([1], False)
    assert queued == ([], True)  # queued, not settled: nothing more to queue for a minute
    assert (len(claimed), sending) == (1, ([], False))
