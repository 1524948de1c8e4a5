"""Request and response bodies of the gateway's own API (sign-in and the current user)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.gateway.domain import Language


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
