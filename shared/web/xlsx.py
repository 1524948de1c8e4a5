"""XLSX exports: every table the UI shows can be downloaded as the rows the user sees (DESIGN §6).

One writer for all of them (openpyxl, write-only mode, so a long export streams rows rather than
building a workbook of cell objects): a bold, frozen header row, numbers as numbers (Decimal kept
exact as far as Excel allows), times in the plant's time zone (Excel has no time zones).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# Excel refuses sheet titles with these, or longer than 31 characters.
_UNSAFE_TITLE = re.compile(r"[\[\]:*?/\\]")


# A sheet of a workbook: its title, header row and rows.
Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def workbook_bytes(
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    timezone: str = "UTC",
) -> bytes:
    return workbook_of_sheets([(title, headers, rows)], timezone=timezone)


def workbook_of_sheets(sheets: Sequence[Sheet], *, timezone: str = "UTC") -> bytes:
    """One workbook of several sheets (a view and its detail), each written the same way."""
    book = Workbook(write_only=True)
    zone = ZoneInfo(timezone)
    bold = Font(bold=True)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(_UNSAFE_TITLE.sub(" ", title)[:31] or "Sheet")
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(sheet, value=str(header))
            cell.font = bold
            header_cells.append(cell)
        sheet.freeze_panes = "A2"
        sheet.append(header_cells)
        for row in rows:
            sheet.append([_text_stays_text(sheet, cell_value(value, zone)) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def cell_value(value: Any, zone: ZoneInfo) -> Any:
    """What Excel can hold: aware times become plant-local wall time; odd values become text."""
    if value is None or isinstance(value, bool | int | float | Decimal | date):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(zone).replace(tzinfo=None)
        return value
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _text_stays_text(sheet: Any, value: Any) -> Any:
    """Text that looks like a formula ('=HYPERLINK(…)', a SKU typed by a user) is written as
    text: openpyxl would store it as a formula that Excel runs when the file is opened. Control
    characters a worksheet cannot hold (a name pasted with a stray \x1b) are left out rather
    than failing the whole export."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def workbook_response(
    filename: str,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    timezone: str = "UTC",
) -> Response:
    """A download of `rows` as `<filename>.xlsx`."""
    return sheets_response(filename, [(title, headers, rows)], timezone=timezone)


def sheets_response(filename: str, sheets: Sequence[Sheet], *, timezone: str = "UTC") -> Response:
    """A download of several sheets as `<filename>.xlsx`."""
    safe = _UNSAFE_NAME.sub("-", filename).strip("-") or "export"
    return Response(
        workbook_of_sheets(sheets, timezone=timezone),
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}.xlsx"',
            "Cache-Control": "no-store",
        },
    )
