"""An ERP import run started from the API always ends in the run log: when its records cannot
be kept (the database refuses one of them), the run still ends with its counts and says why
its list is missing, instead of staying "running" for an hour and refusing every other import.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.embedded import EmbeddedPortal
from services.mrp.erp import runs
from tests.unit.test_erp_api import IMPORTS, erp_portal, finished, mrp

__all__ = ["erp_portal"]  # the fixture used here


async def test_a_run_whose_steps_cannot_be_logged_still_ends_and_says_so(
    erp_portal: EmbeddedPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    finish = runs.finish_run

    def refusing_steps(*args: Any, **kwargs: Any) -> None:
        if kwargs.get("steps"):
            raise RuntimeError("the database refused a step")
        finish(*args, **kwargs)

    monkeypatch.setattr(runs, "finish_run", refusing_steps)
    async with mrp(erp_portal, "admin") as admin:
        started = await admin.post(IMPORTS, json={"dry_run": True})
    assert started.status_code == 202, started.text
    run = await finished(erp_portal, started.json()["id"])
    assert run["status"] == "done"
    assert run["counts"]["items"] == {"create": 5}
    assert run["steps"] == []
    assert "could not be logged" in run["error"] and "refused a step" in run["error"]

    async with mrp(erp_portal, "admin") as admin:  # the next run may start
        again = await admin.post(IMPORTS, json={"dry_run": True})
    assert again.status_code == 202, again.text
    await finished(erp_portal, again.json()["id"])
