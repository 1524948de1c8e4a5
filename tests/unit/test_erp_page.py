"""The ERP import page (/erp) for an admin of a plant moving off its old ERP: the runs so far,
a preview and an import started with buttons (the import asks first), a run's page with its
records grouped by entity and outcome, held records with their reason, refusals in words, and
the page asking again every 2 s while a run is going. Planners neither see nor open it.

The embedded portal, signed in like a browser, with the sample ERP in a SQLite file read through
the SQLite ODBC driver (tests/unit/test_erp_api.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.embedded import EmbeddedPortal
from services.gateway.ui.erp.pages import PAGE_SIZE
from services.mrp.erp import runs
from services.mrp.erp.api import background_imports
from services.mrp.erp.plan import Step, Verdict
from tests.support.ui import ADMIN_PASSWORD, add_user, signed_in, ui_portal
from tests.unit.test_erp_api import ODBC_DRIVER, sample_erp, sqlite_driver_installed

POLLING = 'hx-trigger="every 2s"'


@pytest.fixture
async def erp_portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    if not sqlite_driver_installed():
        pytest.skip(f"the ODBC driver '{ODBC_DRIVER}' is not installed (libsqliteodbc)")
    async with ui_portal(
        tmp_path / "var",
        demo_data=False,
        erp_odbc=SecretStr(sample_erp(tmp_path)),
        erp_odbc_drivers=[ODBC_DRIVER],
    ) as portal:
        add_user(portal, "erp-page-pilar", ["planner"])
        add_user(portal, "erp-page-elena", ["admin"], language="es")
        yield portal


def run_link(response_location: str) -> int:
    found = re.fullmatch(r"/erp/imports/(\d+)", response_location)
    assert found, response_location
    return int(found.group(1))


async def test_a_preview_then_an_import_from_the_page(erp_portal: EmbeddedPortal) -> None:
    mrp = erp_portal.runtimes["mrp"]
    async with signed_in(erp_portal, "admin", ADMIN_PASSWORD) as admin:
        empty = await admin.get("/erp")
        previewed = await admin.post_form("/erp/imports", {"dry_run": "1"})
        preview_id = run_link(previewed.headers["location"])
        await background_imports(mrp.app).wait()
        preview = await admin.get(f"/erp/imports/{preview_id}")
        # The import, as htmx sends it from the button (after its confirmation).
        await admin.get("/erp")
        imported = await admin.client.post(
            "/erp/imports",
            data={"dry_run": "0", "csrf_token": admin.csrf_token},
            headers={"HX-Request": "true"},
        )
        import_id = run_link(imported.headers["hx-redirect"])
        await background_imports(mrp.app).wait()
        await erp_portal.wait_idle()
        applied = await admin.get(f"/erp/imports/{import_id}")
        listed = await admin.get("/erp")

    assert empty.status_code == 200
    assert "No import has run yet." in empty.text
    assert 'href="/erp"' in empty.text  # the admin menu's entry
    assert "Preview (dry run)" in empty.text and "Import now" in empty.text
    assert 'hx-confirm="Import from the ERP now?' in empty.text
    assert '<input type="hidden" name="dry_run" value="0">' in empty.text

    assert previewed.status_code == 303
    assert preview.status_code == 200
    assert POLLING not in preview.text  # finished: nothing more to ask for
    assert "Preview (dry run): nothing was changed" in preview.text
    assert '<h2 id="erp-items">Items</h2>' in preview.text
    assert "To create (5)" in preview.text
    assert '<th scope="row">LAMP-1</th>' in preview.text
    assert '<th scope="row">S1001</th>' in preview.text

    assert imported.status_code == 200
    assert applied.status_code == 200
    assert "Import: applied through the services" in applied.text
    assert "Created (5)" in applied.text
    assert re.search(r"<td>SO-\d{4}-\d{5}</td>", applied.text), "the portal's number of S1001"
    assert "Failed" not in applied.text

    assert listed.text.count('<a href="/erp/imports/') == 2
    assert f"Import {import_id}" in listed.text and f"Import {preview_id}" in listed.text
    assert "Items: 5 created" in listed.text
    assert "Items: 5 to create" in listed.text
    assert POLLING not in listed.text


async def test_a_running_import_is_asked_for_again_until_it_ends_and_shows_held_and_refused(
    erp_portal: EmbeddedPortal,
) -> None:
    mrp = erp_portal.runtimes["mrp"]
    # A run going on (started from the command line, say), then ending with a record held back
    # and one refused.
    run_id = runs.start_run(mrp.uow, dry_run=False, requested_by="luis")
    async with signed_in(erp_portal, "admin", ADMIN_PASSWORD) as admin:
        going = await admin.get(f"/erp/imports/{run_id}")
        going_list = await admin.get("/erp")
        second = await admin.post_form("/erp/imports", {"dry_run": "1"})
        held = Step("stock", "RESIN-GRY@RAW", Verdict.HELD, ("no cost known for a new item",))
        refused = Step(
            "items",
            "LAMP-1",
            Verdict.CHANGE,
            ("name: Lamp → Desk lamp",),
            failure="inventory PATCH 422: name must be at most 80 characters (name)",
        )
        created = Step("items", "BRKT-100", Verdict.CREATE, ("Bracket",), done=True)
        runs.finish_run(
            mrp.uow,
            run_id,
            status="failed",
            summary={
                "driver": ODBC_DRIVER,
                "entities": {
                    "items": {"failed": 1, "create": 1, "unchanged": 3},
                    "stock": {"held": 1},
                },
            },
            error="1 record(s) refused",
            steps=[created, refused, held],
        )
        fragment = await admin.get(f"/erp/imports/{run_id}", headers={"HX-Request": "true"})
        ended_list = await admin.get("/erp", headers={"HX-Request": "true"})

    assert going.status_code == 200
    assert f'hx-get="/erp/imports/{run_id}" {POLLING}' in going.text
    assert "The import is running" in going.text
    assert POLLING in going_list.text
    # One at a time: the page says which run is in the way and links to it.
    assert second.status_code == 409
    assert 'role="alert"' in second.text
    assert f"Import {run_id} (by luis" in second.text
    assert f'<a href="/erp/imports/{run_id}">See import {run_id}</a>' in second.text

    assert "<html" not in fragment.text  # only the run, for htmx to swap in
    assert POLLING not in fragment.text
    assert "1 record(s) were refused by the services" in fragment.text
    assert "Why it was held back" in fragment.text
    assert "<strong>no cost known for a new item</strong>" in fragment.text
    assert "The inventory service refused it: name must be at most 80 characters" in fragment.text
    assert "3 unchanged (counted, not listed)." in fragment.text
    # Failures before what went through, items before stock.
    assert fragment.text.index("LAMP-1") < fragment.text.index("BRKT-100")
    assert fragment.text.index("BRKT-100") < fragment.text.index("RESIN-GRY@RAW")
    assert POLLING not in ended_list.text


async def test_the_pages_asking_again_keep_the_focus_and_do_not_keep_the_session_alive(
    erp_portal: EmbeddedPortal,
) -> None:
    """While a run is going the list and the run are swapped in every 2 s. htmx puts the focus
    back only on an element with an id: without one a keyboard user on a link of the list was
    thrown back to the top of the page every 2 s. And a page asking by itself is not someone at
    the screen: it says so (X-Portal-Background), or an unattended admin's session never ends."""
    mrp = erp_portal.runtimes["mrp"]
    for _ in range(PAGE_SIZE + 1):  # a second page, for the pager's links
        runs.finish_run(
            mrp.uow,
            runs.start_run(mrp.uow, dry_run=True, requested_by="luis"),
            status="done",
            summary={"entities": {}},
            error=None,
            steps=[],
        )
    run_id = runs.start_run(mrp.uow, dry_run=False, requested_by="luis")
    async with signed_in(erp_portal, "admin", ADMIN_PASSWORD) as admin:
        listed = await admin.get("/erp", headers={"HX-Request": "true"})
        one = await admin.get(f"/erp/imports/{run_id}", headers={"HX-Request": "true"})

    background = """hx-headers='{"X-Portal-Background": "1"}'"""
    for fragment in (listed.text, one.text):
        assert POLLING in fragment
        assert background in fragment.split(">", 1)[0], fragment[:300]
    focusable = re.findall(
        r"<(?:a|button|input|select|textarea)\b[^>]*>|<[^>]*tabindex=[^>]*>", listed.text
    )
    assert len(focusable) > PAGE_SIZE, focusable
    ids = [re.search(r'\bid="([^"]+)"', tag) for tag in focusable]
    assert all(ids), [tag for tag, found in zip(focusable, ids, strict=True) if not found]
    assert len({found.group(1) for found in ids if found}) == len(ids)


