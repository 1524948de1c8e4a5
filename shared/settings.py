"""Settings from the environment (prefix PORTAL_), documented in .env.example.

One `Settings` object serves every service; a service reads only the fields it needs. In
embedded mode every service's database defaults to its own SQLite file under `var_dir`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.auth.tokens import Role
from shared.i18n import _

SERVICES = ("inventory", "purchasing", "production", "mrp", "downtime", "accounting", "gateway")


class Settings(BaseSettings):
    # A refused setting is reported without its value: URLs carry passwords (PORTAL_MQTT_URL).
    model_config = SettingsConfigDict(
        env_prefix="PORTAL_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    var_dir: Path = Path("var")
    # The plant's time zone (IANA name): business dates are its local days.
    plant_timezone: str = "UTC"
    host: str = "127.0.0.1"
    port: int = 8000

    # One service's database (portal serve); embedded mode ignores it and uses var_dir.
    db_url: str | None = None
    # Broker for distributed mode; empty means the in-process broker.
    amqp_url: str | None = None
    # Prefix for exchange and queue names, so several installations (or test runs) share a broker.
    bus_prefix: str = ""

    # Where the gateway finds each service in distributed mode.
    inventory_url: str | None = None
    purchasing_url: str | None = None
    production_url: str | None = None
    mrp_url: str | None = None
    downtime_url: str | None = None
    accounting_url: str | None = None

    # HMAC secret shared by the gateway (signs) and the services (verify).
    service_token_secret: str | None = None
    service_token_ttl_seconds: int = 60
    admin_password: str | None = None
    session_idle_minutes: int = 480
    # However active, a session ends after this many hours (a shift and some): a user disabled
    # or moved between groups in the directory keeps no session past it.
    session_max_hours: int = Field(default=12, ge=1, le=168)
    secure_cookies: bool = False

    # Sign-in: local accounts (argon2 hashes in the gateway) and/or Active Directory / LDAP.
    # Off, only directory users sign in; a local account never falls through to the directory.
    local_accounts: bool = True
    # ldap://host:389 or ldaps://host:636; unset turns directory sign-in off.
    ldap_url: str | None = None
    # The service account that searches the directory; unset binds anonymously.
    ldap_bind_dn: str | None = None
    ldap_bind_password: SecretStr | None = None
    ldap_user_base: str | None = None
    # {username} is replaced by the escaped, lower-cased username.
    ldap_user_filter: str = "(uid={username})"
    ldap_display_name_attribute: str = "displayName"
    # Unset: groups are searched under ldap_user_base.
    ldap_group_base: str | None = None
    # {user_dn} is replaced by the escaped DN of the user; memberOf on the user counts as well.
    ldap_group_filter: str = "(|(member={user_dn})(uniqueMember={user_dn}))"
    # Group DN or CN -> role names (case-insensitive); the plant_settings row
    # 'ldap_group_roles' overrides it at run time.
    # NoDecode: the validator reads the JSON itself, so a mistake is named, not a traceback.
    ldap_group_roles: Annotated[dict[str, list[str]], NoDecode] = Field(default_factory=dict)
    ldap_timeout_seconds: float = Field(default=5, gt=0, le=60)
    ldap_start_tls: bool = False
    # CA certificates (PEM) that sign the directory's certificate, for ldaps:// and StartTLS.
    ldap_ca_file: Path | None = None

    # Delivery tuning: bounded retries with backoff, then dead-letter.
    handler_max_attempts: int = 4
    handler_backoff_seconds: float = Field(default=0.05, ge=0)
    relay_batch_size: int = 500
    relay_poll_seconds: float = 0.5
    # Published outbox rows and handled inbox ids are purged after these many days.
    outbox_keep_days: int = Field(default=7, ge=1)
    inbox_keep_days: int = Field(default=30, ge=7)
    # PostgreSQL caches 64 subtransactions per transaction; a batch that falls back to the
    # careful path takes a savepoint per envelope, so more than 64 would spill to disk.
    consumer_batch_size: int = Field(default=50, ge=1)
    # The QuickBooks webhook feed: how long a receiver may take to answer, and how often the
    # worker looks for due deliveries when it has nothing to do.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    # Machine state over MQTT (docs/downtime.md "Machine signals"): with a broker set, the
    # downtime service subscribes to <mqtt_topic_prefix>/<facility>/<line>/state.
    # mqtt://user:password@host:1883, or mqtts:// for TLS (port 8883 unless given).
    mqtt_url: str | None = None
    # Several installations (or test runs) on one broker each listen under their own prefix.
    mqtt_topic_prefix: str = "portal"
    # A client id makes the session persistent: the broker keeps QoS 1 messages for the service
    # while it restarts. One per replica (two clients with one id push each other off the
    # broker); unset, each connection is a fresh session with an id of its own.
    mqtt_client_id: str | None = None

    # Import from the plant's old ERP database over ODBC (docs/mrp.md "Import from an ERP").
    # The ODBC connection string, with or without DRIVER=...; it holds a password.
    erp_odbc: SecretStr | None = None
    # Without DRIVER= in the connection string: the first of these that unixODBC has installed.
    erp_odbc_drivers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["PostgreSQL Unicode", "PostgreSQL ANSI", "SQLite3"]
    )
    # The folder of SQL files, one per entity (items.sql, boms.sql, ...); unset: the samples
    # shipped in services/mrp/erp/mappings.
    erp_mappings: Path | None = None
    # `portal erp schedule` imports every this many seconds.
    erp_import_every: int | None = Field(default=None, ge=1)
    # Seconds to connect to the ERP database and for each mapping's query.
    erp_timeout_seconds: int = Field(default=30, ge=1, le=3600)

    log_level: str = "INFO"
    log_json: bool = True
    demo_data: bool = True

    @field_validator("plant_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("ldap_url")
    @classmethod
    def _ldap_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.lower().startswith(("ldap://", "ldaps://")):
            raise ValueError(f"{value!r} is not an ldap:// or ldaps:// URL")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.lower().startswith(("mqtt://", "mqtts://")):
            # Not the URL itself: it may carry the broker's password.
            scheme = value.partition("://")[0] if "://" in value else "no scheme"
            raise ValueError(f"must be an mqtt:// or mqtts:// URL, not {scheme}")
        return value

    @field_validator("mqtt_topic_prefix")
    @classmethod
    def _mqtt_prefix(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value or any(mark in value for mark in "+#"):
            raise ValueError(f"{value!r} is not a topic prefix (no wildcards, not empty)")
        return value

    @field_validator("mqtt_client_id")
    @classmethod
    def _mqtt_client_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @field_validator("erp_odbc_drivers", mode="before")
    @classmethod
    def _driver_names(cls, value: Any) -> list[str]:
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list):
            raise ValueError("give the ODBC driver names separated by commas")
        return [str(name).strip() for name in names if str(name).strip()]

    @field_validator("erp_odbc")
    @classmethod
    def _erp_odbc(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

    @field_validator("ldap_user_filter")
    @classmethod
    def _user_filter(cls, value: str) -> str:
        return _ldap_filter(value, "{username}")

    @field_validator("ldap_group_filter")
    @classmethod
    def _group_filter(cls, value: str) -> str:
        return _ldap_filter(value, "{user_dn}")

    @field_validator("ldap_group_roles", mode="before")
    @classmethod
    def _group_roles(cls, value: Any) -> dict[str, list[str]]:
        return parse_group_roles(value)

    @model_validator(mode="after")
    def _someone_can_sign_in(self) -> Self:
        if self.ldap_url and not self.ldap_user_base:
            raise ValueError("PORTAL_LDAP_USER_BASE is required with PORTAL_LDAP_URL")
        if not self.local_accounts and not self.ldap_url:
            raise ValueError(
                "PORTAL_LOCAL_ACCOUNTS=false needs PORTAL_LDAP_URL, or nobody could sign in"
            )
        return self

    def service_url(self, service: str) -> str | None:
        value: str | None = getattr(self, f"{service}_url", None)
        return value

    def database_url(self, service: str) -> str:
        """The service's own database: PORTAL_DB_URL, else a SQLite file under var_dir."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.var_dir / f'{service}.db').resolve()}"


