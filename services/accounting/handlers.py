"""Accounting's event handlers: each value-moving event posts by its rule (`rules.RULES`), and
ItemUpserted keeps the item read model that says which inventory account an item's stock is in.

The inbox makes handlers idempotent, and the unique source_event_id of an entry guards the books
once more.
"""

from __future__ import annotations

from services.accounting import posting
from services.accounting.rules import RULES
from shared.events.catalogue import ItemUpserted
from shared.events.envelope import Envelope
from shared.messaging.inbox import Handler
from shared.uow import UnitOfWork


def on_value_moved(envelope: Envelope, uow: UnitOfWork) -> None:
    posting.post_event(uow, envelope)


def on_item_upserted(envelope: Envelope, uow: UnitOfWork) -> None:
    item = ItemUpserted.model_validate(envelope.payload)
    posting.remember_item(uow, item, envelope.sequence)


HANDLERS: dict[str, Handler] = {
    "ItemUpserted": on_item_upserted,
    **dict.fromkeys(RULES, on_value_moved),
}
