"""The service token: how the gateway tells a service who is calling (DESIGN §7).

The gateway signs a short-lived HS256 JWT per call with the secret it shares with the services;
each service verifies it and enforces roles itself. A token that fails verification raises
`Unauthorized` whose detail and code say what was wrong, because "401" alone helps nobody debug a
clock skew or a mismatched secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from shared.i18n import _
from shared.web.problems import Unauthorized

ALGORITHM = "HS256"
ISSUER = "portal-gateway"
AUDIENCE = "portal-services"
# Tolerated clock difference between the gateway and a service.
CLOCK_SKEW_SECONDS = 5
REQUIRED_CLAIMS = ("sub", "roles", "iat", "exp", "iss", "aud")


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    PLANNER = "planner"
    BUYER = "buyer"
    STORE = "store"
    QUALITY = "quality"
    ACCOUNTANT = "accountant"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified caller: the user's login, their roles and display name, and the address
    the gateway saw the request come from (`ip`, None when the token carries none)."""

    user: str
    roles: tuple[str, ...]
    name: str | None
    expires_at: datetime
    ip: str | None = None

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def has_any_role(self, *roles: Role | str) -> bool:
        """True when the caller holds one of `roles`; an admin holds them all."""
        return self.is_admin or any(str(role) in self.roles for role in roles)


def issue_service_token(
    secret: str,
    *,
    user: str,
    roles: Sequence[str],
    ttl_seconds: int,
    name: str | None = None,
    ip: str | None = None,
) -> str:
    """Sign a token for one call from the gateway; unknown role names are a programming error.

    `ip` is the client's address as the gateway saw it, for the audit log; optional, so a
    token without it (an older gateway, a script) is still valid.
    """
    if not secret:
        raise ValueError("the service token secret is not configured")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    now = datetime.now(UTC)
    claims = {
        "sub": user,
        "roles": [Role(role).value for role in roles],
        "name": name,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
    }
    if ip is not None:
        claims["ip"] = ip
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_service_token(secret: str, token: str | None) -> TokenClaims:
    """The claims of a valid token; `Unauthorized` naming the problem otherwise."""
    if not secret:
        raise ValueError("the service token secret is not configured")
    if not token:
        raise Unauthorized(
            _("No service token: the request must carry 'Authorization: Bearer <token>'."),
            code="token_missing",
        )
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(exc) from exc
    return _claims_from(payload)


def _unauthorized(exc: jwt.InvalidTokenError) -> Unauthorized:
    # Order matters: InvalidSignatureError is a DecodeError.
    match exc:
        case jwt.ExpiredSignatureError():
            return Unauthorized(_("The service token has expired."), code="token_expired")
        case jwt.InvalidSignatureError():
            return Unauthorized(
                _(
                    "The service token's signature does not match: it was forged, altered, "
                    "or signed with another secret."
                ),
                code="token_bad_signature",
            )
        case jwt.InvalidAudienceError():
            return Unauthorized(
                _(
                    "The service token is meant for another audience, not '{audience}'.",
                    audience=AUDIENCE,
                ),
                code="token_wrong_audience",
            )
        case jwt.InvalidIssuerError():
            return Unauthorized(
                _("The service token was not issued by '{issuer}'.", issuer=ISSUER),
                code="token_wrong_issuer",
            )
        case jwt.ImmatureSignatureError():
            return Unauthorized(
                _("The service token is not valid yet (issued in the future: check the clocks)."),
                code="token_not_yet_valid",
            )
        case jwt.InvalidAlgorithmError():
            return Unauthorized(
                _("The service token is not signed with {algorithm}.", algorithm=ALGORITHM),
                code="token_bad_algorithm",
            )
        case jwt.MissingRequiredClaimError(claim=claim):
            return Unauthorized(
                _("The service token lacks the '{claim}' claim.", claim=claim),
                code="token_malformed",
            )
        case _:
            return Unauthorized(
                _("The service token is malformed: it is not a readable JWT."),
                code="token_malformed",
            )


def _claims_from(payload: Mapping[str, Any]) -> TokenClaims:
    user, roles, name = payload["sub"], payload["roles"], payload.get("name")
    # Only for the audit log, signed like the rest: anything but text is taken as no address.
    ip = payload.get("ip") if isinstance(payload.get("ip"), str) else None
    if not isinstance(user, str) or not user:
        raise Unauthorized(_("The service token's 'sub' claim is empty."), code="token_malformed")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized(
            _("The service token's 'roles' claim is not a list of role names."),
            code="token_malformed",
        )
    if name is not None and not isinstance(name, str):
        raise Unauthorized(
            _("The service token's 'name' claim is not text."), code="token_malformed"
        )
    return TokenClaims(
        user=user,
        roles=tuple(roles),
        name=name,
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        ip=ip,
    )
