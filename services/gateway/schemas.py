"""Request and response bodies of the gateway's own API: sign-in, the current user, and the
users an admin manages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.gateway.domain import Language
from shared.auth.tokens import Role


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]
    # Bounded so that nobody makes argon2 hash a megabyte.
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class UserOut(BaseModel):
    """The signed-in user, as the browser and the service tokens see them."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    roles: list[str]
    language: Language


Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=2,
        max_length=150,
        pattern=r"^[A-Za-z0-9._@-]+$",
    ),
]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Long enough to resist guessing, bounded so that nobody makes argon2 hash a megabyte.
NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=1024)]


class UserCreate(BaseModel):
    """A local account, made by an admin."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    display_name: DisplayName
    password: NewPassword
    roles: Annotated[list[Role], Field(min_length=1)]
    language: Language = Language.EN


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName
    roles: Annotated[list[Role], Field(min_length=1)]
    language: Language


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: NewPassword


class UserAdminOut(UserOut):
    """A user as the admin pages list them."""

    source: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class LoginRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    ip: str
    ok: bool


class SessionRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    ended_reason: str | None
    ip: str | None
    user_agent: str | None
