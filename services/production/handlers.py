"""The production service's event handlers (none yet; it subscribes when its features need them)."""

from __future__ import annotations

from shared.messaging.inbox import Handler

HANDLERS: dict[str, Handler] = {}
