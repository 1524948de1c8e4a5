"""A review of the ERP import with fresh eyes: an ERP's bad values are all named (file, row,
column) before anything is applied, whichever files hold them, and a date kept as text is a date
or a bad value, never half read. The ERP is the sample of test_erp_import.py, read through the
real PostgreSQL ODBC driver."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from services.mrp.erp.mapping import SALES_ORDERS, SHIPPED_MAPPINGS, BadValue, convert
from tests.integration.test_erp_import import Plant, erp_database, plant  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_a_date_kept_as_text_is_read_whole_or_refused() -> None:
    due = SALES_ORDERS.column("due_date")
    assert due is not None
    assert convert(due, "2026-12-15") == date(2026, 12, 15)
    assert convert(due, "2026-12-15 00:00:00") == date(2026, 12, 15)
    assert convert(due, "2026-12-15T08:30:00.000") == date(2026, 12, 15)
    assert convert(due, " 2026-12-15 ") == date(2026, 12, 15)  # CHAR padding
    for typed in ("2026-12-15 tbc", "2026-12-15?", "2026-12-15 25:00:00"):
        with pytest.raises(BadValue, match="is not a date"):
            convert(due, typed)


async def test_bad_values_in_two_files_are_all_named_and_nothing_is_applied(
    plant: Plant,  # noqa: F811
    tmp_path: Path,
) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(SHIPPED_MAPPINGS, mappings)
    items = mappings / "items.sql"
    items.write_text(
        items.read_text().replace(
            "ROUND(COALESCE(REORDER_PT, 0), 4) AS reorder_point", "'lots' AS reorder_point"
        )
    )
    orders = mappings / "sales_orders.sql"
    orders.write_text(
        orders.read_text().replace("L.PROMISE_DT AS due_date", "'2026-12-15 tbc' AS due_date")
    )
    before = plant.row_counts()

    result, printed = await plant.erp_import(dry_run=False, mappings=mappings)

    assert not result.ok
    assert "items.sql, row 1, column reorder_point: 'lots' is not a number" in printed
    assert "sales_orders.sql, row 1, column due_date: '2026-12-15 tbc' is not a date" in printed
    after = plant.row_counts()
    assert after["mrp"].pop("erp_import_runs") == before["mrp"].pop("erp_import_runs") + 1
    assert after == before
