"""A Spanish-speaking caller (Accept-Language: es) reads the services' problems in Spanish.

Inventory and purchasing run as in test_bad_input (SQLite, in-process bus); the gateway as in
test_gateway_auth. Each test asserts the exact Spanish title and detail a person would read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.gateway import domain
from services.gateway.service import TooManyLoginAttempts
from shared.auth.tokens import issue_service_token
from shared.i18n import language_scope
from shared.runtime import ServiceRuntime
from tests.unit.test_bad_input import SECRET, Plant, po
from tests.unit.test_bad_input import plant as plant  # the fixture
from tests.unit.test_gateway_auth import (
    browser,
    configured_admin,  # noqa: F401 (a fixture the gateway fixture needs)
    gateway,  # noqa: F401 (the fixture)
    sign_in,
)

SPANISH = {"Accept-Language": "es-US,es;q=0.9"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def test_an_unknown_item_is_not_found_in_spanish(plant: Plant) -> None:
    response = await plant.clients["inventory"].get("/api/v1/items/NOPE", headers=SPANISH)

    body = problem(response, 404)
    assert body["title"] == "No encontrado"
    assert body["detail"] == "no existe ningún artículo con el SKU 'NOPE'"


async def test_a_duplicate_item_is_refused_in_spanish(plant: Plant) -> None:
    response = await plant.clients["inventory"].post(
        "/api/v1/items", json={"sku": "RESIN", "name": "Resin"}, headers=SPANISH
    )

    body = problem(response, 409)
    assert body["title"] == "Conflicto"
    assert body["detail"] == "ya existe un artículo con el SKU 'RESIN'"


async def test_a_role_without_the_permission_is_told_in_spanish(plant: Plant) -> None:
    token = issue_service_token(SECRET, user="viewer", roles=["viewer"], ttl_seconds=300)
    response = await plant.clients["inventory"].post(
        "/api/v1/items",
        json={"sku": "NEW", "name": "New"},
        headers={**SPANISH, "Authorization": f"Bearer {token}"},
    )

    body = problem(response, 403)
    assert body["title"] == "Prohibido"
    assert body["detail"] == (
        "Su rol no le permite crear y modificar artículos (inventory.items.write)."
    )


async def test_receiving_more_than_is_open_is_refused_in_spanish(plant: Plant) -> None:
    number = await po(plant, submit=True)
    purchasing = plant.clients["purchasing"]
    receipts = f"/api/v1/purchase-orders/{number}/receipts"
    first = await purchasing.post(receipts, json={"lines": [{"line_no": 1, "qty": "6"}]})
    assert first.status_code == 201, first.text

    response = await purchasing.post(
        receipts, json={"lines": [{"line_no": 1, "qty": "5"}]}, headers=SPANISH
    )

    body = problem(response, 422)
    assert body["title"] == "Datos no válidos"
    assert body["field"] == "lines.0.qty"
    assert body["detail"] == (
        "la línea 1 tiene 4.0000 por recibir; recibir 5 superaría lo pedido (10.0000)"
    )


async def test_a_draft_purchase_order_cannot_be_received_in_spanish(plant: Plant) -> None:
    number = await po(plant, submit=False)

    response = await plant.clients["purchasing"].post(
        f"/api/v1/purchase-orders/{number}/receipts",
        json={"lines": [{"line_no": 1, "qty": "1"}]},
        headers=SPANISH,
    )

    body = problem(response, 409)
    assert body["detail"] == (
        "no se puede recibir material de una orden de compra en borrador; envíela primero"
    )


async def test_an_unknown_vendor_is_refused_in_spanish(plant: Plant) -> None:
    response = await plant.clients["purchasing"].post(
        "/api/v1/purchase-orders",
        json={"vendor_code": "GHOST", "lines": [{"sku": "RESIN", "qty": "1", "unit_cost": "1"}]},
        headers=SPANISH,
    )

    body = problem(response, 422)
    assert body["detail"] == "no existe ningún proveedor activo con el código 'GHOST'"


@pytest.fixture
async def spanish_tablet(gateway: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with browser(gateway) as client:
        client.headers.update(SPANISH)
        yield client


async def test_a_wrong_password_is_refused_in_spanish(spanish_tablet: httpx.AsyncClient) -> None:
    body = problem(await sign_in(spanish_tablet, password="not it"), 401)

    assert body["title"] == "No autorizado"
    assert body["detail"] == "usuario o contraseña incorrectos"


async def test_too_many_failures_are_told_in_spanish(spanish_tablet: httpx.AsyncClient) -> None:
    for _attempt in range(5):
        assert (await sign_in(spanish_tablet, password="guess")).status_code == 401

    body = problem(await sign_in(spanish_tablet), 429)

    assert body["title"] == "Demasiadas solicitudes"
    assert body["detail"] == (
        "Demasiados intentos fallidos de inicio de sesión. Intente de nuevo en 15 minutos."
    )


async def test_without_a_session_the_reason_is_in_spanish(
    spanish_tablet: httpx.AsyncClient,
) -> None:
    body = problem(await spanish_tablet.get("/api/auth/me"), 401)

    assert body["detail"] == "No ha iniciado sesión."


def test_one_minute_and_many_minutes_are_separate_sentences() -> None:
    with language_scope("es"):
        assert str(TooManyLoginAttempts(60).detail) == (
            "Demasiados intentos fallidos de inicio de sesión. Intente de nuevo en 1 minuto."
        )
        idle = domain.SessionEnd.IDLE
        assert str(domain.why_session_ended(idle, 1)) == (
            "Su sesión terminó después de 1 minuto sin actividad. "
            "Inicie sesión de nuevo para continuar."
        )
    assert str(domain.why_session_ended(idle, 480)).startswith(
        "Your session ended after 480 minutes without activity."
    )
