"""The MRP pages without a browser, on the embedded portal: a planner runs the MRP from the
dashboard, filters it, reads a component's tooltip, creates a job and suggests purchases from a
row; a viewer sees the same figures with no buttons; a Spanish planner reads it in Spanish; the
priority settings are saved once per version; the shipment forecast by month. The plant is the
one of test_mrp_actions.py (line 1 Full Production Ready, line 2 Partial Production Ready)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.embedded import EmbeddedPortal
from tests.support.ui import Browser, add_user, signed_in, ui_portal
from tests.unit.test_mrp_actions import set_up_plant


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as running:
        add_user(running, "paula", ["planner"])
        add_user(running, "vic", ["viewer"])
        add_user(running, "pepa", ["planner"], language="es")
        yield running


@pytest.fixture
async def so(portal: EmbeddedPortal) -> str:
    return await set_up_plant(portal)


async def htmx_post(browser: Browser, path: str, data: dict[str, str]) -> str:
    assert browser.csrf_token
    answer = await browser.client.post(
        path, data=data, headers={"HX-Request": "true", "X-CSRF-Token": browser.csrf_token}
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def hidden(page: str, name: str, after: str = "") -> str:
    start = page.index(after) if after else 0
    found = re.search(rf'name="{name}" value="([^"]*)"', page[start:])
    assert found, name
    return found.group(1)


async def test_a_planner_runs_filters_reads_a_tooltip_and_acts_on_rows(
    portal: EmbeddedPortal, so: str
) -> None:
    async with signed_in(portal, "paula") as browser:
        first = await browser.get("/mrp")
        assert first.status_code == 200
        assert "The MRP has not been run yet." in first.text
        ran = await browser.post_form("/mrp/run", {"customer": "ACME"})
        assert ran.status_code == 303
        assert ran.headers["location"] == "/mrp?customer=ACME&done=run"

        page = await browser.get(ran.headers["location"])
        html = page.text
        assert "The MRP has run" in html
        assert re.search(r"Last run .* by paula: 2 lines", html)
        assert "Full Production Ready - Create job now" in html
        assert "Partial Production Ready - [PLA, SCREW]" in html
        # Chips: each status with its count, linking to the view of that status alone.
        assert re.search(
            r'href="/mrp\?customer=ACME&amp;status=full_production"[^>]*>'
            r'.*Full Production Ready <strong class="count">1</strong>',
            html,
        )
        # The component tooltip's figures are on the page; its earlier orders come on opening.
        assert f'hx-get="/mrp/taken/{so}/2/SCREW"' in html
        taken = await browser.get(f"/mrp/taken/{so}/2/SCREW")
        assert "By sales order (total 60):" in taken.text
        assert f"{so}/1 · Acme" in taken.text
        # The workbook of the same view.
        assert 'href="/api/mrp/v1/mrp/lines.xlsx?customer=ACME"' in html
        workbook = await browser.get("/api/mrp/v1/mrp/lines.xlsx?customer=ACME")
        assert workbook.status_code == 200 and workbook.content[:2] == b"PK"

        # Create job from the Full Production Ready row; the row's cell says what was done.
        key = hidden(html, "key", after='id="l1-actions"')
        cell = await htmx_post(browser, f"/mrp/lines/{so}/1/job", {"key": key, "qty": "30"})
        code = re.search(r"Job (PRD-\d{4}-\d{5}) created for 30\.", cell)
        assert code, cell
        assert f'href="/production-orders/{code.group(1)}"' in cell
        assert "Create job" not in cell  # not twice from this run
        # The same form posted again (a double click): the same job, replayed.
        again = await htmx_post(browser, f"/mrp/lines/{so}/1/job", {"key": key, "qty": "30"})
        assert code.group(1) in again
        # A refusal is shown in the cell, in words, beside the quantity (no raw field name).
        refused = await htmx_post(browser, f"/mrp/lines/{so}/2/job", {"key": "k2", "qty": "abc"})
        field_error = re.search(
            r'<p class="field-error" id="l2-qty-error" role="alert">([^<]+)', refused
        )
        assert field_error and "qty" not in field_error.group(1), refused
        assert 'aria-invalid="true" aria-describedby="l2-qty-error"' in refused

        # Suggest purchases from the partial row: the draft at FAST, PLA not placed.
        cell = await htmx_post(browser, f"/mrp/lines/{so}/2/purchases", {"key": "purchases-2"})
        assert re.search(
            r"Draft purchase orders: <a href=\"/purchase-orders/PO-\d{4}-\d{5}\">", cell
        )
        assert "PLA: 5 not placed" in cell


async def test_a_job_quantity_no_field_can_hold_is_refused_beside_it_not_dropped(
    portal: EmbeddedPortal, so: str
) -> None:
    """A quantity too long for the field, or with a NUL in it, was read as none and the job was
    created for the line's own quantity; it is refused beside the field and nothing is made."""
    async with signed_in(portal, "paula") as browser:
        await browser.post_form("/mrp/run", {"customer": "ACME"})
        await browser.get("/mrp")
        for key, typed in (("long", "9" * 41), ("nul", "1\x00")):
            refused = await htmx_post(browser, f"/mrp/lines/{so}/1/job", {"key": key, "qty": typed})
            assert "created for" not in refused, typed
            assert re.search(
                r'<p class="field-error" id="l1-qty-error" role="alert">[^<]+', refused
            )
            assert 'aria-invalid="true" aria-describedby="l1-qty-error"' in refused
        # The line can still be made, at what is typed.
        made = await htmx_post(browser, f"/mrp/lines/{so}/1/job", {"key": "ok", "qty": "30"})
        assert re.search(r"Job PRD-\d{4}-\d{5} created for 30\.", made), made


