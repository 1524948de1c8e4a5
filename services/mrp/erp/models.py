"""The log of ERP imports: when, by whom, dry run or applied, and what changed per entity; and
each run's steps that were not "unchanged" (what was, or would be, created, changed or held,
and what a service refused), for the admin's page of a run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.mrp.models import Base
from shared.types import UtcDateTime


class ErpImportRun(Base):
    __tablename__ = "erp_import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    requested_by: Mapped[str] = mapped_column(String(64))
    # "running", "done" or "failed"; `summary` is JSON: per entity, created/changed/unchanged.
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ErpImportStep(Base):
    """One record of a run that was (or would be) created, changed or held, or that failed.

    Unchanged records are counted in the run's summary, not kept here: after the first import
    they are nearly all of them, and a schedule every few minutes would keep them by millions.
    """

    __tablename__ = "erp_import_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("erp_import_runs.id", ondelete="CASCADE"), index=True
    )
    # The order the run planned (and applied) it in.
    position: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    # create / change / held (the plan's verdict).
    verdict: Mapped[str] = mapped_column(String(16))
    # What the plan said of it: the fields that differ, or why it was held.
    details: Mapped[str] = mapped_column(Text)
    # What a service answered when it refused the step (applied runs only).
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    # True once applied; the portal's own number for what it created (SO-2026-00001).
    done: Mapped[bool] = mapped_column(Boolean)
    named: Mapped[str | None] = mapped_column(String(64), nullable=True)
