"""Downtime reasons: a tree of any depth per facility, each node with its colour and whether
the stop it names is planned. A reason in use is deactivated, never deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.downtime.models import Base
from shared.types import UtcDateTime


class DowntimeReason(Base):
    __tablename__ = "downtime_reasons"
    __table_args__ = (Index("ix_downtime_reasons_parent", "facility_code", "parent_code"),)

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    facility_code: Mapped[str] = mapped_column(ForeignKey("facilities.code"))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("downtime_reasons.code"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(120))
    colour: Mapped[str] = mapped_column(String(7))
    planned: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean)
    sort_order: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
