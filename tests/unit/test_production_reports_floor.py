"""The yield report and the scrap Pareto count what the floor entered through production's
order API (runs, QC decisions, the reprint QC created), not rows written for the test: the
partial-QC story of issue 6 beside a product that needs no QC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.production_floor import KEYRING, WIDGET, production_floor


async def test_the_reports_count_what_the_floor_entered_through_the_order_api(
    tmp_path: Path,
) -> None:
    async with production_floor(tmp_path) as floor, floor.client("supervisor") as api:

        async def post(path: str, body: dict[str, Any], status: int = 200) -> Any:
            answer = await api.post(f"/api/v1/production-orders{path}", json=body)
            assert answer.status_code == status, answer.text
            return answer.json()

        # A line of 10 widgets, printed 12 on printer 1: 10 good, 2 adhesion; QC 8 / 2 surface.
        order = await post(
            "",
            {"sku": WIDGET, "qty_ordered": "10", "qty_to_make": "12", "line_code": "PRINTER-1"},
            201,
        )
        await post(f"/{order['code']}/start", {})
        await post(
            f"/{order['code']}/runs",
            {"qty_good": "10", "qty_bad": "2", "scrap_reason_code": "ADHESION"},
            201,
        )
        inspected = await post(
            f"/{order['code']}/qc",
            {"qty_passed": "8", "qty_failed": "2", "reason_code": "SURFACE"},
            201,
        )
        # Its reprint of 2 prints 2 good, and QC passes both.
        reprint = inspected["reprint_order_code"]
        await post(f"/{reprint}/start", {})
        await post(f"/{reprint}/runs", {"qty_good": "2"}, 201)
        await post(f"/{reprint}/qc", {"qty_passed": "2"}, 201)
        # 50 keyrings on printer 2 (no QC step): 47 good, 3 warped.
        keyrings = await post(
            "", {"sku": KEYRING, "qty_ordered": "50", "line_code": "PRINTER-2"}, 201
        )
        await post(f"/{keyrings['code']}/start", {})
        await post(
            f"/{keyrings['code']}/runs",
            {"qty_good": "47", "qty_bad": "3", "scrap_reason_code": "WARPING"},
            201,
        )

        today = datetime.now(UTC).date()
        around_today = {
            "date_from": (today - timedelta(days=1)).isoformat(),
            "date_to": (today + timedelta(days=1)).isoformat(),
            "tz": "UTC",
        }
        by_product = (
            await api.get("/api/v1/reports/yield", params={**around_today, "group_by": "product"})
        ).json()
        pareto = (await api.get("/api/v1/reports/scrap-pareto", params=around_today)).json()

    rings, widgets = by_product["rows"]  # by SKU
    assert (widgets["group"], widgets["name"]) == (WIDGET, "Widget, white")
    assert [widgets[key] for key in STORY_KEYS] == [
        "14.0000",  # printed: 12 + 2
        "12.0000",  # inspected: 10 + 2
        "10.0000",  # passed: 8 + 2
        "4.0000",  # scrapped: 2 adhesion + 2 surface
        "10.0000",  # ordered on the root order
        "2.0000",  # on its reprint
        1,
        "0.7143",  # FPY 10 / 14
        "0.7143",  # RTY 12/14 x 10/12
        "0.2857",  # scrap rate 4 / 14
        "0.2000",  # reprint rate 2 / 10
    ]
    assert (rings["group"], rings["fpy"], rings["rty"], rings["scrap_rate"]) == (
        KEYRING,
        "0.9400",
        "0.9400",
        "0.0600",
    )
    assert [(row["code"], row["qty"], row["cumulative_percent"]) for row in pareto["rows"]] == [
        ("WARPING", "3.0000", "42.8571"),  # 3 of 7
        ("ADHESION", "2.0000", "71.4286"),  # 5 of 7
        ("SURFACE", "2.0000", "100.0000"),
    ]


STORY_KEYS = (
    "qty_printed",
    "qty_inspected",
    "qty_passed",
    "qty_scrapped",
    "qty_ordered_root",
    "qty_reprinted",
    "reprint_count",
    "fpy",
    "rty",
    "scrap_rate",
    "reprint_rate",
)
