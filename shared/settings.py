"""Settings from the environment (prefix PORTAL_), documented in .env.example.

One `Settings` object serves every service; a service reads only the fields it needs. In
embedded mode every service's database defaults to its own SQLite file under `var_dir`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("inventory", "purchasing", "production", "mrp", "downtime", "accounting", "gateway")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", env_file=".env", extra="ignore")

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
    secure_cookies: bool = False

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

    def service_url(self, service: str) -> str | None:
        value: str | None = getattr(self, f"{service}_url", None)
        return value

    def database_url(self, service: str) -> str:
        """The service's own database: PORTAL_DB_URL, else a SQLite file under var_dir."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.var_dir / f'{service}.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
