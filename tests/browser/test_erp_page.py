"""The ERP import page in a real browser, checked with axe-core: the session's portal has no ERP
connection, so Preview says so in words; a run written into mrp's log (as `portal erp import`
on another machine would) is shown while it is going and, with no reload, once it has ended,
with its held and refused records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from services import registry
from services.mrp.erp import runs
from services.mrp.erp.plan import Step, Verdict
from shared.db import Database
from shared.uow import UnitOfWork
from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, assert_accessible, screenshot

ADMIN = "erp-browser-ana"
PASSWORD = "erp-browser-pw-1"


@pytest.fixture
def mrp_log(live_portal: LivePortal) -> Iterator[runs.UowFactory]:
    """Units of work on the live portal's mrp database, where the runs are logged."""
    db = Database(f"sqlite:///{(live_portal.var_dir / 'mrp.db').resolve()}")
    tables = registry.definition("mrp").tables
    yield lambda: UnitOfWork(db, tables, "mrp")
    db.dispose()


def test_the_erp_page_starts_nothing_without_an_erp_and_follows_a_run_to_its_end(
    open_page: Callable[..., Any], live_portal: LivePortal, mrp_log: runs.UowFactory
) -> None:
    live_portal.add_user(ADMIN, PASSWORD, ["admin"])
    page = open_page()
    sign_in(page, ADMIN, PASSWORD)
    page.get_by_role("button", name="Admin").click()
    page.get_by_role("link", name="ERP import").click()
    expect(page.get_by_role("heading", name="ERP import", level=1)).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Preview (dry run)").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("PORTAL_ERP_ODBC")
    expect(alert).to_contain_text("not set up")
    screenshot(page, "erp-not-configured")
    assert_accessible(page)

    run_id = runs.start_run(mrp_log, dry_run=False, requested_by="luis")
    page.goto(f"/erp/imports/{run_id}")
    expect(page.get_by_role("status").filter(has_text="Running")).to_be_visible()
    assert_accessible(page)

    runs.finish_run(
        mrp_log,
        run_id,
        status="failed",
        summary={"entities": {"items": {"failed": 1, "unchanged": 2}, "stock": {"held": 1}}},
        error="1 record(s) refused",
        steps=[
            Step(
                "items",
                "LAMP-1",
                Verdict.CHANGE,
                ("name: Lamp → Desk lamp",),
                failure="inventory PATCH 422: name is too long (name)",
            ),
            Step("stock", "RESIN-GRY@RAW", Verdict.HELD, ("no cost known for a new item",)),
        ],
    )
    # No reload: the page asks again every 2 s and shows the run's end.
    expect(page.get_by_role("alert")).to_contain_text("1 record(s) were refused", timeout=15_000)
    expect(page.get_by_role("row", name="LAMP-1")).to_contain_text(
        "The inventory service refused it: name is too long"
    )
    expect(page.get_by_role("row", name="RESIN-GRY@RAW")).to_contain_text(
        "no cost known for a new item"
    )
    expect(page.get_by_text("2 unchanged (counted, not listed).")).to_be_visible()
    screenshot(page, "erp-run")
    assert_accessible(page)
