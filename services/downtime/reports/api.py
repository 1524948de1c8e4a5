"""HTTP API of the downtime service's reports (docs/downtime.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["downtime-reports"])
