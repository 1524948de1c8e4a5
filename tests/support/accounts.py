"""A local account as an admin would create it, for tests that need users of given roles."""

from __future__ import annotations

from services.gateway.domain import hash_password
from services.gateway.models import User
from shared.events.envelope import utc_now


def local_user(username: str, password: str, roles: list[str], language: str = "en") -> User:
    return User(
        username=username,
        display_name=username.title(),
        password_hash=hash_password(password),
        source="local",
        roles=roles,
        language=language,
        active=True,
        created_at=utc_now(),
    )
