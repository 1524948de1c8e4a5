"""Downtime on the floor: pick a line, then record its stops on the tablet with big buttons.

/floor shows every active line of every facility as a tile with its state now: running, or down
since HH:MM with the reason's colour. /floor/lines/{code} is the tablet of one line: "Line down"
starts a running stop with a visible timer and "Back up" ends it; a stop can be entered after the
fact with its start and end; the reason tree is drilled by taps on coloured tiles; the order
running on the line (from the downtime service's read model of production) is shown and goes
with the stop; the production day's entries are listed, machine stops that nobody has classified
yet highlighted with a "Classify" button. Both pages are fetched again when downtime is recorded
anywhere (the live topic "downtime"), so another tablet's or a machine's stops appear by
themselves.

The pages are drawn here from the downtime service's answers, as the signed-in user. The
recording is done in the browser (static/floor.js): the floor's Wi-Fi drops, and what an
operator records then must not be lost. Each tap writes its request, with an Idempotency-Key
drawn at the tap and the tap's own time, into the tablet's localStorage first; the queue is sent
in order through the floor's route (/floor/send/..., below) at once when the connection allows,
else when it returns. A retry carries the same key and body, so the service answers it with the
first answer and records nothing twice (shared/web/commands.py). A "Line down" still waiting is
shown running with its timer; its "Back up" waits behind it and learns the stop's id from the
start's answer.

The queue is sent through /floor/send/<path> rather than straight to the API: each request says
whose it is (X-Portal-Queued-By, the user who tapped), and this route refuses it (409
`queued_by_another_user`, naming who is signed in) unless that user is the one signed in now.
An idempotency key belongs to its sender, so an entry sent as someone else would be recorded
twice, or refused for overlapping its own twin; the tablet keeps it until its user signs in.
The session's CSRF token is checked too (as on every page route), so a request whose page has
not seen the session it carries is refused before anything is forwarded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from services.gateway import proxy
from services.gateway.api import signed_in_user
from services.gateway.domain import normalise_username
from services.gateway.ui import upstream
from services.gateway.ui.floor import view as shown
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _, language_scope
from shared.web.problems import Conflict, InvalidInput, NotFound, PortalError, render_problem

router = APIRouter()

SERVICE = "downtime"
ASSETS = Path(__file__).parent / "static"
ASSET_TYPES = {"floor.js": "text/javascript", "floor.css": "text/css"}
LINE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,31}$")
MAX_ROWS = 1000
QUEUED_BY_HEADER = "X-Portal-Queued-By"
# What the tablet's queue sends, and nothing else: method and the service's path.
SENDABLE = (
    ("POST", re.compile(r"^lines/[A-Za-z0-9][A-Za-z0-9_\-]{0,31}/downtime/start$")),
    ("POST", re.compile(r"^downtimes/[0-9]{1,18}/end$")),
    ("POST", re.compile(r"^downtimes$")),
    ("PATCH", re.compile(r"^downtimes/[0-9]{1,18}$")),
)

# What the tablet's script says, in the user's language (rendered into the page as JSON).
SCRIPT_STRINGS: dict[str, Text] = {
    "waiting": _("Waiting to send"),
    "refused": _("Not saved: {detail}"),
    "signIn": _(
        "Sign in again to send the waiting entries; they are kept on this tablet until then."
    ),
    "offline": _(
        "No connection. What you record is kept on this tablet and sent when the connection "
        "returns."
    ),
    "otherUser": _("Waiting for {user} to sign in on this tablet"),
    "saved": _("Saved."),
    "queued": _("Kept on this tablet; it will be sent when the connection returns."),
    "pickReason": _("Pick a reason first."),
    "lineDown": _("Line down at {time}"),
    "backUp": _("Back up at {time}"),
    "stop": _("Stop from {start} to {end}"),
    "classify": _("Stop of {start} classified as {reason}"),
    "noReason": _("No reason yet: pick one before you tap Back up."),
    "reasonChosen": _("Reason: {reason}"),
    "timesMissing": _("Give the start and the end as HH:MM."),
    "endInFuture": _("The end is later than now: a stop entered after the fact has ended."),
    "span": _("From {start} to {end} ({duration})"),
    "startRefused": _("Its Line down was not saved."),
    "classifying": _("Pick the reason of the stop from {start} ({source})."),
    "alreadyDown": _("The line is already down."),
    "discard": _("Discard"),
    "discardConfirm": _("Discard this entry? It will not be sent.\n\n{entry}"),
    "failing": _("Not sent yet, the server answered: {detail} It is sent again by itself."),
    "refusedListed": _("Not saved: each entry is listed below with the reason."),
    "otherSignedIn": _(
        "{user} is signed in on this tablet now: reload this page to record as {user}. "
        "What {page} recorded here waits for {page} to sign in."
    ),
    "seconds": _("{seconds} s"),
    "minutes": _("{minutes} min"),
    "hours": _("{hours} h {minutes} min"),
}


@router.get("/floor/assets/{name}")
async def asset(name: str) -> Response:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFound(_("There is no floor file {name}.", name=name[:64]))
    return FileResponse(
        ASSETS / name, media_type=media_type, headers={"Cache-Control": "public, max-age=300"}
    )


@router.api_route("/floor/send/{path:path}", methods=["POST", "PATCH"])
async def send(path: str, request: Request) -> Response:
    """One request of the tablet's queue, forwarded to the downtime service as the signed-in
    user only when that user is the one who queued it. Answers are problem+json throughout (the
    script reads them), never a page."""
    try:
        user = await signed_in_user(request)
    except PortalError as problem:
        return render_problem(request, problem)
    with language_scope(user.language.value):
        try:
            queued_by = normalise_username(request.headers.get(QUEUED_BY_HEADER) or "")
            if not queued_by:
                raise InvalidInput(
                    _("Say whose entry this is in {header}.", header=QUEUED_BY_HEADER),
                    field=QUEUED_BY_HEADER,
                )
            if queued_by != normalise_username(user.username):
                raise Conflict(
                    _(
                        "This entry was recorded by {queued_by} and {user} is signed in now: "
                        "it waits for {queued_by} to sign in.",
                        queued_by=queued_by,
                        user=user.username,
                    ),
                    code="queued_by_another_user",
                    extensions={"queued_by": queued_by, "signed_in": user.username},
                )
            if not any(
                request.method == method and shape.match(path) for method, shape in SENDABLE
            ):
                raise NotFound(_("There is nothing at {path}.", path=request.url.path[:200]))
            return await proxy.forward(SERVICE, path, request, user)
        except PortalError as problem:
            return render_problem(request, problem)


@router.get("/floor")
async def floor(request: Request) -> Response:
    """Every active line, by facility, with its state now; for those who record downtime (a
    line's tablet itself may be read by anyone who reads downtime: it shows no buttons then)."""
    page = await page_user(request, Action.DOWNTIME_RECORD)
    facilities = _listed(
        await upstream.get_json(
            request, page.user, SERVICE, "facilities", {"active": "true", "limit": MAX_ROWS}
        )
    )
    lines = _listed(
        await upstream.get_json(
            request, page.user, SERVICE, "lines", {"active": "true", "limit": MAX_ROWS}
        )
    )
    running = _listed(
        await upstream.get_json(
            request, page.user, SERVICE, "downtimes", {"running": "true", "limit": MAX_ROWS}
        )
    )
    facilities = sorted(
        (f for f in facilities if f.get("active", True)), key=lambda f: str(f.get("code"))
    )
    zones = {str(f.get("code")): shown.zone_of(f.get("timezone")) for f in facilities}
    with language_scope(page.language):
        groups = [
            {
                "code": facility.get("code"),
                "name": facility.get("name") or facility.get("code"),
                "tiles": shown.line_tiles(
                    sorted(
                        (
                            line
                            for line in lines
                            if line.get("facility_code") == facility.get("code")
                            and line.get("active", True)
                        ),
                        key=lambda line: str(line.get("code")),
                    ),
                    running,
                    zones,
                ),
            }
            for facility in facilities
        ]
    return render(request, page, "floor/lines.html", {"groups": groups})


@router.get("/floor/lines/{code}")
async def tablet(code: str, request: Request) -> Response:
    """The tablet of one line."""
    page = await page_user(request, Action.DOWNTIME_READ)
    floor_view = await _floor_view(request, page, code)
    tree, tree_error = await _reason_tree(request, page, floor_view)
    with language_scope(page.language):
        strings = {name: text.render() for name, text in SCRIPT_STRINGS.items()}
    return render(
        request,
        page,
        "floor/tablet.html",
        {
            **_live_values(page, floor_view),
            "tree": tree,
            "tree_error": tree_error,
            "strings": strings,
            "full_page": True,
        },
    )


@router.get("/floor/lines/{code}/live")
async def tablet_live(code: str, request: Request) -> Response:
    """The parts of the tablet that change by themselves: the shift and the day, the order on
    the line, the production day's entries, and the state the script reads (the running stop)."""
    page = await page_user(request, Action.DOWNTIME_READ)
    floor_view = await _floor_view(request, page, code)
    return render(request, page, "floor/_live.html", _live_values(page, floor_view))


async def _floor_view(request: Request, page: Page, code: str) -> dict[str, Any]:
    if not LINE_CODE.match(code):
        raise NotFound(_("There is no line {code}.", code=code[:32]), field="code")
    answer: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, f"lines/{quote(code, safe='')}/floor"
    )
    return answer


