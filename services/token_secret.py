"""The service-token secret: from settings, or made once and kept under var/ in embedded mode."""

from __future__ import annotations

import os
import secrets

from shared.settings import Settings


def token_secret(settings: Settings, *, create: bool) -> str:
    if settings.service_token_secret:
        return settings.service_token_secret
    path = settings.var_dir / "service-token.secret"
    if path.exists():
        return path.read_text().strip()
    if not create:
        raise SystemExit(
            "PORTAL_SERVICE_TOKEN_SECRET is not set (every service needs the same one)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # Created readable by its owner only from the first byte (no window before a chmod).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value)
    return value
