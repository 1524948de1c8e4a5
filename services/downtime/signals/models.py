"""What the machines last said: one row per line, so a repeated or older message changes
nothing, and the downtime the machine's last stop opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.downtime.models import Base
from shared.types import UtcDateTime


class LineSignal(Base):
    __tablename__ = "line_signals"

    line_code: Mapped[str] = mapped_column(ForeignKey("lines.code"), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))
    signalled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    downtime_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), nullable=True
    )
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
