"""Production's event handlers, by event type (each lives with the domain it feeds)."""

from __future__ import annotations

from services.production.items.handlers import on_item_upserted
from shared.messaging.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "ItemUpserted": on_item_upserted,
}
