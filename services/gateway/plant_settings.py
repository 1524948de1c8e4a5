"""Settings a plant's admin changes in the UI: the idle timeout and the directory group mapping.

The environment (PORTAL_SESSION_IDLE_MINUTES, PORTAL_LDAP_GROUP_ROLES) gives the defaults; a
saved value (table plant_settings) overrides one. Every change is audited. The idle timeout is
read on every request, so `IdleTimeoutCache` keeps it for a few seconds per gateway process.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.gateway.audit import record_gateway_change
from services.gateway.models import PlantSetting
from services.gateway.service import GROUP_ROLES_SETTING, directory_group_roles
from services.gateway.users import Admin
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.settings import Settings, parse_group_roles
from shared.uow import UnitOfWork
from shared.web.problems import InvalidInput

IDLE_MINUTES_SETTING = "session_idle_minutes"
IDLE_MINUTES_RANGE = (5, 24 * 60)
CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class PlantSettingsOut:
    session_idle_minutes: int
    ldap_group_roles: dict[str, list[str]]
    # Which of them are saved here rather than taken from the environment.
    overridden: frozenset[str]


def current(uow: UnitOfWork, settings: Settings) -> PlantSettingsOut:
    rows = {row.name: row for row in uow.session.query(PlantSetting).all()}
    return PlantSettingsOut(
        session_idle_minutes=idle_minutes(uow, settings),
        ldap_group_roles=directory_group_roles(uow, settings),
        overridden=frozenset(rows),
    )


def idle_minutes(uow: UnitOfWork, settings: Settings) -> int:
    row = uow.session.get(PlantSetting, IDLE_MINUTES_SETTING)
    return int(row.value) if row is not None else settings.session_idle_minutes


def parse_idle_minutes(raw: str) -> int:
    low, high = IDLE_MINUTES_RANGE
    try:
        minutes = int(raw.strip())
    except ValueError:
        minutes = 0
    if not low <= minutes <= high:
        raise InvalidInput(
            _("Enter a whole number of minutes from {low} to {high}.", low=low, high=high),
            field="session_idle_minutes",
        )
    return minutes


def parse_mapping(raw: str) -> dict[str, list[str]]:
    try:
        return parse_group_roles(raw)
    except ValueError as exc:
        raise InvalidInput(
            _("The group mapping is not valid: {reason}", reason=exc.args[0] if exc.args else exc),
            field="ldap_group_roles",
        ) from exc


def save(uow: UnitOfWork, name: str, value: Any, admin: Admin) -> None:
    row = uow.session.get(PlantSetting, name)
    before = {"value": row.value} if row is not None else None
    if row is None:
        row = PlantSetting(
            name=name, value=value, updated_at=utc_now(), updated_by=admin.user.username
        )
        uow.session.add(row)
    else:
        row.value = value
        row.updated_at = utc_now()
        row.updated_by = admin.user.username
    if before is not None and json.dumps(before["value"], sort_keys=True) == json.dumps(
        value, sort_keys=True
    ):
        return
    record_gateway_change(
        uow,
        admin.user,
        admin.ip,
        "gateway.settings.update",
        "setting",
        name,
        before,
        {"value": value},
    )


class IdleTimeoutCache:
    """The idle timeout in force, read from the database at most every CACHE_SECONDS."""

    def __init__(self) -> None:
        self._value: timedelta | None = None
        self._read_at = 0.0

    def get(self, uow: UnitOfWork, settings: Settings) -> timedelta:
        now = time.monotonic()
        if self._value is None or now - self._read_at > CACHE_SECONDS:
            self._value = timedelta(minutes=idle_minutes(uow, settings))
            self._read_at = now
        return self._value

    def forget(self) -> None:
        self._value = None


__all__ = ["GROUP_ROLES_SETTING", "IDLE_MINUTES_SETTING", "IdleTimeoutCache", "current", "save"]
