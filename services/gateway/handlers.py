"""The gateway's event handlers: none yet.

The ops views (JournalPosted, dashboard counters) will subscribe here; an empty map means the
runtime does not bind the gateway a queue at all.
"""

from __future__ import annotations

from shared.messaging.inbox import Handler

HANDLERS: dict[str, Handler] = {}
