"""The webhook feed's tables in accounting's database: subscriptions, one delivery per
(subscription, journal entry), and every attempt of a delivery.

Everything the delivery worker knows is here, so a restart loses nothing: a pending delivery is
due when `next_attempt_at` has passed, and a delivery claimed by a process that died becomes due
again when its claim (a `next_attempt_at` pushed past the request's timeout) runs out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.accounting.models import Base
from shared.messaging.tables import Id
from shared.types import UtcDateTime

EXCERPT_LENGTH = 500


class WebhookSubscription(Base):
    """A receiver of the feed. `entry_types` is comma-separated text; empty means every type.

    `start_after_entry_id` is the cursor of the queueing step: journal entries with a larger id
    are yet to be queued for this subscription. A new subscription starts after the last entry
    that existed at its creation; older entries are sent only by a replay.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(2000))
    # The Standard Webhooks secret, 'whsec_' + base64 of the key bytes.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean)
    entry_types: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    start_after_entry_id: Mapped[int] = mapped_column(Id)

    @property
    def entry_type_list(self) -> list[str]:
        return [kind for kind in self.entry_types.split(",") if kind]


class WebhookDelivery(Base):
    """One journal entry to one subscription. `webhook_id` (msg_…) is the same on every attempt
    and replay, so a receiver drops the duplicates a retry after a lost answer sends.

    `attempts` counts the claims (a claim is an attempt started); `backoff_step` is the place in
    the retry schedule of the next failure, back to 0 when a person replays the delivery.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "entry_id", name="uq_webhook_deliveries_entry"),
        CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="ck_webhook_deliveries_status"
        ),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_entry_number", "entry_number"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    entry_number: Mapped[str] = mapped_column(String(20))
    webhook_id: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    backoff_step: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_response_excerpt: Mapped[str | None] = mapped_column(String(EXCERPT_LENGTH), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(EXCERPT_LENGTH), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WebhookAttempt(Base):
    """One POST of a delivery and what came of it: a status code, or the error (a timeout, a
    refused connection) when no answer came."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    attempt_no: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(EXCERPT_LENGTH), nullable=True)
    error: Mapped[str | None] = mapped_column(String(EXCERPT_LENGTH), nullable=True)
