"""The scheduling grid's page (gateway ui/schedule) without a browser: filters the mrp service
refuses are marked on their fields (aria-invalid, described by the message beside the field) as
every form does, the page reads no lines with them, and the grid of filters taken listens to
the live stream's `schedule` topic. (The grid itself runs in Chromium: tests/browser.)"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.embedded import EmbeddedPortal
from services.gateway.handlers import LISTENERS
from services.gateway.ui import live
from shared.events.envelope import Envelope
from tests.support.ui import add_user, signed_in, ui_portal

FIELD_ERROR = re.compile(r'<p class="field-error" id="e-([a-z_]+)">([^<]*)</p>')
INVALID = re.compile(r'id="f-([a-z_]+)"[^>]*aria-invalid="true" aria-describedby="e-([a-z_]+)"')


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path) as running:
        add_user(running, "paula", ["planner"])
        add_user(running, "pablo", ["planner"], language="es")
        yield running


def marked(html: str) -> dict[str, str]:
    """Field -> the message beside it, for every field marked invalid and described by it."""
    described = {field: by for field, by in INVALID.findall(html)}
    messages = dict(FIELD_ERROR.findall(html))
    assert all(by == field for field, by in described.items()), described
    assert set(described) == set(messages), (described, messages)
    return messages


async def test_refused_filters_are_marked_on_their_fields_and_no_lines_are_read(
    portal: EmbeddedPortal,
) -> None:
    async with signed_in(portal, "paula") as browser:
        backwards = await browser.get(
            "/schedule", params={"due_from": "2026-04-01", "due_to": "2026-03-01", "sku": "W"}
        )
        no_month = await browser.get("/schedule", params={"due_month": "2026-13"})
        long_code = await browser.get("/schedule", params={"customer_code": "C" * 40})
        taken = await browser.get("/schedule", params={"due_from": "2026-03-01"})
        plain = await browser.get("/schedule")
    async with signed_in(portal, "pablo") as spanish:
        en_espanol = await spanish.get(
            "/schedule", params={"due_from": "2026-04-01", "due_to": "2026-03-01"}
        )

    assert backwards.status_code == 422
    assert marked(backwards.text) == {"due_to": "The last day comes before the first day."}
    # What was typed stays in the fields; the grid is told not to read lines, hears no live
    # saves, and there is nothing to export.
    assert 'id="f-due_from" name="due_from" type="date" value="2026-04-01"' in backwards.text
    assert 'data-refused="true"' in backwards.text
    assert "sse:schedule" not in backwards.text and "schedule.xlsx" not in backwards.text
    assert re.search(r'id="schedule-error" role="alert" hidden>', backwards.text)

    assert no_month.status_code == 422
    assert list(marked(no_month.text)) == ["due_month"]
    assert marked(no_month.text)["due_month"]
    assert long_code.status_code == 422
    assert list(marked(long_code.text)) == ["customer_code"]

    for page in (taken, plain):
        assert page.status_code == 200
        assert marked(page.text) == {}
        assert 'hx-trigger="sse:schedule"' in page.text and "data-refused" not in page.text
    assert 'href="/api/mrp/v1/schedule.xlsx?due_from=2026-03-01"' in taken.text

    assert en_espanol.status_code == 422
    assert marked(en_espanol.text) == {"due_to": "El último día es anterior al primero."}


async def test_a_saved_projection_tells_every_open_grid_to_read_the_lines_saved_since() -> None:
    """The gateway hears mrp's ScheduleProjectionChanged on the bus (every replica does) and
    sends `schedule` down each open page's live stream."""
    with live.HUB.subscription() as queue:
        LISTENERS["ScheduleProjectionChanged"](
            Envelope(type="ScheduleProjectionChanged", producer="mrp", key="SO-1/1", payload={})
        )
        await asyncio.sleep(0)
        heard = [queue.get_nowait() for _ in range(queue.qsize())]
    assert heard == ["schedule"]