async def test_a_planner_has_no_erp_page_and_a_spanish_admin_reads_it_in_spanish(
    erp_portal: EmbeddedPortal,
) -> None:
    async with signed_in(erp_portal, "erp-page-pilar") as planner:
        home = await planner.get("/")
        refused = await planner.get("/erp")
        started = await planner.post_form("/erp/imports", {"dry_run": "1"})
    async with signed_in(erp_portal, "erp-page-elena") as elena:
        page = await elena.get("/erp")

    assert 'href="/erp"' not in home.text
    assert refused.status_code == 403
    assert started.status_code == 403
    assert runs.recent_runs(erp_portal.runtimes["mrp"].uow) == []
    assert page.status_code == 200
    assert "Importación del ERP" in page.text
    assert "Vista previa (simulación)" in page.text
    assert "Importar ahora" in page.text
    assert "Todavía no se ha hecho ninguna importación." in page.text


async def test_without_the_erps_connection_string_the_page_says_what_is_missing(
    tmp_path: Path,
) -> None:
    async with (
        ui_portal(tmp_path, demo_data=False) as portal,
        signed_in(portal, "admin", ADMIN_PASSWORD) as admin,
    ):
        answer = await admin.post_form("/erp/imports", {"dry_run": "1"})
        swapped = await admin.client.post(
            "/erp/imports",
            data={"dry_run": "0", "csrf_token": admin.csrf_token},
            headers={"HX-Request": "true"},
        )

    assert answer.status_code == 409
    assert 'class="alert error" role="alert"' in answer.text
    assert "PORTAL_ERP_ODBC" in answer.text and "not set up" in answer.text
    assert swapped.status_code == 200
    assert swapped.text.lstrip().startswith("<section")
    assert 'id="erp-start"' in swapped.text and "PORTAL_ERP_ODBC" in swapped.text
    # The button pressed is found again by its id: htmx gives it the focus back after the swap.
    assert 'id="erp-import"' in swapped.text and 'id="erp-preview"' in swapped.text
