"""The import told as a person reads it: per entity, what is (or would be) created, changed,
held back or refused, and how many are unchanged; and the same counts for the run log.

Unchanged records are counted, not listed: after the first import they are nearly all of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from services.mrp.erp.mapping import ENTITY_NAMES
from services.mrp.erp.plan import Step, Verdict
from shared.i18n import Text, _

# Vendors are created for purchase orders: they are told just before them.
ENTITY_ORDER = (*ENTITY_NAMES[:4], "vendors", *ENTITY_NAMES[4:])
KEY_WIDTH = 28
# Failures and held records kept in the run log (the printout lists them all).
LOGGED_PROBLEMS = 200

_PLANNED: dict[Verdict, Text] = {
    Verdict.CREATE: _("to create"),
    Verdict.CHANGE: _("to change"),
    Verdict.UNCHANGED: _("unchanged"),
    Verdict.HELD: _("held"),
}
_APPLIED: dict[Verdict, Text] = {
    Verdict.CREATE: _("created"),
    Verdict.CHANGE: _("changed"),
    Verdict.UNCHANGED: _("unchanged"),
    Verdict.HELD: _("held"),
}
# The first column of a record's line.
_PLANNED_WORD: dict[Verdict, Text] = {
    Verdict.CREATE: _("create"),
    Verdict.CHANGE: _("change"),
    Verdict.HELD: _("held"),
}
_APPLIED_WORD: dict[Verdict, Text] = {
    Verdict.CREATE: _("created"),
    Verdict.CHANGE: _("changed"),
    Verdict.HELD: _("held"),
}
FAILED = _("failed")


def outcome(step: Step, applied: bool) -> str:
    """create / change / unchanged / held, or failed once a refused step was tried."""
    if applied and step.failure is not None:
        return "failed"
    return step.verdict.value


def counts(steps: Iterable[Step], applied: bool) -> dict[str, dict[str, int]]:
    """Per entity, how many steps had each outcome (entities with no step left out)."""
    tally: dict[str, Counter[str]] = {}
    for step in steps:
        tally.setdefault(step.entity, Counter())[outcome(step, applied)] += 1
    return {entity: dict(tally[entity]) for entity in ENTITY_ORDER if entity in tally}


def summary(
    steps: Sequence[Step], applied: bool, *, driver: str, mappings: str, absent: Sequence[str]
) -> dict[str, Any]:
    """What the run log keeps: the counts, and the records held back or refused."""
    created = {f"{step.entity}:{step.key}": step.named for step in steps if applied and step.named}
    problems = [
        {
            "entity": step.entity,
            "key": step.key,
            "outcome": outcome(step, applied),
            "reason": step.failure if applied and step.failure else _details(step),
        }
        for step in steps
        if step.verdict is Verdict.HELD or (applied and step.failure is not None)
    ]
    return {
        "driver": driver,
        "mappings": mappings,
        "not_imported": list(absent),
        "entities": counts(steps, applied),
        "problems": problems[:LOGGED_PROBLEMS],
        # What the portal numbered the records created: the ERP's S1001 is SO-2026-00001.
        "created": created,
    }


def render(steps: Sequence[Step], applied: bool) -> list[str]:
    """The lines to print: a heading with the counts per entity, then its records."""
    lines: list[str] = []
    by_entity: dict[str, list[Step]] = {}
    for step in steps:
        by_entity.setdefault(step.entity, []).append(step)
    names = _APPLIED if applied else _PLANNED
    for entity in ENTITY_ORDER:
        group = by_entity.get(entity)
        if not group:
            continue
        tally = Counter(step.verdict for step in group)
        parts = [f"{tally[verdict]} {names[verdict]}" for verdict in Verdict if tally[verdict]]
        failed = sum(1 for step in group if applied and step.failure is not None)
        if failed:
            parts.append(str(_("{count} failed", count=failed)))
        lines.append(f"{entity}: " + ", ".join(parts))
        width = min(KEY_WIDTH, max(len(step.key) for step in group))
        for step in group:
            if step.verdict is Verdict.UNCHANGED:
                continue
            failed_here = applied and step.failure is not None
            words = _APPLIED_WORD if applied else _PLANNED_WORD
            shown = str(FAILED if failed_here else words[step.verdict])
            text = step.failure if failed_here else _details(step)
            if applied and step.named:
                text = f"→ {step.named}  {text}"
            lines.append(f"  {shown:<9}  {step.key:<{width}}  {text}".rstrip())
    if not lines:
        lines.append(str(_("Nothing to import: the mappings returned no rows.")))
    return lines


def _details(step: Step) -> str:
    return "; ".join(str(detail) for detail in step.details)
