"""Request and response bodies of the QuickBooks feed's API: subscriptions, deliveries and their
attempts, replays."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.accounting.domain import EntryType
from services.accounting.quickbooks import domain
from shared.i18n import _

# Ids as the database keeps them (BIGINT), so a larger one is a 422, not a driver error.
MAX_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def _checked_url(url: str) -> str:
    if not domain.is_web_url(url):
        raise ValueError(
            _("Enter an http:// or https:// address, such as https://example.com/hook.")
        )
    return url


def _checked_secret(secret: str) -> str:
    if domain.secret_problem(secret) is not None:
        raise ValueError(
            _(
                "A signing secret is 'whsec_' followed by the base64 of {min_bytes} to "
                "{max_bytes} random bytes; leave it out to have one made.",
                min_bytes=domain.MIN_SECRET_BYTES,
                max_bytes=domain.MAX_SECRET_BYTES,
            )
        )
    return secret


def _checked_entry_types(kinds: list[str]) -> list[str]:
    known = [str(kind) for kind in EntryType]
    unknown = [kind for kind in kinds if kind not in known]
    if unknown:
        raise ValueError(
            _(
                "Unknown entry type {kind}; choose from: {choices}.",
                kind=unknown[0],
                choices=", ".join(known),
            )
        )
    return sorted(set(kinds), key=known.index)


# The fields a subscription is created and changed with, each checked where it is declared.
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_checked_url),
]
Secret = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_checked_secret)
]
EntryTypes = Annotated[
    list[str], Field(max_length=len(EntryType)), AfterValidator(_checked_entry_types)
]


class WebhookSubscriptionCreate(BaseModel):
    """POST /webhooks/subscriptions. `entry_types` empty: every entry. `secret` left out: one
    is made ('whsec_' + base64 of 32 random bytes) and shown in the answer."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    url: Url
    secret: Secret | None = None
    active: bool = True
    entry_types: EntryTypes = Field(default_factory=list)


class WebhookSubscriptionUpdate(BaseModel):
    """PATCH /webhooks/subscriptions/{id}: the fields given change. `active: false` pauses the
    feed; set true again, it catches up on the entries posted meanwhile."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    url: Url | None = None
    secret: Secret | None = None
    active: bool | None = None
    entry_types: EntryTypes | None = None


class WebhookSubscriptionOut(BaseModel):
    """A subscription; `secret` is shown only to those who manage webhooks."""

    id: int
    name: str
    url: str
    active: bool
    entry_types: list[str]
    secret: str | None = None
    created_at: datetime
    created_by: str
    updated_at: datetime | None = None
    updated_by: str | None = None
    start_after_entry_id: int
    pending: int = 0
    failed: int = 0


class WebhookAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_no: int
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    response_excerpt: str | None
    error: str | None


class WebhookDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscription_id: int
    entry_number: str
    webhook_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_response_excerpt: str | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookDeliveryDetailOut(WebhookDeliveryOut):
    attempt_log: list[WebhookAttemptOut]


class ReplayRange(BaseModel):
    """POST /webhooks/replay: send again (or for the first time) every entry dated in the range
    that the subscription's entry types take."""

    model_config = ConfigDict(extra="forbid")

    subscription_id: RowId
    date_from: date
    date_to: date


class ReplayOut(BaseModel):
    subscription_id: int
    date_from: date
    date_to: date
    queued: int
    requeued: int
