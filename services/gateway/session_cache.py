"""Sessions this gateway confirmed live in the last few seconds, kept in memory.

Every page and API call needs its session checked; asking the database each time costs four
round trips (the profile of bench/gateway.py). A session confirmed live is trusted for
`TTL_SECONDS` from this cache, which is always far inside its idle timeout (that timeout is
minutes, and the database is asked again every few seconds, which also keeps `last_seen_at`
moving). Whatever ends or changes a session here (signing in elsewhere, signing out,
deactivation, new roles or language) forgets that user's entries at once. Another gateway
replica learns of it from the database within `TTL_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from services.gateway import domain
from services.gateway.schemas import UserOut

TTL_SECONDS = 5.0
MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class _Entry:
    user: UserOut
    confirmed_at: float


class SessionCache:
    def __init__(self, ttl_seconds: float = TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, token: str | None) -> UserOut | None:
        if not token:
            return None
        key = domain.session_id(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry.confirmed_at > self.ttl_seconds:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return entry.user

    def put(self, token: str | None, user: UserOut) -> None:
        if not token:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._drop_stale()
            self._entries[domain.session_id(token)] = _Entry(user, time.monotonic())

    def forget_token(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._entries.pop(domain.session_id(token), None)

    def forget_user(self, username: str) -> None:
        with self._lock:
            for key in [k for k, e in self._entries.items() if e.user.username == username]:
                del self._entries[key]

    def _drop_stale(self) -> None:
        horizon = time.monotonic() - self.ttl_seconds
        for key in [k for k, e in self._entries.items() if e.confirmed_at < horizon]:
            del self._entries[key]
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
