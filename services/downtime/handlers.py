"""The downtime service's event handlers (none yet: it subscribes when its features need events)."""

from __future__ import annotations

from shared.messaging.inbox import Handler

HANDLERS: dict[str, Handler] = {}