def _ldap_filter(value: str, placeholder: str) -> str:
    value = value.strip()
    if not (value.startswith("(") and value.endswith(")")):
        raise ValueError(f"{value!r} is not an LDAP filter: it must be in parentheses")
    if placeholder not in value:
        raise ValueError(f"{value!r} must contain {placeholder}")
    return value


def parse_group_roles(value: Any) -> dict[str, list[str]]:
    """Directory group -> roles as stored: JSON text or a dict, each value a role or a list.

    Keys are kept as written (the directory adapter compares them case-insensitively); an
    unknown role is an error naming it, so a typo cannot silently give nobody that role.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(
                _(
                    "not valid JSON: {reason} (at character {position})",
                    reason=exc.msg,
                    position=exc.pos,
                )
            ) from exc
    if not isinstance(value, Mapping):
        raise ValueError(_("must be a JSON object from group DN or CN to role names"))
    mapping: dict[str, list[str]] = {}
    for group, roles in value.items():
        names = [roles] if isinstance(roles, str) else roles
        if not isinstance(group, str) or not group.strip() or not isinstance(names, list):
            raise ValueError(
                _("group '{group}': give a group name and a list of role names", group=group)
            )
        mapping[group.strip()] = [_role_name(group, name) for name in names]
    return mapping


def _role_name(group: str, name: Any) -> str:
    try:
        return Role(str(name).strip().lower()).value
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise ValueError(
            _(
                "group '{group}': unknown role '{name}' (known: {known})",
                group=group,
                name=name,
                known=known,
            )
        ) from None


@lru_cache
def get_settings() -> Settings:
    return Settings()
