"""A review of the MRP pages with fresh eyes: what a planner types that the service refuses
stays in the form, beside the service's reason, and never turns the page into a 500. The plant
is the one of test_mrp_actions.py (line 1 Full Production Ready for 30)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.embedded import EmbeddedPortal
from tests.support.ui import add_user, signed_in, ui_portal
from tests.unit.test_mrp_actions import set_up_plant
from tests.unit.test_mrp_pages import hidden, htmx_post


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as running:
        add_user(running, "rita", ["planner"])
        yield running


async def test_a_weight_typed_as_words_is_refused_beside_it_and_kept(
    portal: EmbeddedPortal,
) -> None:
    async with signed_in(portal, "rita") as browser:
        page = await browser.get("/mrp")
        change = {
            "weight_customer": "lots",
            "weight_value": "1",
            "weight_due": "NaN",
            "weight_penalty": "1.5",
            "horizon_days": "a month",
            "version": hidden(page.text, "version"),
        }
        refused = await browser.post_form("/mrp/priority", change)
        assert refused.status_code == 422, refused.text[:300]
        assert 'id="e-weight_customer"' in refused.text
        assert 'id="e-horizon_days"' in refused.text
        for typed in ("lots", "NaN", "1.5", "a month"):
            assert f'value="{typed}"' in refused.text, typed
        # Nothing was saved.
        assert hidden((await browser.get("/mrp")).text, "version") == "0"


async def test_a_refused_weight_under_a_refused_filter_still_shows_the_page(
    portal: EmbeddedPortal,
) -> None:
    """The settings form carries the dashboard's filters: one the service refuses (a month
    without its year) must not turn the weight's refusal into an error page."""
    async with signed_in(portal, "rita") as browser:
        page = await browser.get("/mrp")
        change = {
            "weight_customer": "lots",
            "weight_value": "1",
            "weight_due": "1",
            "weight_penalty": "1",
            "horizon_days": "30",
            "version": hidden(page.text, "version"),
            "due_month": "5",
        }
        refused = await browser.post_form("/mrp/priority", change)
        assert refused.status_code == 422, refused.text[:300]
        assert 'id="e-weight_customer"' in refused.text
        assert 'value="lots"' in refused.text


async def test_a_refused_job_quantity_stays_as_typed(portal: EmbeddedPortal) -> None:
    so = await set_up_plant(portal)
    async with signed_in(portal, "rita") as browser:
        await browser.post_form("/mrp/run", {})
        page = await browser.get("/mrp")
        key = hidden(page.text, "key", after='id="l1-actions"')
        cell = await htmx_post(browser, f"/mrp/lines/{so}/1/job", {"key": key, "qty": "300"})
        assert 'role="alert"' in cell
        qty = re.search(r'name="qty"[^>]*value="([^"]*)"', cell)
        assert qty and qty.group(1) == "300", cell
        assert "makes at most the 30 production" in cell, cell  # not "3E+1"
        # The planner corrects it and the job is made (the refusal used up no key).
        key = hidden(cell, "key")
        made = await htmx_post(browser, f"/mrp/lines/{so}/1/job", {"key": key, "qty": "20"})
        assert re.search(r"Job PRD-\d{4}-\d{5} created for 20\.", made), made
