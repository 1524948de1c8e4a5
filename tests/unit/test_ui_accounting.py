"""The books' pages: the journal lists, sorts, filters and exports what the accountant sees;
one entry shows its lines; the trial balance balances and exports; other roles are refused."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from services.demo import load_demo_data_once
from tests.support.ui import add_user, signed_in, ui_portal


def entry_numbers(html: str) -> list[str]:
    return re.findall(r'<a href="/journal/(JE-\d{4}-\d{5})">', html)


async def test_the_journal_sorts_filters_and_exports_the_rows_shown(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        await load_demo_data_once(portal)
        await portal.wait_idle()
        add_user(portal, "ana", ["accountant"])
        async with signed_in(portal, "ana") as browser:
            newest_first = entry_numbers((await browser.get("/journal")).text)
            oldest_first = entry_numbers((await browser.get("/journal?sort=number")).text)
            page = await browser.get("/journal?sort=number&limit=2&offset=2")
            export = await browser.get("/journal.xlsx?sort=number")
            filtered = await browser.get("/journal?document_ref=NO-SUCH-DOC")

    assert len(newest_first) == 6  # the demo's receipt lines (accounting posts receipts so far)
    assert oldest_first == sorted(newest_first)
    assert entry_numbers(page.text) == oldest_first[2:4]
    assert "Nothing to show." in filtered.text
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Entry", "Date")
    assert [row[0] for row in rows[1:]] == oldest_first
    assert all(isinstance(row[5], int | float) for row in rows[1:])


async def test_an_entry_shows_its_lines_and_the_trial_balance_balances(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        await load_demo_data_once(portal)
        await portal.wait_idle()
        add_user(portal, "ana", ["accountant"], language="es")
        async with signed_in(portal, "ana") as browser:
            entry = await browser.get("/journal/JE-2026-00001")
            trial = await browser.get("/trial-balance")
            export = await browser.get("/trial-balance.xlsx")
            bad_date = await browser.get("/trial-balance?as_of=yesterday")

    assert entry.status_code == 200
    assert "Asiento JE-2026-00001" in entry.text
    assert ">1200<" in entry.text and ">2000<" in entry.text
    assert "Cuadrada" in trial.text
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "Cuenta"
    total = rows[-1]
    assert Decimal(str(total[3])) == Decimal(str(total[4])) > 0
    assert "Escriba una fecha (AAAA-MM-DD)." in bad_date.text


async def test_the_books_are_refused_to_a_role_without_them(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "omar", ["operator"])
        async with signed_in(portal, "omar") as browser:
            home = await browser.get("/")
            journal = await browser.get("/journal")
            export = await browser.get("/journal.xlsx")

    assert 'href="/journal"' not in home.text
    assert journal.status_code == 403
    assert export.status_code == 403
