"""Two admins taking the admin role from each other at the same instant, on PostgreSQL: one
succeeds, the other is told the plant would be left without an administrator."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from services import registry
from services.gateway import users
from services.gateway.models import User
from services.gateway.schemas import UserOut, UserUpdate
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web.problems import Conflict
from tests.support.accounts import local_user
from tests.support.servers import PostgresDatabases

pytestmark = pytest.mark.integration


def demoted(username: str) -> UserUpdate:
    return UserUpdate(display_name=username.title(), roles=["viewer"], language="en")


def admin(username: str) -> users.Admin:
    return users.Admin(
        UserOut(username=username, display_name=username, roles=["admin"], language="en"), None
    )


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    runtime = ServiceRuntime(
        registry.definition("gateway"),
        Settings(var_dir=tmp_path, admin_password="first-admin-pw"),
        InProcessBus(),
        db_url=postgres.create("gateway"),
        token_secret="admins-test-secret-" + "x" * 32,
    )
    runtime.migrate()
    with runtime.uow() as uow:  # only these two are admins (no seeded one)
        uow.session.add(local_user("ann", "ann-pass-1234", ["admin"]))
        uow.session.add(local_user("bob", "bob-pass-1234", ["admin"]))
        uow.commit()
    outcome: dict[str, object] = {}

    def bob_demotes_ann_then_waits() -> None:
        with runtime.uow() as uow:
            users.update_user(uow, "ann", demoted("ann"), admin("bob"))
            outcome["bob_checked"] = True
            time.sleep(0.8)  # ann's own demotion of bob arrives meanwhile
            uow.commit()

    def ann_demotes_bob() -> None:
        with runtime.uow() as uow:
            try:
                users.update_user(uow, "bob", demoted("bob"), admin("ann"))
                uow.commit()
                outcome["ann"] = "demoted bob"
            except Conflict as refused:
                outcome["ann"] = refused.code

    first = threading.Thread(target=bob_demotes_ann_then_waits)
    first.start()
    while "bob_checked" not in outcome:
        time.sleep(0.01)
    second = threading.Thread(target=ann_demotes_bob)
    second.start()
    first.join(10)
    second.join(10)
    with runtime.uow() as uow:
        admins = [u.username for u in uow.session.query(User).all() if "admin" in u.roles]
    runtime.db.dispose()

    assert outcome["ann"] == "last_admin"
    assert admins == ["bob"]
