"""Request and response bodies of the ERP import API (/api/v1/erp): the logged runs, one run
with its steps, and the request to start one."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["running", "done", "failed", "abandoned"]


class ImportStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(
        description="true: compare and log what would change, and change nothing; "
        "false: apply it through the services"
    )


class ImportStarted(BaseModel):
    id: int
    dry_run: bool
    status: RunStatus


class ImportRunOut(BaseModel):
    """One logged run: when, by whom, dry or applied, and how many records per entity had
    each outcome (create, change, unchanged, held, failed). `abandoned`: still "running" long
    after any run ends (its process died without saying so)."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    requested_by: str
    dry_run: bool
    status: RunStatus
    finished: bool
    counts: dict[str, dict[str, int]] = Field(
        description="Per entity (items, boms, ...), records per outcome"
    )
    failed: int = Field(description="Records a service refused")
    error: str | None = Field(description="Why the run stopped, or how many records failed")
    driver: str | None = Field(description="The ODBC driver the ERP was read with")
    not_imported: list[str] = Field(description="Mapping files absent: entities not imported")


class ImportStepOut(BaseModel):
    entity: str
    key: str = Field(description="The ERP's key of the record: SKU, order number, SKU@location")
    verdict: str = Field(description="create, change or held")
    outcome: str = Field(description="The verdict, or failed when a service refused it")
    details: str = Field(description="What differs, or why it was held")
    failure: str | None = Field(description="What the service answered when it refused it")
    done: bool
    named: str | None = Field(description="The portal's number for what it created")


class ImportRunDetail(ImportRunOut):
    steps: list[ImportStepOut] = Field(
        description="Every record created, changed, held or failed (unchanged ones are counted "
        "in `counts`, not listed), in the order the run took them"
    )


class ImportRunsPage(BaseModel):
    items: list[ImportRunOut]
    total: int
    limit: int
    offset: int
