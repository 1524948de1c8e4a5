"""Scrap reason code use cases: the seeded standard set, admin's additions and deactivations,
and the one check every run and QC decision makes (`usable_code`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.production.scrap.domain import STANDARD_CODES, ScrapCategory
from services.production.scrap.models import ScrapReasonCode
from services.production.scrap.schemas import ScrapCodeCreate, ScrapCodeOut
from shared.audit import record_change
from shared.events.envelope import utc_now
from shared.i18n import _, translate
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound


def seed_scrap_codes(uow: UnitOfWork, settings: Settings | None = None) -> None:
    """Add the standard codes that are not there yet; a code admin deactivated stays so."""
    present = set(uow.session.scalars(select(ScrapReasonCode.code)))
    now = utc_now()
    for standard in STANDARD_CODES:
        if standard.code in present:
            continue
        uow.session.add(
            ScrapReasonCode(
                code=standard.code,
                category=standard.category.value,
                # The English text is stored; readers see it in their language (`_out`).
                description=standard.description.msgid,
                corrective_action=standard.corrective_action.msgid,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )


SORTS: dict[str, Any] = {
    "code": ScrapReasonCode.code,
    "category": ScrapReasonCode.category,
    "active": ScrapReasonCode.active,
}


def list_scrap_codes(
    uow: UnitOfWork,
    page: PageParams,
    category: ScrapCategory | None = None,
    active: bool | None = None,
    sort: str | None = None,
) -> Page[ScrapCodeOut]:
    query = select(ScrapReasonCode)
    if category is not None:
        query = query.where(ScrapReasonCode.category == category.value)
    if active is not None:
        query = query.where(ScrapReasonCode.active.is_(active))
    query = apply_sort(query, sort, SORTS, default="category", tiebreak=ScrapReasonCode.code)
    return paginate(uow.session, query, page, _out)


def get_scrap_code(uow: UnitOfWork, code: str) -> ScrapCodeOut:
    return _out(_code(uow, code))


def create_scrap_code(uow: UnitOfWork, data: ScrapCodeCreate) -> ScrapCodeOut:
    if uow.session.get(ScrapReasonCode, data.code) is not None:
        raise Conflict(
            _("a scrap reason code '{code}' already exists", code=data.code), field="code"
        )
    now = utc_now()
    row = ScrapReasonCode(
        code=data.code,
        category=data.category.value,
        description=data.description,
        corrective_action=data.corrective_action,
        active=True,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    out = _out(row)
    record_change(uow, "production.scrap_codes.create", "scrap_code", row.code, None, out)
    return out


def set_scrap_code_active(uow: UnitOfWork, code: str, active: bool) -> ScrapCodeOut:
    """Deactivate (refused for new scrap from now on) or reactivate a code; the same state
    again changes nothing."""
    row = _code(uow, code, for_update=True)
    before = _out(row)
    if row.active == active:
        return before
    row.active = active
    row.updated_at = utc_now()
    out = _out(row)
    action = "reactivate" if active else "deactivate"
    record_change(uow, f"production.scrap_codes.{action}", "scrap_code", row.code, before, out)
    return out


def usable_code(uow: UnitOfWork, code: str | None, *, field: str) -> ScrapReasonCode:
    """The active scrap reason code `code`, or a 422 naming `field` (given, known, active)."""
    if not code:
        raise InvalidInput(
            _("A scrap reason code is required when units are scrapped or failed."),
            field=field,
            code="scrap_reason_required",
        )
    row = uow.session.get(ScrapReasonCode, code.strip().upper())
    if row is None:
        raise InvalidInput(
            _("There is no scrap reason code '{code}'.", code=code),
            field=field,
            code="unknown_scrap_code",
        )
    if not row.active:
        raise InvalidInput(
            _("The scrap reason code {code} is deactivated; choose an active one.", code=code),
            field=field,
            code="inactive_scrap_code",
        )
    return row


def _code(uow: UnitOfWork, code: str, *, for_update: bool = False) -> ScrapReasonCode:
    row = uow.session.get(ScrapReasonCode, code.strip().upper(), with_for_update=for_update)
    if row is None:
        raise NotFound(_("There is no scrap reason code '{code}'.", code=code), field="code")
    return row


def _out(row: ScrapReasonCode) -> ScrapCodeOut:
    return ScrapCodeOut(
        code=row.code,
        category=ScrapCategory(row.category),
        description=translate(row.description),
        corrective_action=translate(row.corrective_action),
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
