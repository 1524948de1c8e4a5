"""The permission matrix: one table, the page that shows it, and the services that enforce it."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute

from services import registry
from shared.auth.permissions import MATRIX, Action, allowed, render_markdown
from shared.auth.tokens import Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_the_permissions_page_is_the_matrix_rendered() -> None:
    assert DOC.read_text() == render_markdown(), (
        "docs/permissions.md is out of date: write render_markdown() to it"
    )


def test_every_action_has_its_roles_and_admin_may_do_everything() -> None:
    assert set(MATRIX) == set(Action)
    for action in Action:
        assert allowed([Role.ADMIN], action)
    assert not allowed([Role.OPERATOR], Action.RECEIPTS_WRITE)
    assert allowed([Role.STORE], Action.RECEIPTS_WRITE)
    assert not allowed([Role.VIEWER], Action.BOOKS_READ)


def test_every_service_endpoint_checks_the_caller() -> None:
    """No route under /api/v1 of inventory, purchasing or accounting is open to anonymous calls."""
    for service in ("inventory", "purchasing", "accounting"):
        for router in registry.definition(service).routers:
            for route in router.routes:
                if not isinstance(route, APIRoute):
                    continue
                checks = {d.call.__name__ for d in route.dependant.dependencies if d.call}
                checks |= {
                    sub.call.__name__
                    for d in route.dependant.dependencies
                    for sub in d.dependencies
                    if sub.call
                }
                assert "permitted" in checks, f"{service} {route.path} has no permission check"
