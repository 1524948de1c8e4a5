"""The downtime service's tables: the common base, the messaging tables every service has, and
(imported at the end, so `metadata` is whole for whoever imports this module: the runtime, the
migrations, tests) each sub-package's own models."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.messaging.tables import messaging_tables


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
messaging = messaging_tables(metadata)

from services.downtime.entries import models as entries_models  # noqa: E402
from services.downtime.floor import models as floor_models  # noqa: E402
from services.downtime.plant import models as plant_models  # noqa: E402
from services.downtime.reasons import models as reasons_models  # noqa: E402
from services.downtime.signals import models as signals_models  # noqa: E402

__all__ = [
    "Base",
    "entries_models",
    "floor_models",
    "messaging",
    "metadata",
    "plant_models",
    "reasons_models",
    "signals_models",
]
