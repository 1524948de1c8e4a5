"""Admin pages: users and their roles, deactivation that ends sessions at once, passwords,
login history, the audit log of those changes, and plant settings; other roles are refused."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook

from tests.support.ui import ADMIN_PASSWORD, PASSWORD, add_user, signed_in, ui_portal


def field_errors(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', html)


async def test_an_admin_creates_a_user_who_then_signs_in_with_those_roles(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        async with signed_in(portal, "admin", ADMIN_PASSWORD) as admin:
            created = await admin.post_form(
                "/admin/users/new",
                {
                    "username": "Maria",
                    "display_name": "María López",
                    "password": "maria-pass-123",
                    "roles": ["store", "buyer"],
                    "language": "es",
                },
            )
            listing = await admin.get("/admin/users?q=mar")
            audit = await admin.get("/admin/audit?action=gateway.users")
        async with signed_in(portal, "maria", "maria-pass-123") as maria:
            home = await maria.get("/")

    assert created.status_code == 303
    assert created.headers["location"] == "/admin/users/maria?saved=1"
    assert 'href="/admin/users/maria"' in listing.text
    assert 'href="/admin/users/admin"' not in listing.text
    assert "gateway.users.create" in audit.text
    assert '"roles": [&#34;store&#34;' in audit.text or "store" in audit.text
    assert 'lang="es"' in home.text
    assert 'href="/receiving"' in home.text or "Órdenes de compra por recibir" in home.text


async def test_bad_input_is_shown_beside_each_field_and_nothing_is_saved(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "ines", ["admin"], language="es")
        async with signed_in(portal, "ines") as admin:
            refused = await admin.post_form(
                "/admin/users/new",
                {"username": "x", "display_name": "", "password": "short", "language": "en"},
            )
            listing = await admin.get("/admin/users")
            duplicate = await admin.post_form(
                "/admin/users/new",
                {
                    "username": "ines",
                    "display_name": "Otra",
                    "password": "long-enough-9",
                    "roles": ["viewer"],
                },
            )

    assert refused.status_code == 422
    assert field_errors(refused.text) == [
        "Escriba al menos 2 caracteres.",
        "Este campo es obligatorio.",
        "Este campo es obligatorio.",
        "Escriba al menos 10 caracteres.",
    ]
    assert listing.text.count('href="/admin/users/') - listing.text.count("/admin/users/new") == 2
    assert duplicate.status_code == 422
    assert "Ya existe un usuario ines." in duplicate.text


async def test_deactivating_a_user_ends_their_session_and_they_are_told_why(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "omar", ["operator"])
        async with (
            signed_in(portal, "omar") as omar,
            signed_in(portal, "admin", ADMIN_PASSWORD) as admin,
        ):
            before = await omar.get("/profile")
            done = await admin.post_form("/admin/users/omar/active", {"active": "false"})
            after = await omar.get("/profile")
            own = await admin.post_form("/admin/users/admin/active", {"active": "false"})
            history = await admin.get("/admin/users/omar")

    assert before.status_code == 200
    assert done.status_code == 303
    assert after.status_code == 303
    assert "reason=account_disabled" in after.headers["location"]
    assert own.status_code == 409
    assert "You cannot deactivate your own account." in own.text
    assert "Deactivated" in history.text
    assert "account_disabled" in history.text


async def test_a_new_password_works_and_the_old_one_does_not(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "sam", ["store"])
        async with signed_in(portal, "admin", ADMIN_PASSWORD) as admin:
            weak = await admin.post_form("/admin/users/sam/password", {"password": "123"})
            reset = await admin.post_form(
                "/admin/users/sam/password", {"password": "a-brand-new-pass"}
            )
            audit_export = await admin.get("/admin/audit.xlsx?action=gateway.users")
        async with signed_in(portal, "sam", "a-brand-new-pass") as sam:
            assert (await sam.get("/profile")).status_code == 200
        async with signed_in(portal, "admin", ADMIN_PASSWORD) as admin:
            old = await admin.client.post(
                "/sign-in", data={"username": "sam", "password": PASSWORD, "next": "/"}
            )

    assert weak.status_code == 422
    assert "Enter at least 10 characters." in field_errors(weak.text)
    assert reset.status_code == 303
    assert old.status_code == 401
    sheet = load_workbook(io.BytesIO(audit_export.content)).active
    assert sheet is not None
    actions = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert actions == ["gateway.users.reset_password"]
    row = next(sheet.iter_rows(min_row=2, values_only=True))
    assert "a-brand-new-pass" not in " ".join(str(cell) for cell in row)


async def test_the_idle_timeout_setting_is_checked_and_applied(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal, signed_in(portal, "admin", ADMIN_PASSWORD) as admin:
        refused = await admin.post_form(
            "/admin/settings", {"session_idle_minutes": "2", "ldap_group_roles": "{nope"}
        )
        saved = await admin.post_form(
            "/admin/settings",
            {"session_idle_minutes": "15", "ldap_group_roles": '{"cn=ops": ["operator"]}'},
        )
        shown = await admin.get("/admin/settings")

    assert refused.status_code == 422
    errors = field_errors(refused.text)
    assert errors[0] == "Enter a whole number of minutes from 5 to 1440."
    assert errors[1].startswith("The group mapping is not valid")
    assert saved.status_code == 303
    assert 'value="15"' in shown.text
    assert "cn=ops" in shown.text


async def test_admin_pages_are_refused_to_other_roles_and_hidden_from_them(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "li", ["supervisor"])
        async with signed_in(portal, "li") as li:
            home = await li.get("/")
            pages = [
                await li.get(path) for path in ("/admin/users", "/admin/audit", "/admin/settings")
            ]
            create = await li.post_form(
                "/admin/users/new",
                {"username": "evil", "display_name": "E", "password": "x" * 12, "roles": ["admin"]},
            )
        async with signed_in(portal, "admin", ADMIN_PASSWORD) as admin:
            listing = await admin.get("/admin/users?q=evil")

    assert "/admin/users" not in home.text
    assert [page.status_code for page in pages] == [403, 403, 403]
    assert create.status_code == 403
    assert "/admin/users/evil" not in listing.text


def test_the_audit_log_page_says_what_changed_in_a_line() -> None:
    from services.gateway.ui.admin.pages import audit_changes

    submitted = audit_changes(
        {"status": "draft", "lines": [{"qty": "1"}], "total": "5"},
        {"status": "submitted", "lines": [{"qty": "1"}], "total": "5"},
    )
    received = audit_changes({"lines": [{"qty": "0"}]}, {"lines": [{"qty": "4"}]})
    roles = audit_changes({"roles": ["store"]}, {"roles": ["store", "buyer"]})
    created = audit_changes(None, {"sku": "X-1", "name": "A name " * 10})

    assert submitted == "status: draft → submitted"
    assert received == "lines: changed"
    assert roles == "roles: store → store, buyer"
    assert created.startswith("name: A name A name") and created.endswith("sku: X-1")
    assert "…" in created
