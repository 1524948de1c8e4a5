"""Gateway use cases: the first admin, signing in and out, and finding the session of a request.

Each takes an open unit of work and leaves the commit to its caller. `sign_in` and
`resume_session` return a refusal rather than raising it: the failed attempt, or the end of an
idle session, must be written although the request is refused, so the caller commits first
and refuses after. One exception: a directory user whose groups give no portal role must be
told so (not "wrong password"), and the callers show a message only from a raised
`PortalError`; so `sign_in` commits that failed attempt itself and then raises `NoPortalRole`.

Sign-in has two sources (DESIGN §7): local accounts, checked against their argon2 hash, and
Active Directory / LDAP (`directory.py`), whose users get a row here created or refreshed
from the directory on every sign-in. A local account and a directory user with the same
username: the local account wins, and the directory is never asked for that name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from services.gateway import domain
from services.gateway.directory import Directory, DirectoryConfig, DirectoryUser
from services.gateway.domain import ADMIN_USERNAME, Language, SessionEnd
from services.gateway.models import LoginAttempt, PlantSetting, User, UserSession
from services.gateway.schemas import LoginRequest, UserOut
from shared.auth.tokens import Role
from shared.events.envelope import utc_now
from shared.i18n import Text, _
from shared.settings import Settings, get_settings, parse_group_roles
from shared.uow import UnitOfWork
from shared.web.problems import NotFound, PortalError

log = structlog.get_logger(__name__)

USER_AGENT_LENGTH = 300
DISPLAY_NAME_LENGTH = 200
LOCAL, DIRECTORY = "local", "directory"  # users.source
# The plant_settings row by which the admin overrides PORTAL_LDAP_GROUP_ROLES.
GROUP_ROLES_SETTING = "ldap_group_roles"


class TooManyLoginAttempts(PortalError):
    status = 429
    title = _("Too many requests")
    slug = "too-many-login-attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        minutes = math.ceil(retry_after_seconds / 60)
        super().__init__(
            _("Too many failed sign-in attempts. Try again in 1 minute.")
            if minutes == 1
            else _(
                "Too many failed sign-in attempts. Try again in {minutes} minutes.",
                minutes=minutes,
            ),
            code="login_rate_limited",
        )
        self.retry_after_seconds = retry_after_seconds

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class NoPortalRole(PortalError):
    status = 403
    title = _("Forbidden")
    slug = "no-portal-role"

    def __init__(self) -> None:
        super().__init__(
            _(
                "Your directory password is right, but none of your directory groups gives you a "
                "role in the portal. Ask an administrator to map one of your groups to a role."
            ),
            code="directory_no_roles",
        )


class GroupMappingInvalid(PortalError):
    status = 503
    title = _("Service Unavailable")
    slug = "directory-group-mapping-invalid"

    def __init__(self, reason: str | Text) -> None:
        super().__init__(
            _(
                "The directory group mapping saved in the plant settings is invalid ({reason}); "
                "directory accounts cannot sign in until an administrator corrects it.",
                reason=reason,
            ),
            field=GROUP_ROLES_SETTING,
            code="directory_group_mapping_invalid",
        )


@dataclass(frozen=True)
class Client:
    """Where a sign-in comes from, as the HTTP server saw it."""

    ip: str
    user_agent: str | None


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie; the database keeps only its digest
    user: UserOut


def seed_admin(uow: UnitOfWork, settings: Settings) -> None:
    """On first start (no users at all) create `admin`; its password is shown once if made up."""
    if uow.session.scalar(select(User.id).limit(1)) is not None:
        return
    configured = settings.admin_password
    password = configured or domain.new_password()
    uow.session.add(
        User(
            username=ADMIN_USERNAME,
            display_name="Administrator",
            password_hash=domain.hash_password(password),
            roles=[Role.ADMIN.value],
            language=Language.EN.value,
            active=True,
            created_at=utc_now(),
        )
    )
    uow.session.flush()
    log.info(
        "gateway.admin_created",
        username=ADMIN_USERNAME,
        password_source="PORTAL_ADMIN_PASSWORD" if configured else "generated, printed once",
    )
    if not configured:
        print(domain.first_start_notice(password), flush=True)


def sign_in(
    uow: UnitOfWork,
    credentials: LoginRequest,
    client: Client,
    idle: timedelta,
    now: datetime,
    *,
    settings: Settings | None = None,
    directory: Directory | None = None,
) -> SignedIn | None:
    """A new session for the user, ending their others; None for wrong credentials.

    `settings` are the app's (None: the process's); `directory` replaces the one they
    describe (tests). Raises `TooManyLoginAttempts`, `DirectoryUnavailable` when the directory
    does not answer (nothing is recorded: the person did nothing wrong), and `NoPortalRole`
    after committing the failed attempt (see the module docstring).
    """
    settings = settings or get_settings()
    username = domain.normalise_username(credentials.username)
    _refuse_when_throttled(uow, username, client.ip, now)
    user = uow.session.scalar(select(User).where(User.username == username))
    config = DirectoryConfig.from_settings(settings)
    if config is None or (user is not None and user.source == LOCAL):
        accepted = _local_account(user, credentials.password, settings)
    else:
        found = _ask_directory(uow, user, username, credentials.password, settings, directory)
        if found is not None and not found.roles:
            _refuse_without_role(uow, user, username, found, client, now)
        accepted = _directory_account(uow, user, username, found, now) if found else None
    _record_attempt(uow, username, client.ip, now, ok=accepted is not None)
    if accepted is None:
        # A password typed into the username box must not reach the logs: log a short hash;
        # a known user is named, since that name is no secret.
        logged = user.username if user is not None else domain.fingerprint(username)
        log.warning("gateway.sign_in_failed", user=logged, ip=client.ip)
        return None
    token = _start_session(uow, accepted, client, idle, now)
    log.info("gateway.signed_in", username=username, source=accepted.source, ip=client.ip)
    return SignedIn(token=token, user=UserOut.model_validate(accepted))


def _local_account(user: User | None, password: str, settings: Settings) -> User | None:
    """The local account when this is its password and local accounts are on."""
    local = user is not None and user.source == LOCAL
    # Verified even for an unknown, disabled or directory user, so the answer takes as long.
    matches = domain.verify_password(user.password_hash if local and user else None, password)
    if user is None or not local or not user.active or not matches:
        return None
    if not settings.local_accounts:
        log.warning("gateway.local_accounts_off", username=user.username)
        return None
    if user.password_hash and domain.password_needs_rehash(user.password_hash):
        user.password_hash = domain.hash_password(password)
    return user


def _ask_directory(
    uow: UnitOfWork,
    user: User | None,
    username: str,
    password: str,
    settings: Settings,
    directory: Directory | None,
) -> DirectoryUser | None:
    """What the directory says of this username and password; None for no (or disabled here)."""
    # Costs what a local check costs, so an unknown name is no quicker to refuse than a local one.
    domain.verify_password(None, password)
    if user is not None and not user.active:
        return None
    if directory is None:
        config = DirectoryConfig.from_settings(settings)
        assert config is not None  # the caller asks only when the directory is configured
        directory = Directory(config)
    return directory.authenticate(username, password, directory_group_roles(uow, settings))


def directory_group_roles(uow: UnitOfWork, settings: Settings) -> dict[str, list[str]]:
    """The group -> roles mapping in force: the admin's plant setting, else the environment's.

    An invalid saved mapping refuses directory sign-ins (503) rather than fall back to the
    environment's, which may grant what the admin meant to take away.
    """
    row = uow.session.get(PlantSetting, GROUP_ROLES_SETTING)
    if row is None:
        return settings.ldap_group_roles
    try:
        return parse_group_roles(row.value)
    except ValueError as exc:
        log.error("gateway.group_mapping_invalid", error=str(exc))
        raise GroupMappingInvalid(exc.args[0] if exc.args else str(exc)) from exc


def _directory_account(
    uow: UnitOfWork, user: User | None, username: str, found: DirectoryUser, now: datetime
) -> User:
    """The user's row, created on their first sign-in; name and roles as the directory says."""
    if user is None:
        user = _new_directory_user(uow, username, found, now)
    _refresh_from_directory(user, found)
    return user