async def test_a_viewer_reads_without_buttons_and_a_spanish_planner_reads_in_spanish(
    portal: EmbeddedPortal, so: str
) -> None:
    async with signed_in(portal, "pepa") as spanish:
        ran = await spanish.post_form("/mrp/run", {})
        page = await spanish.get(ran.headers["location"])
        assert "Ejecutar el MRP ahora" in page.text
        assert "Lista para producción total - Crear trabajo ahora" in page.text
        assert "Crear trabajo" in page.text
        forecast = await spanish.get("/mrp/forecast")
        assert "Pronóstico de envíos" in forecast.text
        # A filter the service refuses is shown beside its field, in her language.
        refused = await spanish.get("/mrp?due_month=5")
        assert refused.status_code == 422
        assert "Elija también el año del mes de entrega." in refused.text
    async with signed_in(portal, "vic") as viewer:
        page = await viewer.get("/mrp")
        assert page.status_code == 200
        assert "Full Production Ready - Create job now" in page.text
        for button in ("run-mrp", "create-job", "suggest-purchases", "save-priority"):
            assert button not in page.text
        assert (await viewer.post_form("/mrp/run", {})).status_code == 403


async def test_priority_settings_are_saved_once_per_version(
    portal: EmbeddedPortal, so: str
) -> None:
    async with signed_in(portal, "paula") as browser:
        page = await browser.get("/mrp")
        version = hidden(page.text, "version")
        assert version == "0"
        change = {
            "use_score": "on",
            "weight_customer": "3",
            "weight_value": "1",
            "weight_due": "2",
            "weight_penalty": "5",
            "horizon_days": "45",
            "version": version,
        }
        saved = await browser.post_form("/mrp/priority", change)
        assert saved.status_code == 303
        assert saved.headers["location"] == "/mrp?done=priority#priority"
        page = await browser.get("/mrp?done=priority")
        assert "The priority settings are saved" in page.text
        assert hidden(page.text, "version") == "1"
        assert "Lines are served by priority score." in page.text
        stale = await browser.post_form("/mrp/priority", {**change, "weight_due": "9"})
        assert stale.status_code == 409
        assert "Another planner changed the settings" in stale.text
        too_far = {**change, "version": "1", "horizon_days": "400"}
        bad = await browser.post_form("/mrp/priority", too_far)
        assert bad.status_code == 422
        assert 'id="e-horizon_days"' in bad.text
        assert 'value="400"' in bad.text  # what was typed stays


async def test_the_forecast_page_shows_months_and_the_chart(
    portal: EmbeddedPortal, so: str
) -> None:
    async with signed_in(portal, "paula") as browser:
        await browser.post_form("/mrp/run", {})
        page = await browser.get("/mrp/forecast")
        assert page.status_code == 200
        # Line 1 (30 at 12) is Full Production Ready with no able line: no date, at risk; line
        # 2 partly makeable: at risk too. Nothing likely yet.
        assert '<td class="col-money at-risk">$600.00</td>' in page.text
        chart = re.search(r'data-chart="([^"]+)"', page.text)
        assert chart
        figures = json.loads(chart.group(1).replace("&#34;", '"').replace("&quot;", '"'))
        assert figures["labels"] == {"likely": "Likely to Ship", "at_risk": "At-Risk/Partial"}
        assert sum(float(v) for v in figures["at_risk"]) == 600
        assert 'href="/api/mrp/v1/mrp/forecast.xlsx"' in page.text
