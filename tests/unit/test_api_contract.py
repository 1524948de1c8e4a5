"""Every service's OpenAPI is a true contract: schemathesis generates requests for each
operation from the service's own schema, valid ones and (where there is a body or a query to get
wrong) invalid ones, and sends them as admin, and every answer must be no
5xx, a documented status code, a documented content type and a body matching the documented
schema (DESIGN §6: bad input is a 4xx problem+json, never a 500).

Each service runs alone on a SQLite file, migrated and seeded, without its relay or consumer:
the HTTP contract is what is under test, not the flow of events. Alone, it has no peers either:
a route that asks another service (accounting's reconciliation asks inventory) answers the 503
problem `no_peer` it documents, which is that route's contract here, not a server error.
Examples per operation are few and derandomized, so the run is short and the same every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode, checks

from services import registry
from shared.auth.tokens import Role, issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import SERVICES, Settings

SECRET = "api-contract-test-secret-" + "x" * 30
EXAMPLES_PER_OPERATION = 15


def not_a_server_error(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """schemathesis' check, but a documented 503 `no_peer` (the peer is not run here) passes."""
    if response.status_code == 503 and response.json().get("code") == "no_peer":
        return None
    return checks.not_a_server_error(ctx, response, case)


CONTRACT = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
RUN = hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
    print_blob=False,
)


@pytest.fixture
def runtime(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServiceRuntime]:
    service: str = request.param
    running = ServiceRuntime(
        registry.definition(service),
        Settings(var_dir=tmp_path, admin_password="contract-admin-password"),
        InProcessBus(),
        token_secret=SECRET,
    )
    running.migrate()
    running.seed()
    yield running
    running.db.dispose()


def admin_headers() -> dict[str, str]:
    token = issue_service_token(SECRET, user="contract", roles=[Role.ADMIN], ttl_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


def failures_of(
    operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str]
) -> str | None:
    """The first contract breach hypothesis finds (shrunk), or None."""

    @RUN
    @given(case=operation.as_strategy(mode))
    def honours_the_contract(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CONTRACT)

    try:
        honours_the_contract()
    except Exception as exc:  # schemathesis' failures, grouped or single
        return f"{operation.label} ({mode.value} data):\n{exc}"
    return None


def modes_for(operation: schemathesis.APIOperation) -> list[GenerationMode]:
    """Invalid data too, where there is a body or a query to get wrong (a bare path segment
    is any string, so nothing generated for it is invalid)."""
    if len(operation.body) or len(operation.query):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


@pytest.mark.parametrize("runtime", SERVICES, indirect=True)
def test_every_operation_answers_as_its_openapi_says(runtime: ServiceRuntime) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", runtime.app)
    headers = admin_headers()
    operations = [result.ok() for result in schema.get_all_operations()]
    breaches = [
        found
        for operation in operations
        for mode in modes_for(operation)
        if (found := failures_of(operation, mode, headers)) is not None
    ]
    assert not breaches, "\n\n".join(breaches)
