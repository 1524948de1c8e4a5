"""HTTP API of the downtime service's reasons (docs/downtime.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["downtime-reasons"])
