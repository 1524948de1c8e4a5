"""HTTP API of the downtime service's plant (docs/downtime.md): facilities, lines, shifts and
the shift of a moment, line capacity, and day locks. Everyone reads; admin manages facilities,
lines and shifts (downtime.plant.manage); planners and supervisors set capacity; supervisors
lock days and admin lifts a lock."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from services.downtime.plant import service
from services.downtime.plant.schemas import (
    CapacityCreate,
    CapacityOut,
    CapacityUpdate,
    DayLockCreate,
    DayLockOut,
    DayLocksOut,
    DayUnlockOut,
    FacilityCreate,
    FacilityOut,
    FacilityUpdate,
    LineCreate,
    LineOut,
    LineUpdate,
    ShiftAtOut,
    ShiftCreate,
    ShiftOut,
    ShiftUpdate,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.web.commands import run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["downtime-plant"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.DOWNTIME_READ))]
PlantManager = Annotated[TokenClaims, Depends(require_permission(Action.PLANT_MANAGE))]
CapacityManager = Annotated[TokenClaims, Depends(require_permission(Action.CAPACITY_MANAGE))]
DayLocker = Annotated[TokenClaims, Depends(require_permission(Action.DOWNTIME_DAYS_LOCK))]
LockedEditor = Annotated[TokenClaims, Depends(require_permission(Action.DOWNTIME_LOCKED_EDIT))]
Paging = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]
CodeFilter = Annotated[str | None, Query(max_length=32)]
# Ids are BIGINT: a larger number names no row, and is refused before it reaches the database.
CapacityId = Annotated[int, Path(ge=1, le=2**63 - 1)]


# --- facilities --------------------------------------------------------------------------------


@router.get("/facilities", response_model=Page[FacilityOut])
def list_facilities(
    request: Request, _: Reader, page: Paging, sort: Sort, active: bool | None = None
) -> Page[FacilityOut]:
    """The facilities, by code; `sort` is code, name, timezone or active."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_facilities(uow, page, active, sort)


@router.get("/facilities/{code}", response_model=FacilityOut)
def get_facility(code: str, request: Request, _: Reader) -> FacilityOut:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.get_facility(uow, code)


@router.post("/facilities", status_code=201, response_model=FacilityOut)
def create_facility(body: FacilityCreate, request: Request, _: PlantManager) -> JSONResponse:
    return run_command(request, lambda uow: service.create_facility(uow, body), status_code=201)


@router.patch("/facilities/{code}", response_model=FacilityOut)
def update_facility(
    code: str, body: FacilityUpdate, request: Request, _: PlantManager
) -> JSONResponse:
    """Change a facility; a new time zone is published with each of its lines."""
    return run_command(request, lambda uow: service.update_facility(uow, code, body))


@router.post("/facilities/{code}/deactivate", response_model=FacilityOut)
def deactivate_facility(code: str, request: Request, _: PlantManager) -> JSONResponse:
    """Deactivate a facility whose lines are all deactivated (409 naming those that are not)."""
    return run_command(request, lambda uow: service.set_facility_active(uow, code, False))


@router.post("/facilities/{code}/reactivate", response_model=FacilityOut)
def reactivate_facility(code: str, request: Request, _: PlantManager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_facility_active(uow, code, True))


# --- lines -------------------------------------------------------------------------------------


@router.get("/lines", response_model=Page[LineOut])
def list_lines(
    request: Request,
    _: Reader,
    page: Paging,
    sort: Sort,
    facility_code: CodeFilter = None,
    active: bool | None = None,
) -> Page[LineOut]:
    """The production lines, by code; `sort` is any of their columns."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_lines(uow, page, facility_code, active, sort)


@router.get("/lines/{code}", response_model=LineOut)
def get_line(code: str, request: Request, _: Reader) -> LineOut:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.get_line(uow, code)


@router.post("/lines", status_code=201, response_model=LineOut)
def create_line(body: LineCreate, request: Request, _: PlantManager) -> JSONResponse:
    """A new line of an active facility; publishes LineUpserted."""
    return run_command(request, lambda uow: service.create_line(uow, body), status_code=201)


@router.patch("/lines/{code}", response_model=LineOut)
def update_line(code: str, body: LineUpdate, request: Request, _: PlantManager) -> JSONResponse:
    return run_command(request, lambda uow: service.update_line(uow, code, body))


@router.post("/lines/{code}/deactivate", response_model=LineOut)
def deactivate_line(code: str, request: Request, _: PlantManager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_line_active(uow, code, False))


@router.post("/lines/{code}/reactivate", response_model=LineOut)
def reactivate_line(code: str, request: Request, _: PlantManager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_line_active(uow, code, True))


# --- shifts ------------------------------------------------------------------------------------


@router.get("/facilities/{code}/shifts", response_model=Page[ShiftOut])
def list_shifts(
    code: str, request: Request, _: Reader, page: Paging, sort: Sort, active: bool | None = None
) -> Page[ShiftOut]:
    """A facility's shifts, by start time; `sort` is code, name, start_time, end_time, active."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_shifts(uow, code, page, active, sort)