async def _reason_tree(
    request: Request, page: Page, floor_view: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """The facility's active reasons as the tablet draws them; with the service's refusal as
    words when it cannot give them (the rest of the tablet still works)."""
    facility = str(floor_view.get("facility_code") or "")
    try:
        answer = await upstream.get_json(
            request,
            page.user,
            SERVICE,
            f"facilities/{quote(facility, safe='')}/reason-tree",
            {"active": "true"},
        )
    except PortalError as problem:
        return [], str(problem.detail)
    return shown.reason_nodes(answer), None


def _live_values(page: Page, floor_view: dict[str, Any]) -> dict[str, Any]:
    zone = shown.zone_of(floor_view.get("timezone"))
    day = shown.production_day(floor_view)
    with language_scope(page.language):
        rows = [
            shown.entry_row(entry, zone, day)
            for entry in floor_view.get("entries") or []
            if isinstance(entry, Mapping)
        ]
    state = {key: value for key, value in floor_view.items() if key != "entries"}
    return {
        "view": floor_view,
        "state": state,
        "rows": rows,
        "day": day,
        "can_record": allowed(page.user.roles, Action.DOWNTIME_RECORD),
        "can_edit_locked": allowed(page.user.roles, Action.DOWNTIME_LOCKED_EDIT),
    }


def _listed(result: Any) -> list[dict[str, Any]]:
    """The rows of a list answer, paged ({items, total}) or plain."""
    if isinstance(result, Mapping):
        result = result.get("items", [])
    return [row for row in result or [] if isinstance(row, dict)]


feature = Feature(
    name="floor",
    router=router,
    nav=[NavLink(_("Floor"), "/floor", Action.DOWNTIME_RECORD, floor=True)],
    order=11,
)
