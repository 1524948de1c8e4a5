"""The seven services by name: the one place that knows them all (used by the CLI only)."""

from __future__ import annotations

import importlib

from shared.service import ServiceDefinition
from shared.settings import SERVICES


def definition(service: str) -> ServiceDefinition:
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; one of: {', '.join(SERVICES)}")
    module = importlib.import_module(f"services.{service}.bootstrap")
    result: ServiceDefinition = module.definition()
    return result


def all_definitions() -> list[ServiceDefinition]:
    return [definition(name) for name in SERVICES]
