"""User administration: local accounts, roles, deactivation, passwords, login history.

Use cases for the admin pages; each takes an open unit of work and the admin who acts, and
writes its audit entry (who, from where, before and after) in the same transaction. Two rules
protect the plant from locking itself out: an admin cannot deactivate themself, and the last
active admin keeps the admin role. A directory (LDAP) user's roles come from their groups on
every sign-in, so they are changed in the directory, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from services.gateway import domain
from services.gateway.audit import record_gateway_change
from services.gateway.domain import SessionEnd
from services.gateway.models import LoginAttempt, User, UserSession
from services.gateway.schemas import (
    LoginRecordOut,
    PasswordReset,
    SessionRecordOut,
    UserAdminOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from shared.auth.tokens import Role
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, contains_text, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound

USER_SORTS = {
    "username": User.username,
    "display_name": User.display_name,
    "last_login_at": User.last_login_at,
    "created_at": User.created_at,
}


@dataclass(frozen=True)
class Admin:
    """Who makes the change, and from where (for the audit log)."""

    user: UserOut
    ip: str | None


def snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user: never the password hash."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "language": user.language,
        "active": user.active,
        "source": user.source,
    }


def list_users(
    uow: UnitOfWork,
    page: PageParams,
    *,
    q: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    sort: str | None = None,
) -> Page[UserAdminOut]:
    query = select(User)
    if q:
        query = query.where(contains_text(q, User.username, User.display_name))
    if active is not None:
        query = query.where(User.active.is_(active))
    ordered = apply_sort(query, sort, USER_SORTS, default="username", tiebreak=User.id)
    if role:
        # Roles are a JSON list: filtered here, the same way on SQLite and PostgreSQL.
        everyone = [user for user in uow.session.scalars(ordered) if role in user.roles]
        window = everyone[page.offset : page.offset + page.limit]
        return Page(
            items=[UserAdminOut.model_validate(user) for user in window],
            total=len(everyone),
            limit=page.limit,
            offset=page.offset,
        )
    return paginate(uow.session, ordered, page, UserAdminOut.model_validate)


def get_user(uow: UnitOfWork, username: str) -> User:
    user = uow.session.scalar(
        select(User).where(User.username == domain.normalise_username(username))
    )
    if user is None:
        raise NotFound(_("There is no user {username}.", username=username), code="no_such_user")
    return user


def create_local_user(uow: UnitOfWork, body: UserCreate, admin: Admin) -> UserAdminOut:
    if uow.session.scalar(select(User.id).where(User.username == body.username)) is not None:
        raise Conflict(
            _("There is already a user {username}.", username=body.username),
            field="username",
            code="user_exists",
        )
    user = User(
        username=body.username,
        display_name=body.display_name,
        password_hash=domain.hash_password(body.password),
        source="local",
        roles=domain.known_roles(body.roles),
        language=body.language.value,
        active=True,
        created_at=utc_now(),
    )
    uow.session.add(user)
    uow.session.flush()
    record_gateway_change(
        uow,
        admin.user,
        admin.ip,
        "gateway.users.create",
        "user",
        user.username,
        None,
        snapshot(user),
    )
    return UserAdminOut.model_validate(user)


def update_user(uow: UnitOfWork, username: str, body: UserUpdate, admin: Admin) -> UserAdminOut:
    user = get_user(uow, username)
    before = snapshot(user)
    roles = domain.known_roles(body.roles)
    if user.source == "directory" and set(roles) != set(user.roles):
        raise InvalidInput(
            _(
                "{username} signs in through the directory: change their groups there.",
                username=user.username,
            ),
            field="roles",
            code="directory_roles",
        )
    if Role.ADMIN.value in user.roles and Role.ADMIN.value not in roles:
        _keep_an_admin(uow, user, field="roles")
    user.display_name = body.display_name
    user.roles = roles
    user.language = body.language.value
    record_gateway_change(
        uow,
        admin.user,
        admin.ip,
        "gateway.users.update",
        "user",
        user.username,
        before,
        snapshot(user),
    )
    return UserAdminOut.model_validate(user)


def set_active(uow: UnitOfWork, username: str, active: bool, admin: Admin) -> UserAdminOut:
    """Deactivate (their sessions end at once, and they are told why) or reactivate a user."""
    user = get_user(uow, username)
    if user.active == active:
        return UserAdminOut.model_validate(user)
    if not active:
        if user.username == admin.user.username:
            raise Conflict(
                _("You cannot deactivate your own account."), field="active", code="self_deactivate"
            )
        if Role.ADMIN.value in user.roles:
            _keep_an_admin(uow, user, field="active")
    before = snapshot(user)
    user.active = active
    if not active:
        _end_sessions(uow, user, SessionEnd.ACCOUNT_DISABLED)
    action = "gateway.users.activate" if active else "gateway.users.deactivate"
    record_gateway_change(
        uow, admin.user, admin.ip, action, "user", user.username, before, snapshot(user)
    )
    return UserAdminOut.model_validate(user)


def reset_password(uow: UnitOfWork, username: str, body: PasswordReset, admin: Admin) -> None:
    user = get_user(uow, username)
    if user.source != "local":
        raise InvalidInput(
            _(
                "{username} signs in through the directory: their password is kept there.",
                username=user.username,
            ),
            field="password",
            code="directory_password",
        )
    user.password_hash = domain.hash_password(body.password)
    # Whoever signed in with the old password is signed out (an admin resetting their own has
    # no other session: one live session per user).
    if user.username != admin.user.username:
        _end_sessions(uow, user, SessionEnd.PASSWORD_RESET)
    # The audit log says that it changed, never what to.
    record_gateway_change(
        uow,
        admin.user,
        admin.ip,
        "gateway.users.reset_password",
        "user",
        user.username,
        {"password": "(previous)"},
        {"password": "(changed)"},
    )


def login_history(
    uow: UnitOfWork, username: str, page: PageParams
) -> tuple[Page[LoginRecordOut], list[SessionRecordOut]]:
    """Sign-in attempts (kept 90 days), newest first, and the user's recent sessions."""
    user = get_user(uow, username)
    attempts = paginate(
        uow.session,
        select(LoginAttempt)
        .where(LoginAttempt.username == user.username)
        .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc()),
        page,
        LoginRecordOut.model_validate,
    )
    sessions = [
        SessionRecordOut.model_validate(session)
        for session in uow.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user.id)
            .order_by(UserSession.created_at.desc())
            .limit(20)
        )
    ]
    return attempts, sessions


def _end_sessions(uow: UnitOfWork, user: User, reason: SessionEnd) -> None:
    """End the user's live sessions now; their next request is told `reason`."""
    now = utc_now()
    live = uow.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    )
    for session in live:
        session.ended_at = now
        session.ended_reason = reason.value


def _keep_an_admin(uow: UnitOfWork, user: User, *, field: str) -> None:
    # FOR UPDATE: two admins taking the role from each other at the same instant are served
    # one after the other, and the second sees that the first is no longer an admin.
    others = [
        other
        for other in uow.session.scalars(
            select(User).where(User.active.is_(True), User.id != user.id).with_for_update()
        )
        if Role.ADMIN.value in other.roles
    ]
    if not others:
        raise Conflict(
            _(
                "{username} is the last active administrator: "
                "make someone else an administrator first.",
                username=user.username,
            ),
            field=field,
            code="last_admin",
        )
