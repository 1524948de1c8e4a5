"""Sessions end when nobody is at the screen, and after a shift at the most: a page refreshing
itself does not keep an unattended tablet signed in, and no session outlives its maximum."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from services.embedded import EmbeddedPortal
from services.gateway.models import User, UserSession
from shared.events.envelope import utc_now
from tests.support.ui import add_user, signed_in, ui_portal

BACKGROUND = {"X-Portal-Background": "1", "HX-Request": "true"}


def sessions_of(portal: EmbeddedPortal, username: str) -> list[UserSession]:
    with portal.gateway.uow() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == username))
        found = list(uow.session.scalars(select(UserSession).where(UserSession.user_id == user_id)))
        uow.session.expunge_all()  # read now, compared after the unit of work has closed
        return found


def age_sessions(
    portal: EmbeddedPortal, username: str, *, seen: timedelta, born: timedelta
) -> None:
    """As if the user's session was opened `born` ago and last touched `seen` ago."""
    now = utc_now()
    with portal.gateway.uow() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == username))
        uow.session.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id)
            .values(last_seen_at=now - seen, created_at=now - born)
        )
        uow.commit()
    portal.gateway.app.state.session_cache.forget_user(username)


async def test_a_page_refreshing_itself_does_not_keep_the_session_alive(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "tina", ["store"])
        async with signed_in(portal, "tina") as tablet:
            age_sessions(portal, "tina", seen=timedelta(minutes=5), born=timedelta(minutes=5))
            (before,) = sessions_of(portal, "tina")
            refreshed = await tablet.get("/ops", headers=BACKGROUND)  # 403 for store: still read
            live_table = await tablet.get("/items", headers=BACKGROUND)
            (after_background,) = sessions_of(portal, "tina")
            touched = await tablet.get("/items")
            (after_click,) = sessions_of(portal, "tina")

    assert refreshed.status_code == 403 and live_table.status_code == 200
    assert after_background.expires_at == before.expires_at
    assert after_background.last_seen_at == before.last_seen_at
    assert touched.status_code == 200
    assert after_click.expires_at > before.expires_at


async def test_no_session_outlives_its_maximum_however_busy(tmp_path: Path) -> None:
    async with ui_portal(tmp_path, session_max_hours=12) as portal:
        add_user(portal, "tina", ["store"], language="es")
        async with signed_in(portal, "tina") as tablet:
            age_sessions(portal, "tina", seen=timedelta(seconds=1), born=timedelta(hours=12))
            sent_away = await tablet.get("/items")
            page = await tablet.get(sent_away.headers["location"])
            api = await tablet.client.get("/api/auth/me")
            (session,) = sessions_of(portal, "tina")

    assert sent_away.status_code == 303
    assert "reason=expired" in sent_away.headers["location"]
    assert "Las sesiones duran como máximo un turno" in page.text
    assert api.status_code == 401
    assert session.ended_reason == "expired"
