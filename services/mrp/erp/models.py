"""The log of ERP imports: when, by whom, dry run or applied, and what changed per entity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
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
