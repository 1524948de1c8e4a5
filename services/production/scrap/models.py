"""The scrap reason codes table: every unit production scraps or fails carries one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from services.production.models import Base
from shared.types import UtcDateTime


class ScrapReasonCode(Base):
    __tablename__ = "scrap_reason_codes"
    __table_args__ = (
        CheckConstraint(
            "category IN ('print_failure', 'qc_failure', 'handling', 'other')",
            name="ck_scrap_reason_codes_category",
        ),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    corrective_action: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