def _new_directory_user(
    uow: UnitOfWork, username: str, found: DirectoryUser, now: datetime
) -> User:
    user = User(
        username=username,
        display_name=found.display_name[:DISPLAY_NAME_LENGTH],
        password_hash=None,
        source=DIRECTORY,
        roles=list(found.roles),
        language=Language.EN.value,
        active=True,
        created_at=now,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(user)
    except IntegrityError:
        # The same person's first sign-in on another device got there first: use that row.
        existing = uow.session.scalar(select(User).where(User.username == username))
        if existing is None:
            raise
        return existing
    return user


def _refresh_from_directory(user: User, found: DirectoryUser) -> None:
    # The language is the user's own choice and stays; the rest is the directory's.
    user.source = DIRECTORY
    user.password_hash = None
    user.display_name = found.display_name[:DISPLAY_NAME_LENGTH]
    user.roles = list(found.roles)


def _refuse_without_role(
    uow: UnitOfWork,
    user: User | None,
    username: str,
    found: DirectoryUser,
    client: Client,
    now: datetime,
) -> None:
    """Record the refusal, commit it, and raise `NoPortalRole` (see the module docstring)."""
    if user is not None:
        _refresh_from_directory(user, found)  # no roles now: a live session loses them too
    _record_attempt(uow, username, client.ip, now, ok=False)
    log.warning("gateway.sign_in_without_role", username=username, groups=list(found.groups))
    uow.commit()
    raise NoPortalRole()


def _start_session(
    uow: UnitOfWork, user: User, client: Client, idle: timedelta, now: datetime
) -> str:
    """A new session for the user, ending their others; the token for the cookie."""
    _end_other_sessions(uow, user.id, now)
    token = domain.new_session_token()
    uow.session.add(
        UserSession(
            id=domain.session_id(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + idle,
            ip=client.ip,
            user_agent=client.user_agent[:USER_AGENT_LENGTH] if client.user_agent else None,
        )
    )
    user.last_login_at = now
    return token


def resume_session(
    uow: UnitOfWork,
    token: str | None,
    idle: timedelta,
    now: datetime,
    *,
    max_age: timedelta | None = None,
    touch: bool = True,
) -> UserOut | SessionEnd:
    """The user of a live session, or why there is none. Its idle clock restarts, unless
    `touch` is False: a page refreshing itself is not someone at the screen."""
    if not token:
        return SessionEnd.NOT_SIGNED_IN
    found = uow.session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == domain.session_id(token))
    ).first()
    if found is None:
        return SessionEnd.NOT_SIGNED_IN
    session, user = found
    end = domain.session_end(
        session.ended_reason,
        session.expires_at,
        now,
        created_at=session.created_at,
        max_age=max_age,
    )
    if end is None and not user.active:
        end = SessionEnd.ACCOUNT_DISABLED
    if end is not None:
        if session.ended_at is None:
            _end_session(session, end, now)
        return end
    if touch and domain.needs_touch(session.last_seen_at, now):
        session.last_seen_at = now
        session.expires_at = now + idle
    return UserOut.model_validate(user)


