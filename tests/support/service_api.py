"""One service's runtime as its tests drive it: HTTP clients signed as any role, the events its
outbox holds, and the rows of its tables. Nothing is relayed in these tests, so the outbox
keeps every event the service published."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import MetaData, func, select

from shared.auth.tokens import issue_service_token
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime


class ServiceApi:
    def __init__(self, runtime: ServiceRuntime, secret: str) -> None:
        self.runtime = runtime
        self.secret = secret

    def client(self, *roles: str, user: str = "sam", language: str | None = None) -> Any:
        token = issue_service_token(self.secret, user=user, roles=list(roles), ttl_seconds=600)
        headers = {"Authorization": f"Bearer {token}"}
        if language:
            headers["Accept-Language"] = language
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.runtime.app),
            base_url=f"http://{self.runtime.definition.name}",
            headers=headers,
        )

    def events(self, event_type: str | None = None, key: str | None = None) -> list[Envelope]:
        """Published envelopes, oldest first, of a type and key if given."""
        outbox = self.runtime.definition.tables.outbox
        query = select(outbox.c.envelope).order_by(outbox.c.id)
        if event_type:
            query = query.where(outbox.c.event_type == event_type)
        if key:
            query = query.where(outbox.c.key == key)
        with self.runtime.db.engine.connect() as conn:
            return [Envelope.model_validate_json(row[0]) for row in conn.execute(query)]

    def row_counts(self) -> dict[str, int]:
        """Rows in every table of the service, outbox included."""
        tables = MetaData()
        tables.reflect(self.runtime.db.engine)
        with self.runtime.db.engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in tables.sorted_tables
            }
