"""The mrp service's own tables: the messaging tables every service has (outbox, inbox, dead
letters, idempotency keys) and, through the `Base` here, those of its feature packages (sales,
planning, runs, schedule, erp), imported at the end so the metadata always holds them all."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.messaging.tables import messaging_tables


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
messaging = messaging_tables(metadata)


# The feature packages' tables join the metadata (migrations compare against all of it).
from services.mrp.erp import models as _erp_models  # noqa: E402, F401
from services.mrp.planning import models as _planning_models  # noqa: E402, F401
from services.mrp.runs import models as _runs_models  # noqa: E402, F401
from services.mrp.sales import models as _sales_models  # noqa: E402, F401
from services.mrp.schedule import models as _schedule_models  # noqa: E402, F401
