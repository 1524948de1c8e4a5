"""Who and what the current piece of work belongs to, carried in contextvars.

A request sets its request id and correlation id here (the app middleware), the security
dependency sets the verified caller, and the inbox sets the lineage of the event being handled.
The unit of work reads `correlation_id` and `causation_id` when it writes an event to the outbox,
and the log processors read all of them, so neither needs the request passed down to it.

An HTTP request has no causation id: the events it produces are the first of their chain, and
the request id that started them is recorded as their correlation id when the caller sent none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.auth.tokens import TokenClaims
    from shared.events.envelope import Envelope

request_id: ContextVar[str | None] = ContextVar("portal_request_id", default=None)
correlation_id: ContextVar[str | None] = ContextVar("portal_correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("portal_causation_id", default=None)
current_user: ContextVar[TokenClaims | None] = ContextVar("portal_current_user", default=None)


def get_request_id() -> str | None:
    return request_id.get()


def set_request_id(value: str | None) -> Token[str | None]:
    return request_id.set(value)


def get_correlation_id() -> str | None:
    return correlation_id.get()


def set_correlation_id(value: str | None) -> Token[str | None]:
    return correlation_id.set(value)


def get_causation_id() -> str | None:
    return causation_id.get()


def set_causation_id(value: str | None) -> Token[str | None]:
    return causation_id.set(value)


def get_current_user() -> TokenClaims | None:
    return current_user.get()


def set_current_user(claims: TokenClaims | None) -> Token[TokenClaims | None]:
    return current_user.set(claims)


@contextmanager
def request_scope(request: str, correlation: str) -> Iterator[None]:
    """Everything inside belongs to one HTTP request; the previous values come back after it."""
    request_token = request_id.set(request)
    correlation_token = correlation_id.set(correlation)
    causation_token = causation_id.set(None)
    user_token = current_user.set(None)
    try:
        yield
    finally:
        current_user.reset(user_token)
        causation_id.reset(causation_token)
        correlation_id.reset(correlation_token)
        request_id.reset(request_token)


@contextmanager
def event_context(envelope: Envelope) -> Iterator[None]:
    """While an event is handled, the events it causes keep its correlation and name it as cause."""
    correlation_token = correlation_id.set(envelope.correlation_id or str(envelope.id))
    causation_token = causation_id.set(str(envelope.id))
    user_token = current_user.set(None)
    try:
        yield
    finally:
        current_user.reset(user_token)
        causation_id.reset(causation_token)
        correlation_id.reset(correlation_token)
