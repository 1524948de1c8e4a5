"""Gateway rules on plain values: passwords, session tokens, why a session ended, login limits.

No database and no HTTP here; `service.py` loads the rows, asks these functions, stores the
answer. Password hashing is here rather than in `service.py` because it is pure computation
(argon2 via argon2-cffi) with rules of its own: unknown users cost as much as known ones.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.auth.tokens import Role
from shared.i18n import Text, _

SESSION_COOKIE = "portal_session"
ADMIN_USERNAME = "admin"
INVALID_CREDENTIALS = _("invalid username or password")
# last_seen_at is written at most this often, so a busy page does not write on every request.
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)
# Attempts stay this long: rate limiting, and the login history an admin reads.
LOGIN_ATTEMPT_RETENTION = timedelta(days=90)

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 20 ms of one core
# per check here, against about 170 ms for argon2-cffi's default (64 MiB, 3 passes, 4 lanes),
# which on 2 cores let a shift change of 50 sign-ins queue for seconds. Guessing online is held
# back by the sign-in limits; these parameters are for a stolen copy of the table. Hashes made
# with other parameters are re-made at the user's next sign-in (`password_needs_rehash`).
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class Language(StrEnum):
    EN = "en"
    ES = "es"


class SessionEnd(StrEnum):
    """Why a request carries no live session; the first one means it never had one."""

    NOT_SIGNED_IN = "not_signed_in"
    SIGNED_IN_ELSEWHERE = "signed_in_elsewhere"
    LOGOUT = "logout"
    IDLE = "idle"
    ACCOUNT_DISABLED = "account_disabled"
    PASSWORD_RESET = "password_reset"
    EXPIRED = "expired"


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive, as in Active Directory: 'Maria' and 'maria' are one user."""
    return username.strip().lower()


def known_roles(roles: Iterable[str]) -> list[str]:
    """The roles as stored: each one a `Role`, no duplicates; an unknown name is an error."""
    return list(dict.fromkeys(Role(role).value for role in roles))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown user) a dummy one costs the same."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than `_hasher`'s."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site_reason(
    method: str, host: str | None, origin: str | None, fetch_site: str | None
) -> Text | None:
    """Why a state-changing browser request looks cross-site, or None when it does not.

    Browsers send Sec-Fetch-Site and Origin on such requests; a page on another site cannot
    forge either, so a request they mark as cross-site is refused (CSRF). A client that sends
    neither (a script, curl) carries no ambient cookie from another site and passes.
    """
    if method.upper() in SAFE_METHODS:
        return None
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return _("Sec-Fetch-Site is '{value}'", value=fetch_site)
    if origin is not None and origin != "null":
        origin_host = origin.split("://", 1)[-1]
        if host is None or origin_host != host:
            return _("Origin '{origin}' is not this site", origin=origin)
    elif origin == "null":
        return _("Origin is 'null'")
    return None


def fingerprint(text: str) -> str:
    """A short, stable hash to log in place of something that may be a secret."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def new_password() -> str:
    return secrets.token_urlsafe(12)


def csrf_token(secret: str, session_token: str | None) -> str:
    """The anti-forgery token of a session: forms and htmx requests send it back.

    Derived from the session's own secret, so it needs no storage and dies with the session;
    a page on another site can read neither the cookie nor this token.
    """
    if not session_token:
        return ""
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), "sha256").hexdigest()


def csrf_matches(secret: str, session_token: str | None, sent: str | None) -> bool:
    expected = csrf_token(secret, session_token)
    return bool(expected and sent) and hmac.compare_digest(expected, sent or "")


def new_session_token() -> str:
    """The secret the browser keeps in its cookie; only its digest is ever stored."""
    return secrets.token_urlsafe(32)


def session_id(token: str) -> str:
    """What the sessions table stores: a leaked table row cannot be replayed as a cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_end(
    ended_reason: str | None,
    expires_at: datetime,
    now: datetime,
    *,
    created_at: datetime | None = None,
    max_age: timedelta | None = None,
) -> SessionEnd | None:
    """Why this session no longer admits requests, or None while it is live."""
    if ended_reason is not None:
        try:
            return SessionEnd(ended_reason)
        except ValueError:  # a reason a newer version wrote: still ended
            return SessionEnd.NOT_SIGNED_IN
    if created_at is not None and max_age is not None and now - created_at >= max_age:
        return SessionEnd.EXPIRED
    if expires_at <= now:
        return SessionEnd.IDLE
    return None


def reason_to_end_other_session(expires_at: datetime, now: datetime) -> SessionEnd:
    """A new sign-in ends the user's other sessions: those already idle are recorded as such."""
    return SessionEnd.IDLE if expires_at <= now else SessionEnd.SIGNED_IN_ELSEWHERE


def needs_touch(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= SESSION_TOUCH_INTERVAL


def why_session_ended(reason: SessionEnd, idle_minutes: int) -> Text:
    """What the person at the screen is told when a request is refused for want of a session."""
    match reason:
        case SessionEnd.SIGNED_IN_ELSEWHERE:
            return _(
                "Your session ended because you signed in on another device. "
                "Sign in again to continue here."
            )
        case SessionEnd.LOGOUT:
            return _("You signed out. Sign in again to continue.")
        case SessionEnd.IDLE:
            if idle_minutes == 1:
                return _(
                    "Your session ended after 1 minute without activity. Sign in again to continue."
                )
            return _(
                "Your session ended after {minutes} minutes without activity. "
                "Sign in again to continue.",
                minutes=idle_minutes,
            )
        case SessionEnd.ACCOUNT_DISABLED:
            return _("Your account has been disabled. Ask an administrator.")
        case SessionEnd.EXPIRED:
            return _("Sessions last at most one shift. Sign in again to continue.")
        case SessionEnd.PASSWORD_RESET:
            return _(
                "Your password was changed by an administrator. Sign in with the new password."
            )
        case _:
            return _("You are not signed in.")


@dataclass(frozen=True)
class LoginLimit:
    """At most `failures` failed attempts per `window`; the next attempt waits."""

    failures: int
    window: timedelta


PER_USERNAME = LoginLimit(failures=5, window=timedelta(minutes=15))
PER_IP = LoginLimit(failures=20, window=timedelta(minutes=15))


def login_retry_after(failures: Sequence[datetime], limit: LoginLimit, now: datetime) -> int | None:
    """Seconds until another attempt is allowed, or None when one is allowed now.

    `failures` are the times of failed attempts, oldest first. Attempts are refused while the
    window holds `limit.failures` of them; they are allowed again once enough have aged out.
    """
    recent = [at for at in failures if at > now - limit.window]
    if len(recent) < limit.failures:
        return None
    # The block lifts when only limit.failures - 1 remain in the window.
    frees_at = recent[len(recent) - limit.failures] + limit.window
    return max(1, math.ceil((frees_at - now).total_seconds()))


def first_start_notice(password: str) -> str:
    """The boxed message that shows the generated admin password, once, on the console."""
    lines = [
        f"Production Portal: first start. Sign in as {ADMIN_USERNAME} with password: {password}",
        "This password is shown only this once: keep it somewhere safe.",
        "(Set PORTAL_ADMIN_PASSWORD before the first start to choose it yourself.)",
    ]
    width = max(len(line) for line in lines)
    border = "+" + "-" * (width + 4) + "+"
    body = [f"|  {line.ljust(width)}  |" for line in lines]
    return "\n".join([border, *body, border])
