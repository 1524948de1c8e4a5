"""Downtime reasons through the downtime service's API: a tree of any depth per facility, each
reason coloured and planned or not; the flat list with paths and depths, the nested tree the
tablet shows, supervisors' changes (audited), cycles and other facilities' parents refused, a
deactivated group taking its subtree off the tablet, a reason in use never deleted, and the
check every downtime entry makes (`usable_leaf`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from services.downtime.entries.models import Downtime
from services.downtime.reasons import service as reasons
from shared.web.problems import InvalidInput
from tests.unit.test_downtime_plant import (
    DowntimeApi,
    downtime_api,
    make_facility,
    make_line,
    ok,
    refused,
)

REASONS = "/api/v1/reasons"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[DowntimeApi]:
    async with downtime_api(tmp_path) as running:
        yield running


# code, parent, name, colour, planned, sort order
TREE: list[tuple[str, str | None, str, str, bool | None, int]] = [
    ("MECH", None, "Mechanical", "#D9534F", None, 0),
    ("MECH-NOZZLE", "MECH", "Nozzle", "#e06b67", None, 0),
    ("MECH-NOZZLE-CLOG", "MECH-NOZZLE", "Clogged", "#e88683", None, 0),
    ("MECH-NOZZLE-LEAK", "MECH-NOZZLE", "Leaking", "#e88683", None, 0),
    ("MECH-BELT", "MECH", "Belt", "#c9302c", None, 1),
    ("PLANNED", None, "Planned stop", "#5bc0de", True, 9),
    ("PLANNED-CHANGEOVER", "PLANNED", "Changeover", "#46b8da", None, 0),
    ("PLANNED-BREAK", "PLANNED", "Break", "#31b0d5", None, 0),
]


async def plant_with_reasons(api: DowntimeApi) -> None:
    """Facilities P1 (with the tree above, made by a supervisor) and P2, a line L1 in P1."""
    async with api.client("admin") as admin, api.client("supervisor", user="sue") as supervisor:
        await make_facility(admin, "P1", "America/Mexico_City")
        await make_facility(admin, "P2", "Europe/Madrid")
        await make_line(admin, "L1", "P1")
        for code, parent, name, colour, planned, order in TREE:
            body: dict[str, Any] = {
                "code": code,
                "facility_code": "P1",
                "name": name,
                "colour": colour,
                "sort_order": order,
            }
            if parent:
                body["parent_code"] = parent
            if planned is not None:
                body["planned"] = planned
            ok(await supervisor.post(REASONS, json=body), 201)


def record_stop(api: DowntimeApi, reason_code: str) -> None:
    """A downtime entry naming `reason_code`, as the entries would write it."""
    now = datetime(2026, 11, 2, 15, tzinfo=UTC)
    with api.runtime.uow() as uow:
        uow.session.add(
            Downtime(
                line_code="L1",
                facility_code="P1",
                reason_code=reason_code,
                planned=False,
                started_at=now,
                ended_at=None,
                production_day=date(2026, 11, 2),
                shift_code=None,
                order_code=None,
                notes=None,
                source="tablet",
                created_by="sam",
                created_at=now,
                updated_at=now,
                version=1,
            )
        )
        uow.commit()


async def test_the_tree_lists_with_paths_and_nests_for_the_tablet(api: DowntimeApi) -> None:
    await plant_with_reasons(api)
    async with api.client("operator") as operator:
        listed = ok(await operator.get(REASONS, params={"facility_code": "p1"}))
        rows = [
            (r["code"], r["path"], r["depth"], r["is_leaf"], r["planned"]) for r in listed["items"]
        ]
        # Tree order: siblings by sort order, then name (Nozzle 0 before Belt 1; Break before
        # Changeover by name); planned is inherited from the parent when not given.
        assert rows == [
            ("MECH", "Mechanical", 0, False, False),
            ("MECH-NOZZLE", "Mechanical / Nozzle", 1, False, False),
            ("MECH-NOZZLE-CLOG", "Mechanical / Nozzle / Clogged", 2, True, False),
            ("MECH-NOZZLE-LEAK", "Mechanical / Nozzle / Leaking", 2, True, False),
            ("MECH-BELT", "Mechanical / Belt", 1, True, False),
            ("PLANNED", "Planned stop", 0, False, True),
            ("PLANNED-BREAK", "Planned stop / Break", 1, True, True),
            ("PLANNED-CHANGEOVER", "Planned stop / Changeover", 1, True, True),
        ]
        assert listed["items"][0]["colour"] == "#d9534f"  # kept in lower case
        assert all(r["in_use"] is False for r in listed["items"])
        page = ok(await operator.get(REASONS, params={"sort": "-code", "limit": 2, "offset": 1}))
        assert ([r["code"] for r in page["items"]], page["total"]) == (
            ["PLANNED-BREAK", "PLANNED"],
            8,
        )
        children = ok(await operator.get(REASONS, params={"parent_code": "mech-nozzle"}))
        assert [r["code"] for r in children["items"]] == ["MECH-NOZZLE-CLOG", "MECH-NOZZLE-LEAK"]
        refused(await operator.get(REASONS, params={"sort": "colour"}), 422, "query.sort")
        one = ok(await operator.get(f"{REASONS}/mech-belt"))
        assert (one["path"], one["usable"]) == ("Mechanical / Belt", True)
        assert (await operator.get(f"{REASONS}/NOPE")).status_code == 404
        tree = ok(await operator.get("/api/v1/facilities/P1/reason-tree"))

    def shape(nodes: list[dict[str, Any]]) -> list[Any]:
        return [(node["code"], shape(node["children"])) for node in nodes]

    assert shape(tree) == [
        (
            "MECH",
            [
                ("MECH-NOZZLE", [("MECH-NOZZLE-CLOG", []), ("MECH-NOZZLE-LEAK", [])]),
                ("MECH-BELT", []),
            ],
        ),
        ("PLANNED", [("PLANNED-BREAK", []), ("PLANNED-CHANGEOVER", [])]),
    ]
    assert tree[1] == {**tree[1], "name": "Planned stop", "colour": "#5bc0de", "planned": True}


@pytest.mark.parametrize(
    ("change", "status", "field", "code"),
    [
        ({"facility_code": "NOWHERE"}, 422, "facility_code", "unknown_facility"),
        ({"parent_code": "NOPE"}, 422, "parent_code", "unknown_parent"),
        (
            {"facility_code": "P2", "parent_code": "MECH"},
            422,
            "parent_code",
            "parent_of_other_facility",
        ),
        ({"colour": "red"}, 422, "colour", None),
        ({"colour": "#12345g"}, 422, "colour", None),
        ({"colour": "#1234567"}, 422, "colour", None),
        ({"code": "MECH"}, 409, "code", "duplicate"),
        ({"name": " "}, 422, "name", None),
        ({"sort_order": 10**9}, 422, "sort_order", None),
    ],
)
async def test_a_bad_new_reason_names_the_field_and_saves_nothing(
    api: DowntimeApi, change: dict[str, Any], status: int, field: str, code: str | None
) -> None:
    await plant_with_reasons(api)
    async with api.client("supervisor") as supervisor:
        before = api.row_counts()
        body = {"code": "NEW", "facility_code": "P1", "name": "New", "colour": "#000000", **change}
        refused(await supervisor.post(REASONS, json=body), status, field, code)
        assert api.row_counts() == before


async def test_a_reason_cannot_move_under_itself_or_its_own_subtree(api: DowntimeApi) -> None:
    await plant_with_reasons(api)
    async with api.client("supervisor") as supervisor:
        before = api.row_counts()
        for parent in ("MECH-NOZZLE-CLOG", "MECH-NOZZLE", "MECH"):
            moved = await supervisor.patch(f"{REASONS}/MECH", json={"parent_code": parent})
            refused(moved, 422, "parent_code", "reason_cycle")
        refused(await supervisor.patch(f"{REASONS}/MECH", json={"colour": "blue"}), 422, "colour")
        refused(await supervisor.patch(f"{REASONS}/MECH", json={"name": None}), 422, "name")
        assert api.row_counts() == before
        # Moving the nozzle group under Planned, and later back to the root, is fine.
        moved = ok(
            await supervisor.patch(f"{REASONS}/MECH-NOZZLE", json={"parent_code": "PLANNED"})
        )
        assert (moved["path"], moved["depth"]) == ("Planned stop / Nozzle", 1)
        clog = ok(await supervisor.get(f"{REASONS}/MECH-NOZZLE-CLOG"))
        assert (clog["path"], clog["depth"]) == ("Planned stop / Nozzle / Clogged", 2)
        root = ok(await supervisor.patch(f"{REASONS}/MECH-NOZZLE", json={"parent_code": None}))
        assert (root["parent_code"], root["path"], root["depth"]) == (None, "Nozzle", 0)
    actions = [
        e.payload["action"]
        for e in api.events("AuditRecorded", "audit:downtime_reason:MECH-NOZZLE")
    ]
    assert actions == [
        "downtime.reasons.create",
        "downtime.reasons.update",
        "downtime.reasons.update",
    ]


async def test_a_deactivated_group_takes_its_subtree_off_the_tablet(api: DowntimeApi) -> None:
    await plant_with_reasons(api)
    async with api.client("supervisor") as supervisor:
        ok(await supervisor.post(f"{REASONS}/MECH-NOZZLE/deactivate"))
        tree = ok(await supervisor.get("/api/v1/facilities/P1/reason-tree"))
        assert [(n["code"], [c["code"] for c in n["children"]]) for n in tree] == [
            ("MECH", ["MECH-BELT"]),
            ("PLANNED", ["PLANNED-BREAK", "PLANNED-CHANGEOVER"]),
        ]
        everything = ok(
            await supervisor.get("/api/v1/facilities/P1/reason-tree", params={"active": "false"})
        )
        nozzle = everything[0]["children"][0]
        assert (nozzle["code"], nozzle["active"], len(nozzle["children"])) == (
            "MECH-NOZZLE",
            False,
            2,
        )
        clog = ok(await supervisor.get(f"{REASONS}/MECH-NOZZLE-CLOG"))
        assert (clog["active"], clog["usable"]) == (True, False)  # its own flag is kept
        ok(await supervisor.post(f"{REASONS}/MECH-BELT/deactivate"))
        mech = ok(await supervisor.get(f"{REASONS}/MECH"))
        assert (mech["is_leaf"], mech["usable"]) == (True, True)  # no active child left
        ok(await supervisor.post(f"{REASONS}/MECH-NOZZLE/reactivate"))
        clog = ok(await supervisor.get(f"{REASONS}/MECH-NOZZLE-CLOG"))
        assert clog["usable"] is True
        async with api.client("operator") as operator:
            assert (await operator.post(f"{REASONS}/MECH/deactivate")).status_code == 403


async def test_usable_leaf_says_why_a_reason_cannot_be_chosen(api: DowntimeApi) -> None:
    await plant_with_reasons(api)
    async with api.client("supervisor") as supervisor:
        other = {"code": "P2-MISC", "facility_code": "P2", "name": "Misc", "colour": "#777777"}
        ok(await supervisor.post(REASONS, json=other), 201)
        ok(await supervisor.post(f"{REASONS}/MECH-NOZZLE/deactivate"))
        ok(await supervisor.post(f"{REASONS}/PLANNED-BREAK/deactivate"))

    def refusal(code: str) -> tuple[str | None, str | None]:
        with api.runtime.uow(read_only=True) as uow, pytest.raises(InvalidInput) as caught:
            reasons.usable_leaf(uow, code, "P1", field="reason_code")
        return caught.value.field, caught.value.code

    assert refusal("NOPE") == ("reason_code", "unknown_reason")
    assert refusal("P2-MISC") == ("reason_code", "reason_of_other_facility")
    assert refusal("MECH-NOZZLE") == ("reason_code", "inactive_reason")
    assert refusal("MECH-NOZZLE-CLOG") == ("reason_code", "inactive_reason")  # parent is off
    assert refusal("PLANNED-BREAK") == ("reason_code", "inactive_reason")
    assert refusal("MECH") == ("reason_code", "reason_not_a_leaf")  # Belt is still active
    assert refusal("PLANNED") == ("reason_code", "reason_not_a_leaf")
    with api.runtime.uow(read_only=True) as uow:
        chosen = reasons.usable_leaf(uow, "planned-changeover", "P1", field="reason_code")
        assert (chosen.code, chosen.planned) == ("PLANNED-CHANGEOVER", True)
        assert reasons.usable_leaf(uow, "MECH-BELT", "P1", field="reason_code").code == "MECH-BELT"


async def test_a_reason_in_use_is_deactivated_never_deleted(api: DowntimeApi) -> None:
    await plant_with_reasons(api)
    record_stop(api, "MECH-NOZZLE-CLOG")
    async with api.client("supervisor", user="sue") as supervisor:
        assert ok(await supervisor.get(f"{REASONS}/MECH-NOZZLE-CLOG"))["in_use"] is True
        listed = ok(await supervisor.get(REASONS, params={"facility_code": "P1"}))["items"]
        assert [r["code"] for r in listed if r["in_use"]] == ["MECH-NOZZLE-CLOG"]
        before = api.row_counts()
        used = await supervisor.delete(f"{REASONS}/MECH-NOZZLE-CLOG")
        assert "deactivate" in refused(used, 409, "code", "reason_in_use")["detail"]
        parent = await supervisor.delete(f"{REASONS}/PLANNED")
        assert "PLANNED-BREAK" in refused(parent, 409, "code", "reason_in_use")["detail"]
        assert api.row_counts() == before
        gone = await supervisor.delete(f"{REASONS}/MECH-NOZZLE-LEAK")
        assert gone.status_code == 204 and gone.content == b""
        assert (await supervisor.get(f"{REASONS}/MECH-NOZZLE-LEAK")).status_code == 404
        assert (await supervisor.delete(f"{REASONS}/MECH-NOZZLE-LEAK")).status_code == 404
        assert (
            ok(await supervisor.post(f"{REASONS}/MECH-NOZZLE-CLOG/deactivate"))["active"] is False
        )
    audit = [
        e.payload for e in api.events("AuditRecorded", "audit:downtime_reason:MECH-NOZZLE-LEAK")
    ]
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("downtime.reasons.create", "sue"),
        ("downtime.reasons.delete", "sue"),
    ]
    assert (
        audit[1]["before"]["path"] == "Mechanical / Nozzle / Leaking" and audit[1]["after"] is None
    )


async def test_refusals_read_in_spanish(api: DowntimeApi) -> None:
    await plant_with_reasons(api)
    async with api.client("supervisor", language="es") as supervisor:
        body = {"code": "X", "facility_code": "P1", "name": "X", "colour": "rojo"}
        colour = refused(await supervisor.post(REASONS, json=body), 422, "colour")
        assert "#d9534f" in colour["detail"] and "color" in colour["detail"].lower()
        cycle = await supervisor.patch(f"{REASONS}/MECH", json={"parent_code": "MECH-BELT"})
        assert "MECH" in refused(cycle, 422, "parent_code")["detail"]
        assert "razón" in cycle.json()["detail"] or "motivo" in cycle.json()["detail"]
