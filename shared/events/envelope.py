"""The envelope every event travels in (DESIGN §3).

The envelope is the same for every event type; the payload is validated against the catalogue
(`shared.events.catalogue`) by the producer before it is written to the outbox, so a consumer can
trust the shape of what it receives.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """One event as it crosses the bus: identity, lineage, ordering key, and the payload."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=utc_now)
    producer: str
    correlation_id: str | None = None
    causation_id: str | None = None
    key: str
    sequence: int = 0
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        return cls.model_validate_json(body)