@router.post("/facilities/{code}/shifts", status_code=201, response_model=ShiftOut)
def create_shift(code: str, body: ShiftCreate, request: Request, _: PlantManager) -> JSONResponse:
    """A new shift; 409 `shift_overlap` naming the active shift it would overlap."""
    return run_command(request, lambda uow: service.create_shift(uow, code, body), status_code=201)


@router.patch("/facilities/{code}/shifts/{shift}", response_model=ShiftOut)
def update_shift(
    code: str, shift: str, body: ShiftUpdate, request: Request, _: PlantManager
) -> JSONResponse:
    return run_command(request, lambda uow: service.update_shift(uow, code, shift, body))


@router.post("/facilities/{code}/shifts/{shift}/deactivate", response_model=ShiftOut)
def deactivate_shift(code: str, shift: str, request: Request, _: PlantManager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_shift_active(uow, code, shift, False))


@router.post("/facilities/{code}/shifts/{shift}/reactivate", response_model=ShiftOut)
def reactivate_shift(code: str, shift: str, request: Request, _: PlantManager) -> JSONResponse:
    return run_command(request, lambda uow: service.set_shift_active(uow, code, shift, True))


@router.get("/facilities/{code}/shift-at", response_model=ShiftAtOut)
def shift_at(
    code: str,
    request: Request,
    _: Reader,
    at: Annotated[AwareDatetime, Query(description="An instant with its offset (ISO 8601)")],
) -> ShiftAtOut:
    """The shift a moment falls in at a facility, that shift's start and end, and the
    production day (a night shift's early hours belong to the day it started)."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.shift_at(uow, code, at)


# --- capacity ----------------------------------------------------------------------------------


@router.get("/lines/{code}/capacities", response_model=Page[CapacityOut])
def list_capacities(
    code: str, request: Request, _: Reader, page: Paging, sort: Sort, active: bool | None = None
) -> Page[CapacityOut]:
    """A line's capacities, newest effective date first."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_capacities(uow, code, page, active, sort)


@router.post("/lines/{code}/capacities", status_code=201, response_model=CapacityOut)
def create_capacity(
    code: str, body: CapacityCreate, request: Request, _: CapacityManager
) -> JSONResponse:
    """Units per shift for an item, a family or any product from a date; publishes
    CapacityChanged."""
    return run_command(
        request, lambda uow: service.create_capacity(uow, code, body), status_code=201
    )


@router.patch("/capacities/{capacity_id}", response_model=CapacityOut)
def update_capacity(
    capacity_id: CapacityId, body: CapacityUpdate, request: Request, _: CapacityManager
) -> JSONResponse:
    return run_command(request, lambda uow: service.update_capacity(uow, capacity_id, body))


@router.post("/capacities/{capacity_id}/deactivate", response_model=CapacityOut)
def deactivate_capacity(
    capacity_id: CapacityId, request: Request, _: CapacityManager
) -> JSONResponse:
    return run_command(request, lambda uow: service.deactivate_capacity(uow, capacity_id))


# --- day locks ---------------------------------------------------------------------------------


@router.get("/facilities/{code}/day-locks", response_model=DayLocksOut)
def list_day_locks(
    code: str,
    request: Request,
    _: Reader,
    date_from: date | None = None,
    date_to: date | None = None,
) -> DayLocksOut:
    """The locked production days of a range (the last 31 days by default, at most 366): those
    a supervisor locked (`manual`) and those the facility's `day_lock_hour` locked
    (`automatic`: a day locks by itself at that plant-local hour of the next day)."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_day_locks(uow, code, date_from, date_to)


@router.post("/facilities/{code}/day-locks", status_code=201, response_model=DayLockOut)
def lock_day(code: str, body: DayLockCreate, request: Request, _: DayLocker) -> JSONResponse:
    """Lock a production day: its downtime then changes only with downtime.days.edit_locked."""
    return run_command(request, lambda uow: service.lock_day(uow, code, body.day), status_code=201)


@router.post("/facilities/{code}/day-locks/{day}/unlock", response_model=DayUnlockOut)
def unlock_day(code: str, day: date, request: Request, _: LockedEditor) -> JSONResponse:
    """Lift a supervisor's lock (409 `locked_by_the_clock` for a day the clock locked)."""
    return run_command(request, lambda uow: service.unlock_day(uow, code, day))
