"""What the floor pages show, worked out from the downtime service's answers: no I/O here.

The reason tree comes as nested nodes; the tablet gets it trimmed to what it draws (code, name,
colour, the ink that reads on that colour, planned, children). Times are shown on the plant's
wall clock of the line's facility (not the portal's default zone), durations in words, and
every entry of the list as one row of plain values for the template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates as babel_dates

from shared.i18n import Text, _, locale_of

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
NO_COLOUR = "#6b7280"  # a reason without a usable colour, and an unclassified stop
DARK_INK, LIGHT_INK = "#000000", "#ffffff"
# Deeper than this is a tree gone wrong (a cycle a service should have refused): not drawn.
MAX_DEPTH = 12

SOURCE_LABELS: dict[str, Text] = {
    "tablet": _("Tablet"),
    "manual": _("Entered later"),
    "machine": _("Machine"),
}


def colour_of(value: Any) -> str:
    """A reason's colour as '#rrggbb', or the neutral grey when it has none that is one."""
    return value.lower() if isinstance(value, str) and COLOUR.match(value) else NO_COLOUR


def ink_on(colour: str) -> str:
    """Black or white, whichever reads better on `colour` (WCAG relative luminance).

    Past a luminance of 0.179 black gives the higher contrast, below it white; either way the
    contrast is at least 4.58:1, enough for text of any size.
    """
    colour = colour_of(colour)
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return DARK_INK if luminance > 0.179 else LIGHT_INK


def reason_nodes(answer: Any) -> list[dict[str, Any]]:
    """The reason tree for the tablet: each node {code, name, colour, ink, planned, children}.

    The answer is the service's nested tree: a list of root nodes, or an object holding them
    (under `reasons`, `items` or `children`); inactive nodes are left out."""
    if isinstance(answer, Mapping):
        for key in ("reasons", "items", "children", "tree"):
            if isinstance(answer.get(key), list):
                answer = answer[key]
                break
        else:
            return []
    return _nodes(answer, 0) if isinstance(answer, list) else []


def _nodes(raw: Iterable[Any], depth: int) -> list[dict[str, Any]]:
    if depth >= MAX_DEPTH:
        return []
    nodes = []
    for item in raw:
        if not isinstance(item, Mapping) or not item.get("code") or item.get("active") is False:
            continue
        colour = colour_of(item.get("colour", item.get("color")))
        children = item.get("children") or []
        nodes.append(
            {
                "code": str(item["code"]),
                "name": str(item.get("name") or item["code"]),
                "colour": colour,
                "ink": ink_on(colour),
                "planned": bool(item.get("planned")),
                "children": _nodes(children, depth + 1) if isinstance(children, list) else [],
            }
        )
    return nodes


def zone_of(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


def moment(value: Any) -> datetime | None:
    """An aware UTC datetime from the API's ISO text (None for none or nonsense)."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str) and value:
        try:
            found = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def wall_clock(value: Any, zone: ZoneInfo, day: date | None = None) -> str:
    """'14:05' on the plant's clock; 'Thu 00:20' when the local date is not `day`."""
    when = moment(value)
    if when is None:
        return ""
    local = when.astimezone(zone)
    pattern = "HH:mm" if day is None or local.date() == day else "EEE HH:mm"
    return babel_dates.format_datetime(local, pattern, tzinfo=zone, locale=locale_of())


def duration_text(seconds: Any) -> str:
    """'45 s', '12 min', '1 h 05 min'."""
    try:
        total = int(Decimal(str(seconds)))
    except (InvalidOperation, ValueError):
        return ""
    if total < 60:
        return _("{seconds} s", seconds=max(total, 0)).render()
    minutes = total // 60
    if minutes < 60:
        return _("{minutes} min", minutes=minutes).render()
    return _("{hours} h {minutes} min", hours=minutes // 60, minutes=f"{minutes % 60:02d}").render()


def entry_row(entry: Mapping[str, Any], zone: ZoneInfo, day: date | None) -> dict[str, Any]:
    """One stop of the list, as the template shows it."""
    classified = bool(entry.get("reason_code"))
    colour = colour_of(entry.get("reason_colour")) if classified else NO_COLOUR
    source = str(entry.get("source") or "")
    label = SOURCE_LABELS.get(source)
    return {
        "id": entry.get("id"),
        "version": entry.get("version"),
        "classified": classified,
        "reason": entry.get("reason_path") or entry.get("reason_code") or "",
        "colour": colour,
        "planned": bool(entry.get("planned")),
        "shift": entry.get("shift_code") or "",
        "start": wall_clock(entry.get("started_at"), zone, day),
        "end": _end_clock(entry, zone, day),
        "running": bool(entry.get("running")) or not entry.get("ended_at"),
        "duration": duration_text(entry["duration_seconds"])
        if entry.get("duration_seconds") is not None
        else "",
        "source": label.render() if label is not None else source,
        "order": entry.get("order_code") or "",
        "notes": entry.get("notes") or "",
        "by": entry.get("created_by") or "",
    }


def _end_clock(entry: Mapping[str, Any], zone: ZoneInfo, day: date | None) -> str:
    """The end's wall-clock time; with its weekday only when its date is neither the start's
    nor the production day."""
    start, end = moment(entry.get("started_at")), moment(entry.get("ended_at"))
    if end is None:
        return ""
    same_date = start is not None and start.astimezone(zone).date() == end.astimezone(zone).date()
    return wall_clock(end, zone, end.astimezone(zone).date() if same_date else day)


def production_day(view: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(view.get("production_day")))
    except ValueError:
        return None


def line_tiles(
    lines: Iterable[Mapping[str, Any]],
    running: Iterable[Mapping[str, Any]],
    zones: Mapping[str, ZoneInfo],
) -> list[dict[str, Any]]:
    """Each line as a tile of the chooser: running, or down since HH:MM with its reason."""
    down = {str(entry.get("line_code")): entry for entry in running}
    tiles = []
    for line in lines:
        code = str(line.get("code"))
        stop = down.get(code)
        zone = zones.get(str(line.get("facility_code")), ZoneInfo("UTC"))
        tile: dict[str, Any] = {"code": code, "name": line.get("name") or code, "down": False}
        if stop is not None:
            classified = bool(stop.get("reason_code"))
            colour = colour_of(stop.get("reason_colour")) if classified else NO_COLOUR
            tile.update(
                down=True,
                since=wall_clock(stop.get("started_at"), zone),
                reason=stop.get("reason_path") or stop.get("reason_code") or "",
                classified=classified,
                colour=colour,
                ink=ink_on(colour),
            )
        tiles.append(tile)
    return tiles
