"""The ERP import for admins of a plant moving off its old ERP (docs/mrp.md, "Import from an
ERP"): the runs logged so far, a dry run ("Preview") or an import started with a button, and a
run's page with its records grouped by entity and outcome. Everything comes from the mrp
service's /api/v1/erp as the signed-in admin; the run itself goes on in the mrp service, and a
page showing a run that has not finished asks for it again every 2 s (htmx) until it has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway.ui import upstream
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import Text, _, language_scope

router = APIRouter()

PAGE_SIZE = 20
# In the order the import applies them (services/mrp/erp/report.py ENTITY_ORDER).
ENTITY_LABELS: dict[str, Text] = {
    "items": _("Items"),
    "boms": _("BOMs"),
    "customers": _("Customers"),
    "sales_orders": _("Sales orders"),
    "vendors": _("Vendors"),
    "purchase_orders": _("Purchase orders"),
    "stock": _("Stock"),
}
# Failures first: they are what the admin must act on, then what a person must decide.
OUTCOMES = ("failed", "held", "create", "change", "unchanged")
PLANNED: dict[str, Text] = {
    "create": _("To create"),
    "change": _("To change"),
    "unchanged": _("Unchanged"),
    "held": _("Held back"),
    "failed": _("Failed"),
}
APPLIED: dict[str, Text] = {
    "create": _("Created"),
    "change": _("Changed"),
    "unchanged": _("Unchanged"),
    "held": _("Held back"),
    "failed": _("Failed"),
}
STATUS_LABELS: dict[str, Text] = {
    "running": _("Running"),
    "done": _("Finished"),
    "failed": _("Failed"),
    "abandoned": _("Abandoned: it ended without saying so"),
}
STATUS_CLASSES = {"running": "partial", "done": "ok", "failed": "failed", "abandoned": "failed"}
# How services/mrp/erp/service.py words a refused call: "<service> <METHOD> <status>: <detail>".
REFUSAL = re.compile(
    r"^(?P<service>\w+) (?P<method>[A-Z]+) (?P<status>\d{3}): (?P<detail>.*)$", re.S
)


@router.get("/erp")
async def runs_page(
    request: Request, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0
) -> Response:
    page = await page_user(request, Action.ERP_IMPORT)
    found = await _runs(request, page, offset)
    with language_scope(page.language):
        values = _runs_values(found, offset)
    template = "erp/_runs.html" if request.headers.get("hx-request") else "erp/runs.html"
    return render(request, page, template, values)


@router.post("/erp/imports")
async def start_import(request: Request, dry_run: Annotated[str, Form()] = "1") -> Response:
    """Start a run as the admin; to its page when it started, else the list with why not."""
    page = await page_user(request, Action.ERP_IMPORT)
    wanted = dry_run != "0"
    answer = await upstream.call(
        request, page.user, "mrp", "POST", "erp/imports", json={"dry_run": wanted}
    )
    try:
        started = upstream.checked(answer)
    except UpstreamProblem as problem:
        found = await _runs(request, page, 0)
        with language_scope(page.language):
            values = _runs_values(found, 0)
        values["problem"] = problem.detail
        values["running_run_id"] = problem.problem.get("running_run_id")
        if request.headers.get("hx-request"):
            return render(request, page, "erp/_start.html", values)
        return render(
            request,
            page,
            "erp/runs.html",
            values,
            status_code=upstream.form_status(request, problem),
        )
    target = f"/erp/imports/{int(started['id'])}"
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/erp/imports/{run_id}")
async def run_page(
    run_id: Annotated[int, Path(ge=1, le=2_000_000_000)], request: Request
) -> Response:
    page = await page_user(request, Action.ERP_IMPORT)
    run = await upstream.get_json(request, page.user, "mrp", f"erp/imports/{run_id}")
    with language_scope(page.language):
        values = {
            "run": _run_view(run),
            "groups": step_groups(run),
            "outcome_names": APPLIED if not run["dry_run"] else PLANNED,
        }
    template = "erp/_run.html" if request.headers.get("hx-request") else "erp/run.html"
    return render(request, page, template, values)


async def _runs(request: Request, page: Page, offset: int) -> Any:
    return await upstream.get_json(
        request, page.user, "mrp", "erp/imports", {"limit": PAGE_SIZE, "offset": offset}
    )


def _runs_values(found: Mapping[str, Any], offset: int) -> dict[str, Any]:
    items = [_run_view(run) for run in found["items"]]
    total = int(found["total"])
    return {
        "runs": items,
        "total": total,
        "offset": offset,
        "going": any(not run["finished"] for run in items),
        "previous_url": f"/erp?offset={max(offset - PAGE_SIZE, 0)}" if offset > 0 else None,
        "next_url": f"/erp?offset={offset + PAGE_SIZE}" if offset + PAGE_SIZE < total else None,
    }


def _run_view(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run as the pages show it: its status in words and a line per entity of counts."""
    names = PLANNED if run["dry_run"] else APPLIED
    lines = []
    for entity, tally in _in_entity_order(run.get("counts") or {}):
        parts = [
            f"{tally[outcome]} {names[outcome].render().lower()}"
            for outcome in OUTCOMES
            if tally.get(outcome)
        ]
        lines.append(f"{_entity(entity)}: {', '.join(parts)}")
    return {
        **run,
        "status_label": STATUS_LABELS.get(run["status"], run["status"]),
        "status_class": STATUS_CLASSES.get(run["status"], "partial"),
        "count_lines": lines,
        "failure_words": refusal_in_words(run["error"]) if run.get("error") else None,
    }


def step_groups(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per entity (in the order the import takes them), its steps per outcome (failed, held,
    create, change), and how many were unchanged (counted by the run, not listed)."""
    steps_of: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for step in run.get("steps") or []:
        shown = {
            **step,
            "failure_words": refusal_in_words(step["failure"]) if step["failure"] else None,
        }
        steps_of.setdefault(step["entity"], {}).setdefault(step["outcome"], []).append(shown)
    counts = run.get("counts") or {}
    groups = []
    for entity in _entities(list(steps_of) + list(counts)):
        by_outcome = steps_of.get(entity, {})
        groups.append(
            {
                "entity": entity,
                "label": _entity(entity),
                "outcomes": [
                    {"outcome": outcome, "steps": by_outcome[outcome]}
                    for outcome in OUTCOMES
                    if outcome in by_outcome
                ],
                "unchanged": int((counts.get(entity) or {}).get("unchanged", 0)),
            }
        )
    return groups


def refusal_in_words(text: str) -> str:
    """ "inventory POST 422: qty must be > 0 (qty)" as a person says it."""
    found = REFUSAL.match(text.strip())
    if found is None:
        return text
    return str(
        _(
            "The {service} service refused it: {detail}",
            service=found["service"],
            detail=found["detail"],
        )
    )


def _entity(name: str) -> str:
    label = ENTITY_LABELS.get(name)
    return label.render() if label is not None else name


def _entities(names: Sequence[str]) -> list[str]:
    known = [name for name in ENTITY_LABELS if name in names]
    return known + sorted({name for name in names if name not in ENTITY_LABELS})


def _in_entity_order(counts: Mapping[str, Any]) -> list[tuple[str, Mapping[str, int]]]:
    return [(entity, counts[entity]) for entity in _entities(list(counts))]


feature = Feature(
    name="erp",
    router=router,
    admin=True,
    order=95,
    nav=(NavLink(_("ERP import"), "/erp", Action.ERP_IMPORT),),
)
