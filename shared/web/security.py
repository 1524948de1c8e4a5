"""FastAPI dependencies that identify the caller and enforce roles on every endpoint (DESIGN §7).

    @router.post("/receipts")
    def receive(..., claims: TokenClaims = Depends(require_roles(Role.STORE))): ...

The token secret is read from `request.app.state.token_secret`, set by `create_app`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from shared import context
from shared.auth.permissions import DESCRIPTIONS, Action, allowed
from shared.auth.tokens import Role, TokenClaims, verify_service_token
from shared.i18n import _
from shared.web.problems import Forbidden, Unauthorized


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is no header."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            _("The Authorization header must be 'Bearer <token>'."), code="token_malformed"
        )
    return token.strip()


# async so that it runs in the request's own context and the current user stays set for it.
async def authenticated(request: Request) -> TokenClaims:
    claims = verify_service_token(request.app.state.token_secret, bearer_token(request))
    context.set_current_user(claims)
    return claims


CurrentUser = Annotated[TokenClaims, Depends(authenticated)]


def require_permission(action: Action) -> Callable[[TokenClaims], Awaitable[TokenClaims]]:
    """A dependency passing callers whose roles the permission matrix allows `action`."""

    async def permitted(claims: CurrentUser) -> TokenClaims:
        if allowed(claims.roles, action):
            return claims
        raise Forbidden(
            _("Your role may not {what} ({action}).", what=DESCRIPTIONS[action], action=action),
            code="permission_required",
        )

    return permitted


def require_roles(*roles: Role | str) -> Callable[[TokenClaims], Awaitable[TokenClaims]]:
    """A dependency passing callers that hold one of `roles` (or admin); 403 for the others."""
    if not roles:
        raise ValueError("require_roles needs at least one role; use `authenticated` for any")
    needed = tuple(Role(role) for role in roles)  # a misspelt role fails at import, not at 3 am
    wanted = (
        _("This needs the role '{role}'.", role=needed[0])
        if len(needed) == 1
        else _(
            "This needs one of the roles {roles}.",
            roles=", ".join(f"'{role}'" for role in needed),
        )
    )

    async def holds_role(claims: CurrentUser) -> TokenClaims:
        if claims.has_any_role(*needed):
            return claims
        raise Forbidden(wanted, code="role_required")

    return holds_role
