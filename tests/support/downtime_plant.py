"""The downtime service alone (SQLite, or an empty PostgreSQL database), driven over its API, with
a small plant set up directly in its tables: facility PLANT-1 in America/New_York with shifts
A 06:00-14:00, B 14:00-22:00 and C 22:00-06:00 every day, lines PRN-01 and PRN-02, and a reason
tree three levels deep (MECH > MECH-NOZZLE > MECH-NOZZLE-CLOG, planned CHANGEOVER), plus a
facility PLANT-2 with a reason of its own. Nothing is relayed: the outbox keeps every event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import time
from decimal import Decimal
from pathlib import Path

from services import registry
from services.downtime.plant.models import Facility, Line, Shift
from services.downtime.reasons.models import DowntimeReason
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.uow import UnitOfWork
from tests.support.service_api import ServiceApi

SECRET = "downtime-plant-test-secret-" + "x" * 30
ZONE = "America/New_York"
SHIFTS = [("A", time(6), time(14)), ("B", time(14), time(22)), ("C", time(22), time(6))]
# code, parent, name, colour, planned
REASONS = [
    ("MECH", None, "Mechanical", "#d62728", False),
    ("MECH-NOZZLE", "MECH", "Nozzle", "#ff7f0e", False),
    ("MECH-NOZZLE-CLOG", "MECH-NOZZLE", "Clogged", "#ffbb78", False),
    ("MECH-BELT", "MECH", "Belt", "#9467bd", False),
    ("PLANNED", None, "Planned", "#1f77b4", True),
    ("CHANGEOVER", "PLANNED", "Changeover", "#aec7e8", True),
]


class Plant(ServiceApi):
    def __init__(self, runtime: ServiceRuntime) -> None:
        super().__init__(runtime, SECRET)

    def uow(self) -> UnitOfWork:
        uow: UnitOfWork = self.runtime.uow()
        return uow


def set_up_plant(uow: UnitOfWork, *, day_lock_hour: int | None = None) -> None:
    now = utc_now()
    stamps = {"created_at": now, "updated_at": now}
    for code, zone in (("PLANT-1", ZONE), ("PLANT-2", "Europe/Madrid")):
        uow.session.add(
            Facility(
                code=code,
                name=f"Plant {code[-1]}",
                timezone=zone,
                day_lock_hour=day_lock_hour if code == "PLANT-1" else None,
                active=True,
                **stamps,
            )
        )
    uow.session.flush()
    for code, facility in (("PRN-01", "PLANT-1"), ("PRN-02", "PLANT-1"), ("MAD-01", "PLANT-2")):
        uow.session.add(
            Line(
                code=code,
                facility_code=facility,
                name=f"Printer {code}",
                line_type="printer",
                tooling_type=None,
                allergen_status="handles_allergens",
                speed_modifier=Decimal(1),
                active=True,
                **stamps,
            )
        )
    for code, start, end in SHIFTS:
        uow.session.add(
            Shift(
                facility_code="PLANT-1",
                code=code,
                name=f"Shift {code}",
                start_time=start,
                end_time=end,
                days_of_week="1234567",
                active=True,
                **stamps,
            )
        )
    for sort_order, (code, parent, name, colour, planned) in enumerate(REASONS):
        uow.session.add(
            DowntimeReason(
                code=code,
                facility_code="PLANT-1",
                parent_code=parent,
                name=name,
                colour=colour,
                planned=planned,
                active=True,
                sort_order=sort_order,
                **stamps,
            )
        )
        uow.session.flush()
    uow.session.add(
        DowntimeReason(
            code="MAD-JAM",
            facility_code="PLANT-2",
            parent_code=None,
            name="Jam",
            colour="#000000",
            planned=False,
            active=True,
            sort_order=0,
            **stamps,
        )
    )


@asynccontextmanager
async def downtime_plant(
    tmp_path: Path, *, db_url: str | None = None, day_lock_hour: int | None = None
) -> AsyncIterator[Plant]:
    runtime = ServiceRuntime(
        registry.definition("downtime"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    with runtime.uow() as uow:
        set_up_plant(uow, day_lock_hour=day_lock_hour)
        uow.commit()
    try:
        yield Plant(runtime)
    finally:
        runtime.db.engine.dispose()