def sign_out(uow: UnitOfWork, token: str | None, now: datetime) -> None:
    """End the session of this cookie, if it is still live; signing out twice is harmless."""
    if not token:
        return
    session = uow.session.get(UserSession, domain.session_id(token))
    if session is not None and session.ended_at is None:
        _end_session(session, SessionEnd.LOGOUT, now)


def _refuse_when_throttled(uow: UnitOfWork, username: str, ip: str, now: datetime) -> None:
    per_user, per_ip = domain.PER_USERNAME, domain.PER_IP
    since = now - max(per_user.window, per_ip.window)
    # A successful sign-in forgives the user's earlier mistakes (not the address's).
    last_success = uow.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.ok.is_(True), LoginAttempt.at > since
        )
    )
    user_failures = list(
        uow.session.scalars(
            select(LoginAttempt.at)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.ok.is_(False),
                LoginAttempt.at > (last_success or since),
            )
            .order_by(LoginAttempt.at)
        )
    )
    ip_failures = list(
        uow.session.scalars(
            select(LoginAttempt.at)
            .where(LoginAttempt.ip == ip, LoginAttempt.ok.is_(False), LoginAttempt.at > since)
            .order_by(LoginAttempt.at)
        )
    )
    waits = [
        wait
        for wait in (
            domain.login_retry_after(user_failures, per_user, now),
            domain.login_retry_after(ip_failures, per_ip, now),
        )
        if wait is not None
    ]
    if waits:
        log.warning("gateway.sign_in_throttled", username=username, ip=ip)
        raise TooManyLoginAttempts(max(waits))


def _record_attempt(uow: UnitOfWork, username: str, ip: str, now: datetime, *, ok: bool) -> None:
    uow.session.execute(
        delete(LoginAttempt).where(LoginAttempt.at < now - domain.LOGIN_ATTEMPT_RETENTION)
    )
    uow.session.add(LoginAttempt(username=username, ip=ip, at=now, ok=ok))


def _end_other_sessions(uow: UnitOfWork, user_id: int, now: datetime) -> None:
    live = uow.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    )
    for session in live:
        _end_session(session, domain.reason_to_end_other_session(session.expires_at, now), now)


def _end_session(session: UserSession, reason: SessionEnd, now: datetime) -> None:
    # An idle session ended when its idle time ran out, not when someone noticed.
    session.ended_at = min(now, session.expires_at) if reason is SessionEnd.IDLE else now
    session.ended_reason = reason.value


def set_language(uow: UnitOfWork, username: str, language: Language, client: Client) -> None:
    """The user's language, kept in their profile: every device they sign in on uses it."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_("There is no user {username}.", username=username))
    user.language = language.value
    log.info("gateway.language_changed", username=username, language=language.value)
