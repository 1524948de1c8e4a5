"""HTTP API of this package (see its __init__)."""

from __future__ import annotations

from fastapi import APIRouter

from services.production.bom import service  # noqa: F401  (its tables join the metadata)

router = APIRouter(prefix="/api/v1", tags=["boms"])
