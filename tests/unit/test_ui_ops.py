"""The ops dashboard page: every service's figures, a dead letter with its error, and the
replay button that applies it once; the page refreshes itself on the live stream's tick."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from tests.support.ui import ADMIN_PASSWORD, add_user, signed_in, ui_portal
from tests.unit.test_ops_embedded import GHOST, receipt_of_an_unknown_item


def letters(html: str) -> list[str]:
    return re.findall(r'hx-post="/ops/dead-letters/(\w+/\d+)/replay"', html)


async def test_the_dashboard_shows_a_dead_letter_and_replays_it_once_fixed(
    tmp_path: Path,
) -> None:
    async with (
        ui_portal(tmp_path, handler_backoff_seconds=0) as portal,
        signed_in(portal, "admin", ADMIN_PASSWORD) as admin,
    ):
        calm = await admin.get("/ops")
        await portal.bus.publish([receipt_of_an_unknown_item()])
        troubled = await admin.get("/ops", headers={"HX-Request": "true"})
        # Inventory and accounting (which must know the item's account) both gave up on it.
        dead = letters(troubled.text)
        (letter,) = [found for found in dead if found.startswith("inventory/")]
        service, letter_id = letter.split("/")
        still_failing = await admin.post_form(f"/ops/dead-letters/{service}/{letter_id}/replay", {})
        created = await admin.client.post(
            "/api/inventory/v1/items",
            json={"sku": GHOST, "name": "The item nobody created", "uom": "ea"},
        )
        replayed = await admin.post_form(f"/ops/dead-letters/{service}/{letter_id}/replay", {})
        await portal.wait_idle()  # accounting hears of the item
        (booked,) = [found for found in dead if found.startswith("accounting/")]
        posted = await admin.post_form(f"/ops/dead-letters/{booked}/replay", {})
        stock = await admin.client.get(f"/api/inventory/v1/items/{GHOST}/stock")
        await portal.wait_idle()  # the replays' audit events reach the gateway's log
        audit = await admin.get("/admin/audit?action=ops.dead_letters")

    assert calm.status_code == 200
    assert 'hx-trigger="sse:tick"' in calm.text
    assert re.findall(r'<th scope="row">(\w+)</th>', calm.text) == [
        "inventory",
        "purchasing",
        "production",
        "mrp",
        "downtime",
        "accounting",
        "gateway",
    ]
    assert "No dead letters" in calm.text
    assert service == "inventory"
    assert GHOST in troubled.text
    assert "<html" not in troubled.text  # only the figures, for htmx to swap in
    assert still_failing.status_code == 200
    assert 'class="alert error"' in still_failing.text
    assert created.status_code == 201
    assert len(dead) == 2
    assert "Replayed: the event was applied." in replayed.text
    assert letters(replayed.text) == [booked]
    assert "Replayed: the event was applied." in posted.text
    assert letters(posted.text) == []
    assert Decimal(stock.json()["on_hand"]) == Decimal("7")
    # The refused try and the two replays.
    assert audit.text.count("ops.dead_letters.replay") == 3
    assert "still_failing" in audit.text


async def test_a_supervisor_sees_the_figures_without_the_replay_button(tmp_path: Path) -> None:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as portal:
        add_user(portal, "li", ["supervisor"])
        add_user(portal, "omar", ["operator"])
        await portal.bus.publish([receipt_of_an_unknown_item()])
        async with signed_in(portal, "li") as li:
            page = await li.get("/ops")
            replay = await li.post_form("/ops/dead-letters/inventory/1/replay", {})
        async with signed_in(portal, "omar") as omar:
            refused = await omar.get("/ops")

    assert page.status_code == 200
    assert GHOST in page.text
    assert letters(page.text) == []
    assert replay.status_code == 403
    assert refused.status_code == 403
