"""Machine signals without a broker: the topic and the two payload forms a machine may send (and
what is refused), `apply_signal` on a migrated SQLite file (a stop opens an unclassified
downtime, running again ends it, repeats and older messages change nothing, messages delivered
out of order, wrong lines and clocks far ahead dropped), the worker's handling of one message
(bad ones logged with their topic and dropped), and the MQTT settings.

The worker against the real Mosquitto is tests/integration/test_machine_signals.py.

Plant: PLANT-1 in America/New_York, shifts A 06-14, B 14-22, C 22-06 every day, lines PRN-01
and PRN-02, and PLANT-2 with line MAD-01 (tests/support/downtime_plant.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from structlog.testing import capture_logs

from services.downtime.entries import service as entries
from services.downtime.entries.domain import LONGEST_STOP
from services.downtime.entries.models import Downtime
from services.downtime.entries.schemas import DowntimeCreate, DowntimeStart
from services.downtime.plant.models import Line
from services.downtime.signals.models import LineSignal
from services.downtime.signals.schemas import (
    BadSignal,
    MachineSignal,
    SignalTopic,
    parse_signal,
    parse_topic,
    topic_filter,
)
from services.downtime.signals.service import Outcome, apply_signal
from services.downtime.signals.worker import broker_of, run_machine_signals, take
from shared.events.envelope import utc_now
from shared.settings import Settings
from tests.support.downtime_plant import Plant, downtime_plant

LINE = "PRN-01"
ZONE = ZoneInfo("America/New_York")
# Three days ago at the plant: a machine's stop older than 31 days is dropped, so the stops here
# are recent; 10:15 local (EST or EDT) is in shift A of that day.
DAY = (utc_now().astimezone(ZONE) - timedelta(days=3)).date()


def local(hour: int, minute: int = 0) -> datetime:
    """`hour:minute` of DAY at the plant, in UTC."""
    return datetime.combine(DAY, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


AT_1015 = local(10, 15)
AT_1020 = AT_1015 + timedelta(minutes=5)
AT_1030 = AT_1015 + timedelta(minutes=15)
# What the payload tests read: 2026-07-15 (EDT, UTC-4), 10:15 local is 14:15 UTC.
PARSED = datetime(2026, 7, 15, 14, 15, tzinfo=UTC)


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    async with downtime_plant(tmp_path) as plant:
        yield plant


def signal(
    plant: Plant, state: str, at: datetime, *, line: str = LINE, facility: str = "PLANT-1"
) -> Outcome:
    with plant.uow() as uow:
        outcome = apply_signal(uow, facility, line, state, at)  # type: ignore[arg-type]
        uow.commit()
    return outcome


def stops(plant: Plant) -> list[tuple[datetime, datetime | None, str | None, str]]:
    """(start, end, reason, source) of every entry of the line, oldest first."""
    with plant.uow() as uow:
        rows = uow.session.scalars(
            select(Downtime).where(Downtime.line_code == LINE).order_by(Downtime.started_at)
        )
        return [(r.started_at, r.ended_at, r.reason_code, r.source) for r in rows]


def last_signal(plant: Plant, line: str = LINE) -> tuple[str, datetime, int | None] | None:
    with plant.uow() as uow:
        row = uow.session.get(LineSignal, line)
        return (row.state, row.signalled_at, row.downtime_id) if row is not None else None


def recorded(plant: Plant) -> list[tuple[str, str | None, str]]:
    """(started_at, ended_at, source) of every DowntimeRecorded in the outbox."""
    return [
        (e.payload["started_at"], e.payload["ended_at"], e.payload["source"])
        for e in plant.events("DowntimeRecorded")
    ]


# --- the topic and the payload ------------------------------------------------------------------


def test_the_topic_names_the_facility_and_the_line_under_the_prefix() -> None:
    assert topic_filter("portal") == "portal/+/+/state"
    assert parse_topic("portal/plant-1/prn-01/state", "portal") == SignalTopic("PLANT-1", "PRN-01")
    assert parse_topic("t/run7/portal/P1/L1/state", "t/run7/portal") == SignalTopic("P1", "L1")
    for wrong in (
        "other/PLANT-1/PRN-01/state",
        "portal/PLANT-1/state",
        "portal/PLANT-1/PRN-01/status",
        "portal/PLANT-1/PRN-01/state/x",
        "portal//PRN-01/state",
        "portalx/PLANT-1/PRN-01/state",
    ):
        with pytest.raises(BadSignal):
            parse_topic(wrong, "portal")


def test_a_payload_is_json_or_plain_text_and_its_time_becomes_utc() -> None:
    expected = MachineSignal(state="stopped", at=PARSED)
    assert parse_signal(b'{"state": "stopped", "at": "2026-07-15T14:15:00Z"}') == expected
    assert parse_signal(b"stopped 2026-07-15T14:15:00Z") == expected
    # The plant's own offset, upper case, spaces and extra JSON members are all fine.
    assert parse_signal(b"  STOPPED   2026-07-15T10:15:00-04:00\n") == expected
    assert parse_signal(
        b'{"state": "Running", "at": "2026-07-15T16:15:00+02:00", "counter": 812}'
    ) == MachineSignal(state="running", at=PARSED)
    assert parse_signal(b"running 2026-07-15T14:15:00.250+00:00").at == PARSED + timedelta(
        milliseconds=250
    )


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        (b"stopped 2026-07-15T14:15:00", "no UTC offset"),
        (b'{"state": "stopped", "at": "2026-07-15 14:15:00"}', "no UTC offset"),
        (b"paused 2026-07-15T14:15:00Z", "not 'stopped' or 'running'"),
        (b'{"state": true, "at": "2026-07-15T14:15:00Z"}', "not 'stopped' or 'running'"),
        (b'{"state": "stopped", "at": 1784124900}', "not an ISO 8601 string"),
        (b"stopped yesterday", "not an ISO 8601 time"),
        (b'{"state": "stopped"}', "has no 'at'"),
        (b'{"state": "stopped", "at": "2026-07-15T14:15:00Z"', "not valid JSON"),
        (b'["stopped", "2026-07-15T14:15:00Z"]', "JSON payload is not an object"),
        (b"stopped", "'<state> <ISO 8601 time>'"),
        (b"stopped at 2026-07-15T14:15:00Z", "'<state> <ISO 8601 time>'"),
        (b"", "empty payload"),
        (b"\xff\xfe stopped", "not UTF-8"),
        (b"stopped " + b"9" * 2000, "longer than 1024 bytes"),
        # Times a datetime cannot hold once turned into UTC, and an offset of a day.
        (b"stopped 0001-01-01T00:00:00+01:00", "cannot be turned into UTC"),
        (b'{"state": "running", "at": "9999-12-31T23:59:59-01:00"}', "cannot be turned into UTC"),
        (b"stopped 2026-07-15T14:15:00+24:00", "not an ISO 8601 time"),
        # JSON nested deeper than the parser goes.
        (b"[" * 1000, "not valid JSON"),
        (b'{"state": ' + b"[" * 1000, "not valid JSON"),
    ],
)
def test_a_payload_that_does_not_say_a_state_and_an_aware_time_is_refused(
    payload: bytes, complaint: str
) -> None:
    with pytest.raises(BadSignal, match=complaint.replace("(", r"\(")):
        parse_signal(payload)


def test_whatever_else_reading_a_payload_raises_is_a_bad_signal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.downtime.signals import schemas

    def broken(value: object) -> datetime:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(schemas, "_moment", broken)
    with pytest.raises(BadSignal, match="payload cannot be read: ZeroDivisionError"):
        parse_signal(b"stopped 2026-07-15T14:15:00Z")


# --- apply_signal -------------------------------------------------------------------------------


async def test_a_stop_opens_an_unclassified_downtime_and_running_again_ends_it(
    plant: Plant,
) -> None:
    assert signal(plant, "stopped", AT_1015) == "opened"
    [(start, end, reason, source)] = stops(plant)
    assert (start, end, reason, source) == (AT_1015, None, None, "machine")
    with plant.uow() as uow:
        opened = uow.session.scalars(select(Downtime)).one()
        assert (opened.shift_code, opened.production_day) == ("A", DAY)
        assert (opened.created_by, opened.version) == ("machine", 1)
        opened_id = opened.id
    assert last_signal(plant) == ("stopped", AT_1015, opened_id)

    assert signal(plant, "running", AT_1030) == "closed"
    assert stops(plant) == [(AT_1015, AT_1030, None, "machine")]
    # The row still names the downtime the machine's last stop opened.
    assert last_signal(plant) == ("running", AT_1030, opened_id)
    assert recorded(plant) == [
        (stamp(AT_1015), None, "machine"),
        (stamp(AT_1015), stamp(AT_1030), "machine"),
    ]


async def test_a_repeated_message_changes_nothing_the_second_time(plant: Plant) -> None:
    assert signal(plant, "stopped", AT_1015) == "opened"
    assert signal(plant, "stopped", AT_1015) == "ignored_repeat"
    # Still stopped a while later: the stop keeps its start, the row its first report.
    assert signal(plant, "stopped", AT_1020) == "ignored_repeat"
    assert signal(plant, "running", AT_1030) == "closed"
    assert signal(plant, "running", AT_1030) == "ignored_repeat"
    assert signal(plant, "running", AT_1030 + timedelta(minutes=1)) == "ignored_repeat"
    assert stops(plant) == [(AT_1015, AT_1030, None, "machine")]
    assert last_signal(plant) is not None and last_signal(plant)[:2] == ("running", AT_1030)  # type: ignore[index]
    assert len(recorded(plant)) == 2


async def test_a_stop_heard_after_the_running_that_ended_it_is_dropped_not_recorded_backwards(
    plant: Plant,
) -> None:
    # Sent stopped@10:15 then running@10:20; delivered the other way round.
    assert signal(plant, "running", AT_1020) == "ignored_no_stop"
    assert signal(plant, "stopped", AT_1015) == "ignored_older"
    assert stops(plant) == []
    assert recorded(plant) == []
    assert last_signal(plant) == ("running", AT_1020, None)
    # The next true stop is recorded as usual.
    assert signal(plant, "stopped", AT_1030) == "opened"
    assert stops(plant) == [(AT_1030, None, None, "machine")]


async def test_an_old_stop_after_a_closed_one_does_not_reopen_or_double_it(plant: Plant) -> None:
    assert signal(plant, "stopped", AT_1015) == "opened"
    assert signal(plant, "running", AT_1030) == "closed"
    # A late copy of a stop from before, and a running from before the last stop.
    assert signal(plant, "stopped", AT_1020) == "ignored_older"
    assert signal(plant, "running", AT_1015 - timedelta(minutes=1)) == "ignored_older"
    # Two states at the same moment: the first one heard stands.
    assert signal(plant, "stopped", AT_1030) == "ignored_older"
    assert stops(plant) == [(AT_1015, AT_1030, None, "machine")]
    assert len(recorded(plant)) == 2


async def test_a_stop_while_an_operator_already_has_the_line_down_opens_nothing_and_running_ends_it(
    plant: Plant,
) -> None:
    operator_start = AT_1015 - timedelta(minutes=10)
    with plant.uow() as uow:
        entries.start_downtime(
            uow, LINE, DowntimeStart(reason_code="CHANGEOVER", started_at=operator_start)
        )
        uow.commit()
    assert signal(plant, "stopped", AT_1015) == "ignored_line_busy"
    assert last_signal(plant) == ("stopped", AT_1015, None)
    # The machine runs again: the line is back up, whoever took it down.
    assert signal(plant, "running", AT_1030) == "closed"
    assert stops(plant) == [(operator_start, AT_1030, "CHANGEOVER", "tablet")]


async def test_running_with_no_stop_open_is_remembered_and_the_operators_later_stop_is_kept(
    plant: Plant,
) -> None:
    assert signal(plant, "running", AT_1015) == "ignored_no_stop"
    with plant.uow() as uow:
        entries.start_downtime(uow, LINE, DowntimeStart(started_at=AT_1020))
        uow.commit()
    # The machine says "running" again (it never stopped): that is a repeat, not "back up".
    assert signal(plant, "running", AT_1030) == "ignored_repeat"
    assert stops(plant) == [(AT_1020, None, None, "tablet")]


async def test_each_line_keeps_its_own_state(plant: Plant) -> None:
    assert signal(plant, "stopped", AT_1015) == "opened"
    assert signal(plant, "stopped", AT_1015, line="PRN-02") == "opened"
    assert signal(plant, "running", AT_1020, line="prn-02") == "closed"
    assert signal(plant, "stopped", AT_1015, line="MAD-01", facility="plant-2") == "opened"
    assert last_signal(plant) == ("stopped", AT_1015, 1)
    assert last_signal(plant, "PRN-02") == ("running", AT_1020, 2)
    assert len(recorded(plant)) == 4


async def test_a_wrong_line_facility_or_clock_is_dropped_and_nothing_is_stored(
    plant: Plant,
) -> None:
    with plant.uow() as uow:
        line = uow.session.get(Line, "PRN-02")
        assert line is not None
        line.active = False
        uow.commit()
    assert signal(plant, "stopped", AT_1015, line="PRN-99") == "unknown_line"
    assert signal(plant, "stopped", AT_1015, facility="PLANT-2") == "other_facility"
    assert signal(plant, "stopped", AT_1015, line="PRN-02") == "inactive_line"
    assert signal(plant, "stopped", utc_now() + timedelta(hours=1)) == "in_the_future"
    assert stops(plant) == []
    assert last_signal(plant) is None and last_signal(plant, "PRN-02") is None
    # A wrong clock stored would have hidden every true message until its time; it was not.
    assert signal(plant, "stopped", AT_1015) == "opened"


async def test_a_machine_clock_a_little_ahead_orders_the_messages_but_dates_no_stop_in_the_future(
    plant: Plant,
) -> None:
    now = utc_now()
    ahead = now + timedelta(minutes=2)
    with plant.uow() as uow:
        assert apply_signal(uow, "PLANT-1", LINE, "stopped", ahead, now=now) == "opened"
        uow.commit()
    assert stops(plant) == [(now, None, None, "machine")]
    assert last_signal(plant) == ("stopped", ahead, 1)
    # The machine's own clock orders what comes next: a "running" before its stop is older.
    with plant.uow() as uow:
        late = now + timedelta(seconds=30)
        before = ahead - timedelta(minutes=1)
        assert apply_signal(uow, "PLANT-1", LINE, "running", before, now=late) == "ignored_older"
        after = ahead + timedelta(seconds=5)
        assert apply_signal(uow, "PLANT-1", LINE, "running", after, now=late) == "closed"
        uow.commit()
    # Ended no later than either clock: the one the message was applied by, and the server's.
    [(start, end, _reason, source)] = stops(plant)
    assert (start, source) == (now, "machine")
    assert end is not None and now < end <= min(late, utc_now())


async def test_the_operator_classifies_a_machine_stop_on_the_tablet_and_the_machine_ends_it(
    plant: Plant,
) -> None:
    stopped_at = utc_now() - timedelta(minutes=20)
    assert signal(plant, "stopped", stopped_at) == "opened"
    async with plant.client("operator", user="olga") as operator:
        floor = await operator.get(f"/api/v1/lines/{LINE}/floor")
        assert floor.status_code == 200, floor.text
        running = floor.json()["running"]
        assert (running["source"], running["reason_code"]) == ("machine", None)
        classified = await operator.patch(
            f"/api/v1/downtimes/{running['id']}",
            json={"version": running["version"], "reason_code": "MECH-NOZZLE-CLOG"},
        )
        assert classified.status_code == 200, classified.text
    assert signal(plant, "running", stopped_at + timedelta(minutes=7)) == "closed"
    [(start, end, reason, source)] = stops(plant)
    assert (end - start if end else None, reason, source) == (
        timedelta(minutes=7),
        "MECH-NOZZLE-CLOG",
        "machine",
    )
    reasons = [e.payload["reason_code"] for e in plant.events("DowntimeRecorded")]
    assert reasons == [None, "MECH-NOZZLE-CLOG", "MECH-NOZZLE-CLOG"]


# --- the worker's handling of one message -------------------------------------------------------


def message(topic: str, payload: bytes) -> aiomqtt.Message:
    return aiomqtt.Message(topic, payload, qos=1, retain=False, mid=1, properties=None)


def counted(plant: Plant, outcome: str) -> float:
    value = plant.runtime.metrics.registry.get_sample_value(
        "portal_machine_signals_total", {"outcome": outcome}
    )
    return value or 0.0


async def test_the_worker_applies_a_message_and_logs_a_bad_one_with_its_topic(
    plant: Plant,
) -> None:
    runtime = plant.runtime
    with capture_logs() as logs:
        assert (
            await take(
                runtime,
                message("portal/PLANT-1/PRN-01/state", f"stopped {stamp(AT_1015)}".encode()),
                "portal",
            )
            == "opened"
        )
        assert (
            await take(runtime, message("portal/PLANT-1/PRN-01/state", b"stopped 10:15"), "portal")
            is None
        )
        assert (
            await take(
                runtime,
                message("portal/PLANT-1/PRN-01/state", b"stopped 2026-07-15T14:15:00"),
                "portal",
            )
            is None
        )
        assert (
            await take(
                runtime,
                message("portal/PLANT-1/state", f"running {stamp(AT_1030)}".encode()),
                "portal",
            )
            is None
        )
        assert (
            await take(
                runtime,
                message("portal/PLANT-9/PRN-01/state", f"running {stamp(AT_1030)}".encode()),
                "portal",
            )
            == "other_facility"
        )
    assert stops(plant) == [(AT_1015, None, None, "machine")]
    warnings = [
        (e["event"], e["topic"], e.get("error", e.get("outcome")))
        for e in logs
        if e["log_level"] == "warning"
    ]
    assert warnings == [
        (
            "machine_signals.bad_message",
            "portal/PLANT-1/PRN-01/state",
            "'at' '10:15' is not an ISO 8601 time",
        ),
        (
            "machine_signals.bad_message",
            "portal/PLANT-1/PRN-01/state",
            "'at' '2026-07-15T14:15:00' has no UTC offset (add Z or +hh:mm)",
        ),
        (
            "machine_signals.bad_message",
            "portal/PLANT-1/state",
            "topic is not <prefix>/<facility>/<line>/state",
        ),
        ("machine_signals.message", "portal/PLANT-9/PRN-01/state", "other_facility"),
    ]
    applied = [
        e for e in logs if e["event"] == "machine_signals.message" and e["log_level"] == "info"
    ]
    assert [(e["state"], e["outcome"]) for e in applied] == [("stopped", "opened")]
    # The stop's DowntimeRecorded starts a chain of its own, named in the log.
    [event] = plant.events("DowntimeRecorded")
    assert event.correlation_id is not None and event.correlation_id.startswith("mqtt-")
    assert (
        counted(plant, "opened"),
        counted(plant, "bad_message"),
        counted(plant, "other_facility"),
    ) == (
        1.0,
        3.0,
        1.0,
    )


async def test_a_message_the_database_cannot_take_is_logged_and_dropped_and_the_next_one_lands(
    plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.downtime.signals import worker

    monkeypatch.setattr(worker, "DB_RETRY_SECONDS", 0.01)
    real = worker.record_signal
    calls = {"n": 0}

    def flaky(runtime: Any, where: SignalTopic, signal: MachineSignal) -> Outcome:
        calls["n"] += 1
        if calls["n"] <= worker.DB_ATTEMPTS:
            raise RuntimeError("database is down")
        return real(runtime, where, signal)

    monkeypatch.setattr(worker, "record_signal", flaky)
    topic = "portal/PLANT-1/PRN-01/state"
    with capture_logs() as logs:
        assert (
            await take(
                plant.runtime, message(topic, f"stopped {stamp(AT_1015)}".encode()), "portal"
            )
            is None
        )
        assert (
            await take(
                plant.runtime, message(topic, f"stopped {stamp(AT_1020)}".encode()), "portal"
            )
            == "opened"
        )
    assert [e["event"] for e in logs if e["log_level"] in ("warning", "error")] == [
        "machine_signals.retry",
        "machine_signals.retry",
        "machine_signals.retry",
        "machine_signals.not_recorded",
    ]
    assert stops(plant) == [(AT_1020, None, None, "machine")]
    assert counted(plant, "not_recorded") == 1.0


async def test_without_a_broker_the_worker_returns_at_once(plant: Plant) -> None:
    assert plant.runtime.settings.mqtt_url is None
    await run_machine_signals(plant.runtime)


# --- settings -----------------------------------------------------------------------------------


def test_the_mqtt_settings_and_the_broker_they_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTAL_MQTT_URL", raising=False)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.mqtt_url, defaults.mqtt_topic_prefix, defaults.mqtt_client_id) == (
        None,
        "portal",
        None,
    )
    assert Settings(mqtt_url="  ").mqtt_url is None
    assert Settings(mqtt_topic_prefix="/plant-a/portal/").mqtt_topic_prefix == "plant-a/portal"
    broker = broker_of("mqtt://line%40plant:p%3Ass@broker.plant.local:1884")
    assert (broker.host, broker.port, broker.username, broker.password, broker.tls) == (
        "broker.plant.local",
        1884,
        "line@plant",
        "p:ss",
        False,
    )
    assert broker.address == "broker.plant.local:1884"
    secure = broker_of("mqtts://broker")
    assert (secure.port, secure.tls, secure.username) == (8883, True, None)


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("mqtt_url", "http://user:hunter2@broker:1883", "not http"),
        ("mqtt_url", "broker:1883", "not no scheme"),
        ("mqtt_topic_prefix", "portal/#", "no wildcards"),
        ("mqtt_topic_prefix", "a/+/b", "no wildcards"),
        ("mqtt_topic_prefix", " / ", "not empty"),
    ],
)
def test_a_wrong_mqtt_setting_is_named(field: str, value: str, complaint: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{field: value})
    [error] = refused.value.errors()
    assert error["loc"] == (field,)
    assert complaint in error["msg"]
    # The message itself never repeats the URL (pydantic shows the input after it).
    assert "hunter2" not in error["msg"]


# --- a machine's clock far off, and a stop heard late ------------------------------------------


def record_after_the_fact(plant: Plant, start: datetime, end: datetime) -> None:
    with plant.uow() as uow:
        entries.record_downtime(
            uow,
            DowntimeCreate(line_code=LINE, reason_code="MECH-BELT", started_at=start, ended_at=end),
        )
        uow.commit()


async def test_a_stop_older_than_a_stop_can_last_is_dropped_as_too_old(plant: Plant) -> None:
    now = utc_now()
    for at in (
        now - LONGEST_STOP - timedelta(seconds=1),
        datetime(2000, 1, 1, tzinfo=UTC),  # a controller whose clock was reset
        datetime(1, 1, 1, tzinfo=UTC),
    ):
        assert signal(plant, "stopped", at) == "too_old"
    assert stops(plant) == [] and recorded(plant) == []
    # Nothing was stored: the next true message is not "older" than a wrong one.
    assert last_signal(plant) is None
    just_inside = now - LONGEST_STOP + timedelta(minutes=1)
    assert signal(plant, "stopped", just_inside) == "opened"
    assert stops(plant) == [(just_inside, None, None, "machine")]


async def test_a_machine_stop_heard_late_before_an_operators_entry_is_recorded_closed(
    plant: Plant,
) -> None:
    # The operator records 10:00-10:15 after the fact; then the machine's messages, kept by the
    # broker while the worker was away, say it stopped at 09:00 and ran again at 09:30.
    record_after_the_fact(plant, local(10), local(10, 15))
    assert signal(plant, "stopped", local(9)) == "pending"
    assert last_signal(plant) == ("stopped", local(9), None)
    assert len(stops(plant)) == 1  # no running stop: it would overlap the operator's entry
    assert signal(plant, "running", local(9, 30)) == "recorded"
    assert stops(plant) == [
        (local(9), local(9, 30), None, "machine"),
        (local(10), local(10, 15), "MECH-BELT", "manual"),
    ]
    with plant.uow() as uow:
        row = uow.session.scalars(select(Downtime).where(Downtime.source == "machine")).one()
        assert (row.shift_code, row.production_day, row.created_by) == ("A", DAY, "machine")
        machine_stop = row.id
    assert last_signal(plant) == ("running", local(9, 30), machine_stop)
    assert recorded(plant) == [
        (stamp(local(10)), stamp(local(10, 15)), "manual"),
        (stamp(local(9)), stamp(local(9, 30)), "machine"),
    ]
    # Delivered again, the two messages change nothing.
    assert signal(plant, "stopped", local(9)) == "ignored_older"
    assert signal(plant, "running", local(9, 30)) == "ignored_repeat"
    assert len(stops(plant)) == 2 and len(recorded(plant)) == 2


async def test_a_late_machine_stop_that_overlaps_an_operators_entry_is_dropped(
    plant: Plant,
) -> None:
    record_after_the_fact(plant, local(9, 10), local(9, 20))
    assert signal(plant, "stopped", local(9)) == "pending"
    assert signal(plant, "running", local(9, 30)) == "ignored_overlap"
    assert stops(plant) == [(local(9, 10), local(9, 20), "MECH-BELT", "manual")]
    assert last_signal(plant) == ("running", local(9, 30), None)
    assert len(recorded(plant)) == 1
    # The machine's next stop is its own again.
    assert signal(plant, "stopped", local(9, 45)) == "opened"


async def test_a_late_machine_stop_under_an_operators_running_stop_ends_that_stop(
    plant: Plant,
) -> None:
    # The operator took the line down at 09:10 on the tablet; the machine's 09:00 came later.
    with plant.uow() as uow:
        entries.start_downtime(uow, LINE, DowntimeStart(started_at=local(9, 10)))
        uow.commit()
    assert signal(plant, "stopped", local(9)) == "pending"
    assert signal(plant, "running", local(9, 30)) == "closed"
    assert stops(plant) == [(local(9, 10), local(9, 30), None, "tablet")]


async def test_a_pending_stop_longer_than_a_stop_can_last_is_dropped(plant: Plant) -> None:
    stopped_at = utc_now() - timedelta(days=30)
    record_after_the_fact(plant, stopped_at + timedelta(hours=1), stopped_at + timedelta(hours=2))
    assert signal(plant, "stopped", stopped_at) == "pending"
    # Its "running" comes 31 days and a minute after it (a day from now on this clock).
    later = stopped_at + LONGEST_STOP + timedelta(minutes=1)
    with plant.uow() as uow:
        outcome = apply_signal(uow, "PLANT-1", LINE, "running", later, now=later)
        uow.commit()
    assert outcome == "ignored_too_long"
    assert len(stops(plant)) == 1
    assert last_signal(plant) == ("running", later, None)


async def test_one_message_the_worker_cannot_handle_is_logged_and_the_next_one_lands(
    plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.downtime.signals import worker

    topic = "portal/PLANT-1/PRN-01/state"
    with capture_logs() as logs:
        # A time before year 1 in UTC, JSON nested too deep, and a stop from a reset clock.
        for payload in (
            b"stopped 0001-01-01T00:00:00+01:00",
            b"[" * 1000,
        ):
            assert await take(plant.runtime, message(topic, payload), "portal") is None
        reset = message(topic, b"stopped 2000-01-01T00:00:00Z")
        assert await take(plant.runtime, reset, "portal") == "too_old"
        # Whatever else goes wrong with one message is logged, counted, and not raised.
        real = worker.parse_signal

        def broken(payload: bytes) -> MachineSignal:
            if payload.startswith(b"running"):
                raise RuntimeError("a bug")
            return real(payload)

        monkeypatch.setattr(worker, "parse_signal", broken)
        running = message(topic, f"running {stamp(AT_1030)}".encode())
        assert await take(plant.runtime, running, "portal") is None
        stopped = message(topic, f"stopped {stamp(AT_1015)}".encode())
        assert await take(plant.runtime, stopped, "portal") == "opened"
    assert stops(plant) == [(AT_1015, None, None, "machine")]
    problems = [(e["event"], e["log_level"]) for e in logs if e["log_level"] != "info"]
    assert problems == [
        ("machine_signals.bad_message", "warning"),
        ("machine_signals.bad_message", "warning"),
        ("machine_signals.message", "warning"),
        ("machine_signals.message_failed", "error"),
    ]
    failed = next(e for e in logs if e["event"] == "machine_signals.message_failed")
    assert (failed["topic"], failed["error"]) == (topic, "a bug")
    assert [counted(plant, o) for o in ("bad_message", "too_old", "failed", "opened")] == [
        2.0,
        1.0,
        1.0,
        1.0,
    ]
