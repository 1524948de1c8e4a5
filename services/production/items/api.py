"""HTTP API of this package (see its __init__)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["items"])
