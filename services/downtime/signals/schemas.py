"""What a machine sends: the MQTT topic that names its line and the payload that says its state.

Topic `<prefix>/<facility>/<line>/state` (prefix `PORTAL_MQTT_TOPIC_PREFIX`, "portal"), payload
either JSON `{"state": "stopped", "at": "2026-11-26T10:15:00Z"}` (other members are ignored) or
the plain text `stopped 2026-11-26T10:15:00Z`. The state is `stopped` or `running` (any case);
`at` is ISO 8601 with its offset, since a machine's clock without a zone means nothing here.
These are the machine's "request bodies"; anything else is a `BadSignal` naming what is wrong,
whatever the reading raised (a time that runs off the years a datetime holds once turned into
UTC is an OverflowError, JSON nested too deep a RecursionError): the worker drops a BadSignal
and goes on with the next message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

State = Literal["stopped", "running"]
STATES: tuple[State, ...] = ("stopped", "running")
# A state and a timestamp fit in well under this; more is not a machine's state message.
MAX_PAYLOAD_BYTES = 1024


class BadSignal(ValueError):
    """A message the worker logs and drops; its text says what is wrong with it."""


@dataclass(frozen=True)
class MachineSignal:
    state: State
    at: datetime  # aware, UTC


@dataclass(frozen=True)
class SignalTopic:
    facility_code: str
    line_code: str


def topic_filter(prefix: str) -> str:
    """What the worker subscribes to: every line's state topic under `prefix`."""
    return f"{prefix}/+/+/state"


def parse_topic(topic: str, prefix: str) -> SignalTopic:
    """The facility and line a state topic names (codes upper-cased, as the plant stores them)."""
    head = f"{prefix}/"
    if not topic.startswith(head):
        raise BadSignal(f"topic is not under {head!r}")
    parts = topic[len(head) :].split("/")
    if len(parts) != 3 or parts[2] != "state" or not parts[0].strip() or not parts[1].strip():
        raise BadSignal("topic is not <prefix>/<facility>/<line>/state")
    return SignalTopic(facility_code=parts[0].strip().upper(), line_code=parts[1].strip().upper())


def parse_signal(payload: bytes) -> MachineSignal:
    """The state and moment of a payload in either form (JSON object or `<state> <at>`);
    BadSignal for anything else."""
    try:
        return _parse(payload)
    except BadSignal:
        raise
    except Exception as exc:  # a reading that failed some other way is still a bad payload
        raise BadSignal(f"payload cannot be read: {type(exc).__name__}: {exc}") from exc


def _parse(payload: bytes) -> MachineSignal:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BadSignal(f"payload longer than {MAX_PAYLOAD_BYTES} bytes")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise BadSignal("payload is not UTF-8 text") from exc
    if not text:
        raise BadSignal("empty payload")
    if text.startswith(("{", "[")):
        state, at = _json_fields(text)
    else:
        words = text.split()
        if len(words) != 2:
            raise BadSignal("plain payload is not '<state> <ISO 8601 time>'")
        state, at = words
    return MachineSignal(state=_state(state), at=_moment(at))


def _json_fields(text: str) -> tuple[object, object]:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadSignal(f"payload is not valid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise BadSignal("payload is not valid JSON: nested too deep") from exc
    if not isinstance(body, dict):
        raise BadSignal("JSON payload is not an object")
    for name in ("state", "at"):
        if name not in body:
            raise BadSignal(f"JSON payload has no {name!r}")
    return body["state"], body["at"]


def _state(value: object) -> State:
    state = value.strip().lower() if isinstance(value, str) else None
    if state not in STATES:
        raise BadSignal(f"state {value!r} is not 'stopped' or 'running'")
    return cast(State, state)


def _moment(value: object) -> datetime:
    if not isinstance(value, str):
        raise BadSignal(f"'at' {value!r} is not an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadSignal(f"'at' {value!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadSignal(f"'at' {value!r} has no UTC offset (add Z or +hh:mm)")
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 is before the year 1 in UTC
        raise BadSignal(f"'at' {value!r} cannot be turned into UTC") from exc
