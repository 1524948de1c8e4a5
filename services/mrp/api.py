"""The mrp service's HTTP API under /api/v1 (its routes come with its feature issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["mrp"])
