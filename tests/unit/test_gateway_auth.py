"""The gateway's front door: the first admin, signing in and out, one live session per user,
idle sessions, the sign-in rate limit, and the start page.

The gateway runs as a real ServiceRuntime on a migrated SQLite file with the in-process bus;
requests go through httpx's ASGI transport, so cookies and headers are the real ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from services.gateway import domain
from services.gateway.bootstrap import definition
from services.gateway.models import LoginAttempt, User, UserSession
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings, get_settings
from shared.web.problems import PROBLEM_MEDIA_TYPE

ADMIN_PASSWORD = "correct horse battery staple"
SECRET = "gateway-test-secret-" + "x" * 24
OFFICE = ("10.0.0.7", 50000)


# --- helpers, also used by test_gateway_proxy --------------------------------------------------


def start_gateway(tmp_path: Path, settings: Settings | None = None) -> ServiceRuntime:
    """A migrated and seeded gateway on its own SQLite file (the seed reads PORTAL_* itself)."""
    get_settings.cache_clear()
    runtime = ServiceRuntime(
        definition(),
        settings or Settings(_env_file=None),
        InProcessBus(),
        db_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    return runtime


def browser(
    runtime: ServiceRuntime, client: tuple[str, int] = ("127.0.0.1", 40000)
) -> httpx.AsyncClient:
    """A browser of its own (its own cookie jar) talking to the gateway."""
    transport = httpx.ASGITransport(app=runtime.app, client=client)
    return httpx.AsyncClient(transport=transport, base_url="http://portal.test")


async def sign_in(
    client: httpx.AsyncClient, username: str = "admin", password: str = ADMIN_PASSWORD
) -> httpx.Response:
    return await client.post("/api/auth/login", json={"username": username, "password": password})


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


@pytest.fixture
def configured_admin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PORTAL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    yield
    get_settings.cache_clear()


@pytest.fixture
def gateway(tmp_path: Path, configured_admin: None) -> Iterator[ServiceRuntime]:
    runtime = start_gateway(tmp_path)
    yield runtime
    runtime.db.dispose()


@pytest.fixture
async def tablet(gateway: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(gateway) as client:
        yield client


def session_rows(runtime: ServiceRuntime) -> list[UserSession]:
    with runtime.db.session() as session:
        return list(session.scalars(select(UserSession).order_by(UserSession.created_at)))


# --- the first admin ---------------------------------------------------------------------------


async def test_first_start_creates_admin_with_the_configured_password(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.seed()  # a second start changes nothing

    response = await sign_in(tablet)

    assert response.status_code == 200
    assert response.json() == {
        "username": "admin",
        "display_name": "Administrator",
        "roles": ["admin"],
        "language": "en",
    }
    assert ADMIN_PASSWORD not in capsys.readouterr().out
    with gateway.db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


async def test_first_start_without_a_password_prints_a_made_up_one_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PORTAL_ADMIN_PASSWORD", raising=False)
    runtime = start_gateway(tmp_path)
    first_start = capsys.readouterr().out
    runtime.seed()
    second_start = capsys.readouterr().out

    found = re.search(
        r"Production Portal: first start\. Sign in as admin with password: (\S+)", first_start
    )
    assert found is not None, first_start
    box = [line for line in first_start.splitlines() if line.startswith(("+-", "| "))]
    assert len(box) == 5
    assert found.group(0) in box[1]
    assert second_start == ""
    async with browser(runtime) as client:
        assert (await sign_in(client, password=found.group(1))).status_code == 200
    runtime.db.dispose()
    get_settings.cache_clear()


# --- signing in --------------------------------------------------------------------------------


async def test_signing_in_sets_an_http_only_session_cookie_whose_token_is_not_stored(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    response = await sign_in(tablet, username="  Admin ")

    cookie = response.headers["set-cookie"]
    assert cookie.startswith("portal_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    token = tablet.cookies["portal_session"]
    (row,) = session_rows(gateway)
    assert row.id == hashlib.sha256(token.encode()).hexdigest()
    assert row.ip == "127.0.0.1"
    assert (await tablet.get("/api/auth/me")).json()["username"] == "admin"


async def test_the_cookie_is_secure_when_the_portal_is_served_over_https(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    gateway.app.state.settings = gateway.settings.model_copy(update={"secure_cookies": True})

    response = await sign_in(tablet)

    assert "Secure" in response.headers["set-cookie"]


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    tablet: httpx.AsyncClient,
) -> None:
    wrong_password = await sign_in(tablet, password="not it")
    unknown_user = await sign_in(tablet, username="nobody", password="not it")

    for response in (wrong_password, unknown_user):
        body = assert_problem(response, 401)
        assert body["detail"] == "invalid username or password"
        assert "set-cookie" not in response.headers
    assert wrong_password.json()["code"] == unknown_user.json()["code"]


async def test_a_disabled_user_cannot_sign_in(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    with gateway.db.session() as session:
        session.execute(update(User).values(active=False))

    body = assert_problem(await sign_in(tablet), 401)

    assert body["detail"] == "invalid username or password"


# --- one live session per user ------------------------------------------------------------------


async def test_signing_in_on_another_device_ends_the_first_session_and_says_why(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    await sign_in(tablet)
    async with browser(gateway, OFFICE) as desk:
        await sign_in(desk)

        refused = await tablet.get("/api/auth/me")
        still_in = await desk.get("/api/auth/me")

    body = assert_problem(refused, 401)
    assert "signed in on another device" in str(body["detail"])
    assert body["code"] == "session_signed_in_elsewhere"
    assert still_in.status_code == 200
    first, second = session_rows(gateway)
    assert (first.ended_reason, second.ended_reason) == ("signed_in_elsewhere", None)
    assert second.ip == OFFICE[0]


async def test_an_idle_session_ends_and_says_so(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    await sign_in(tablet)
    with gateway.db.session() as session:
        session.execute(update(UserSession).values(expires_at=datetime.now(UTC)))

    body = assert_problem(await tablet.get("/api/auth/me"), 401)

    assert "480 minutes without activity" in str(body["detail"])
    assert session_rows(gateway)[0].ended_reason == "idle"


async def test_using_a_session_restarts_its_idle_clock(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    await sign_in(tablet)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with gateway.db.session() as session:
        session.execute(update(UserSession).values(last_seen_at=an_hour_ago))

    assert (await tablet.get("/api/auth/me")).status_code == 200

    (row,) = session_rows(gateway)
    assert row.last_seen_at > an_hour_ago + timedelta(minutes=59)
    assert row.expires_at - row.last_seen_at == timedelta(minutes=480)


async def test_without_a_session_me_is_refused(tablet: httpx.AsyncClient) -> None:
    body = assert_problem(await tablet.get("/api/auth/me"), 401)

    assert body["detail"] == "You are not signed in."


# --- signing out --------------------------------------------------------------------------------


async def test_signing_out_ends_the_session_and_clears_the_cookie(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    signed_in = await sign_in(tablet)
    token = tablet.cookies["portal_session"]
    forged = await tablet.post("/api/auth/logout")  # no CSRF token: another site's doing?

    response = await tablet.post(
        "/api/auth/logout", headers={"X-CSRF-Token": signed_in.headers["X-CSRF-Token"]}
    )

    assert assert_problem(forged, 403)["code"] == "csrf_failed"
    assert response.status_code == 204
    assert 'portal_session=""' in response.headers["set-cookie"]
    assert "portal_session" not in tablet.cookies
    assert session_rows(gateway)[0].ended_reason == "logout"
    tablet.cookies.set("portal_session", token)
    replayed = await tablet.get("/api/auth/me")
    assert "You signed out" in str(assert_problem(replayed, 401)["detail"])
    again = await tablet.post("/api/auth/logout", json={})  # signing out twice is harmless
    assert again.status_code == 204


# --- the sign-in rate limit ---------------------------------------------------------------------


async def test_five_failures_lock_the_username_for_a_while(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    for _ in range(5):
        assert (await sign_in(tablet, password="guess")).status_code == 401

    locked = await sign_in(tablet)  # even the right password waits

    body = assert_problem(locked, 429)
    assert body["code"] == "login_rate_limited"
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "Try again in 15 minutes" in str(body["detail"])
    assert (await sign_in(tablet, username="maria", password="guess")).status_code == 401
    with gateway.db.session() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 6


async def test_twenty_failures_from_one_address_lock_that_address(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    for number in range(20):
        response = await sign_in(tablet, username=f"user{number}", password="guess")
        assert response.status_code == 401

    assert_problem(await sign_in(tablet), 429)
    async with browser(gateway, OFFICE) as desk:
        assert (await sign_in(desk)).status_code == 200


async def test_signing_in_forgives_the_usernames_earlier_failures(
    tablet: httpx.AsyncClient,
) -> None:
    for _ in range(4):
        await sign_in(tablet, password="guess")
    assert (await sign_in(tablet)).status_code == 200

    for _ in range(4):
        assert (await sign_in(tablet, password="guess")).status_code == 401
    assert (await sign_in(tablet)).status_code == 200


def test_the_lock_lifts_when_the_oldest_counted_failure_ages_out() -> None:
    now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    limit = domain.LoginLimit(failures=3, window=timedelta(minutes=15))
    minutes_ago = [20, 14, 10, 5]
    failures = [now - timedelta(minutes=m) for m in minutes_ago]

    assert domain.login_retry_after(failures[:3], limit, now) is None  # one is too old
    assert domain.login_retry_after(failures, limit, now) == 60  # the 14-minute one frees it
    assert domain.login_retry_after(failures, limit, now + timedelta(minutes=1)) is None


# --- the start page -----------------------------------------------------------------------------


async def test_the_start_page_sends_a_stranger_to_sign_in_then_greets_the_user(
    tablet: httpx.AsyncClient,
) -> None:
    signed_out = await tablet.get("/")
    form = await tablet.get(signed_out.headers["location"])
    await sign_in(tablet)
    signed_in = await tablet.get("/")

    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/sign-in?next=%2F"
    assert '<form method="post" action="/sign-in"' in form.text
    assert '<script src="/static/portal.js" defer></script>' in form.text
    csp = form.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert signed_in.status_code == 200
    assert "Good to see you, Administrator" in signed_in.text
    assert '<meta name="csrf-token" content="' in signed_in.text


async def test_the_sign_in_page_explains_a_session_ended_elsewhere(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient
) -> None:
    await sign_in(tablet)
    async with browser(gateway, OFFICE) as desk:
        await sign_in(desk)

    sent_away = await tablet.get("/")
    page = await tablet.get(sent_away.headers["location"])

    assert "reason=signed_in_elsewhere" in sent_away.headers["location"]
    assert "signed in on another device" in page.text


async def test_the_page_script_is_served_and_nothing_outside_static_is(
    tablet: httpx.AsyncClient,
) -> None:
    script = await tablet.get("/static/portal.js")
    escape = await tablet.get("/static/..%2fapi.py")
    vendor = await tablet.get("/static/vendor/..%2f..%2fpackage.json")

    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "X-CSRF-Token" in script.text
    assert escape.status_code == 404
    assert vendor.status_code == 404


@pytest.mark.parametrize(
    ("origin", "fetch_site", "refused"),
    [
        ("https://evil.example", None, True),
        (None, "cross-site", True),
        (None, "same-site", True),
        ("null", None, True),
        ("http://portal", "same-origin", False),
        (None, None, False),
    ],
)
def test_a_state_changing_request_from_another_site_is_refused(
    origin: str | None, fetch_site: str | None, refused: bool
) -> None:
    from services.gateway.domain import cross_site_reason

    reason = cross_site_reason("POST", "portal", origin, fetch_site)
    assert (reason is not None) is refused
    assert cross_site_reason("GET", "portal", "https://evil.example", "cross-site") is None


async def test_a_sign_in_posted_from_another_site_is_refused(tablet: httpx.AsyncClient) -> None:
    refused = await tablet.post(
        "/api/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "cross_site_request"
    assert "portal_session" not in refused.cookies
