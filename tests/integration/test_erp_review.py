"""A review of the ERP import with fresh eyes: an ERP's bad values are all named (file, row,
column) before anything is applied, whichever files hold them, and a date kept as text is a date
or a bad value, never half read. The ERP is the sample of test_erp_import.py, read through the
real PostgreSQL ODBC driver."""

from __future__ import annotations

from datetime import date

import pytest

from services.mrp.erp.mapping import SALES_ORDERS, BadValue, convert

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
