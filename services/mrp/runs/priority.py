"""The planner's priority-score settings: whether the score orders the MRP's lines, its four
weights and the horizon of its due-date part (services/mrp/planning/ordering.py). One row, id 1,
created by the first change; until then the defaults of `ordering.Weights` apply, version 0.

A change carries the version it was read at: two planners editing at once cannot silently undo
each other (the second gets a 409 and reloads). The run reads them with
`runs.service.priority_in_force`, so a change orders the next run, not the current one.
"""

from __future__ import annotations

from sqlalchemy import select

from services.mrp.planning.ordering import Weights
from services.mrp.runs.models import PrioritySettings
from services.mrp.runs.schemas import PrioritySettingsOut, PrioritySettingsUpdate
from shared.audit import record_change
from shared.context import get_current_user
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.commands import CONCURRENT_CHANGE
from shared.web.problems import Conflict, InvalidInput

SETTINGS_ID = 1


def get_settings(uow: UnitOfWork) -> PrioritySettingsOut:
    row = uow.session.get(PrioritySettings, SETTINGS_ID)
    return _out(row)


def update_settings(uow: UnitOfWork, data: PrioritySettingsUpdate) -> PrioritySettingsOut:
    """Save the settings if nobody changed them since `data.version` was read."""
    if data.use_score and not any(
        (data.weight_customer, data.weight_value, data.weight_due, data.weight_penalty)
    ):
        raise InvalidInput(
            _("Give at least one weight above 0 to order the lines by the score."),
            field="weight_customer",
        )
    row = uow.session.scalar(
        select(PrioritySettings)
        .where(PrioritySettings.id == SETTINGS_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    before = _out(row)
    if data.version != before.version:
        raise Conflict(
            CONCURRENT_CHANGE,
            field="version",
            code="concurrent_change",
            extensions={"current_version": before.version},
        )
    if row is None:
        row = PrioritySettings(id=SETTINGS_ID)
        uow.session.add(row)
    row.use_score = data.use_score
    row.weight_customer = data.weight_customer
    row.weight_value = data.weight_value
    row.weight_due = data.weight_due
    row.weight_penalty = data.weight_penalty
    row.horizon_days = data.horizon_days
    row.version = before.version + 1
    caller = get_current_user()
    row.updated_by = caller.user if caller is not None else None
    row.updated_at = utc_now()
    uow.session.flush()
    after = _out(row)
    record_change(uow, "mrp.priority.update", "priority_settings", str(SETTINGS_ID), before, after)
    return after


def _out(row: PrioritySettings | None) -> PrioritySettingsOut:
    if row is None:
        defaults = Weights()
        return PrioritySettingsOut(
            use_score=False,
            weight_customer=defaults.customer,
            weight_value=defaults.value,
            weight_due=defaults.due,
            weight_penalty=defaults.penalty,
            horizon_days=defaults.horizon_days,
            version=0,
            updated_by=None,
            updated_at=None,
        )
    return PrioritySettingsOut(
        use_score=row.use_score,
        weight_customer=row.weight_customer,
        weight_value=row.weight_value,
        weight_due=row.weight_due,
        weight_penalty=row.weight_penalty,
        horizon_days=row.horizon_days,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )
