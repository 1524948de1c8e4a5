"""The gateway's own tables: users, sessions, sign-in attempts, the audit log, plant settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.messaging.tables import Id, messaging_tables
from shared.types import UtcDateTime


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
messaging = messaging_tables(metadata)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("language IN ('en', 'es')", name="ck_users_language"),
        CheckConstraint("source IN ('local', 'directory')", name="ck_users_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # None for a directory (LDAP) user: the directory checks the password.
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # 'local' (argon2 hash here) or 'directory' (Active Directory / LDAP; roles from its groups).
    source: Mapped[str] = mapped_column(String(16), default="local")
    # Role names (shared.auth.tokens.Role), a JSON list.
    roles: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(2), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class UserSession(Base):
    """A signed-in browser. `id` is the SHA-256 of the cookie's token, never the token itself."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id_ended_at", "user_id", "ended_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Slides forward with use: last_seen_at + the idle timeout.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # 'signed_in_elsewhere', 'logout', 'idle', 'account_disabled', 'password_reset'
    # (domain.SessionEnd).
    ended_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)


class LoginAttempt(Base):
    """One sign-in attempt, failed or not: rate limiting and the admin's login history."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
        Index("ix_login_attempts_username_ok_at", "username", "ok", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150))
    ip: Mapped[str] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(Base):
    """One change a user made, in any service: who, when, from where, what, before and after.

    Services record their changes as `AuditRecorded` events in the same transaction as the
    change; the gateway keeps them here. Append-only (database triggers); `event_id` makes a
    redelivered event a no-op.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_at", "at"),
        Index("ix_audit_entries_actor_at", "actor", "at"),
        Index("ix_audit_entries_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    service: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(150))
    actor_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    # What was done, named like the permission matrix: 'inventory.items.create'.
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PlantSetting(Base):
    """A setting the plant's admin changes in the UI (session timeout, LDAP group mapping).

    The environment (PORTAL_*) gives the defaults; a row here overrides one by name.
    """

    __tablename__ = "plant_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(150))
