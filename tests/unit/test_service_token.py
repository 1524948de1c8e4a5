"""The gateway's service token: a valid one passes, every kind of bad one is told apart."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from shared import context
from shared.auth.tokens import (
    AUDIENCE,
    ISSUER,
    Role,
    TokenClaims,
    issue_service_token,
    verify_service_token,
)
from shared.settings import Settings
from shared.web.app import create_app
from shared.web.metrics import ServiceMetrics
from shared.web.problems import Unauthorized
from shared.web.security import CurrentUser, require_roles

SECRET = "gateway-and-services-share-this-secret"
OTHER_SECRET = "somebody-else-entirely-different-secret"


def signed(claims: Mapping[str, Any], secret: str = SECRET) -> str:
    now = datetime.now(UTC)
    base = {
        "sub": "maria",
        "roles": ["planner"],
        "name": "María",
        "iat": now,
        "exp": now + timedelta(seconds=60),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    return jwt.encode({**base, **claims}, secret, algorithm="HS256")


def rejection(token: str | None) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        verify_service_token(SECRET, token)
    return caught.value


def test_a_token_from_the_gateway_is_accepted() -> None:
    token = issue_service_token(
        SECRET, user="maria", roles=[Role.PLANNER, "buyer"], ttl_seconds=60, name="María"
    )

    claims = verify_service_token(SECRET, token)

    assert claims.user == "maria"
    assert claims.roles == ("planner", "buyer")
    assert claims.name == "María"
    assert datetime.now(UTC) < claims.expires_at <= datetime.now(UTC) + timedelta(seconds=61)


def test_the_token_carries_issuer_audience_and_a_unique_id() -> None:
    first = issue_service_token(SECRET, user="maria", roles=["viewer"], ttl_seconds=60)
    second = issue_service_token(SECRET, user="maria", roles=["viewer"], ttl_seconds=60)

    payload = jwt.decode(first, SECRET, algorithms=["HS256"], audience=AUDIENCE)

    assert payload["iss"] == "portal-gateway"
    assert payload["aud"] == "portal-services"
    assert (
        payload["jti"] != jwt.decode(second, SECRET, algorithms=["HS256"], audience=AUDIENCE)["jti"]
    )


def test_an_unknown_role_cannot_be_issued() -> None:
    with pytest.raises(ValueError):
        issue_service_token(SECRET, user="maria", roles=["superuser"], ttl_seconds=60)


def test_each_bad_token_is_rejected_with_its_own_reason() -> None:
    valid = signed({})
    header, payload, signature = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    promoted = base64.urlsafe_b64encode(json.dumps({**claims, "roles": ["admin"]}).encode())
    tampered = ".".join([header, promoted.decode().rstrip("="), signature])
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)

    reasons = {
        "missing": rejection(None),
        "expired": rejection(signed({"iat": an_hour_ago, "exp": an_hour_ago})),
        "forged": rejection(signed({}, secret=OTHER_SECRET)),
        "tampered": rejection(tampered),
        "wrong audience": rejection(signed({"aud": "somebody-else"})),
        "wrong issuer": rejection(signed({"iss": "mallory"})),
        "malformed": rejection("not-a-jwt"),
        "no roles": rejection(jwt.encode({"sub": "maria"}, SECRET, algorithm="HS256")),
    }

    codes = {case: error.code for case, error in reasons.items()}
    assert codes == {
        "missing": "token_missing",
        "expired": "token_expired",
        "forged": "token_bad_signature",
        # A changed payload breaks the signature exactly like a foreign secret does.
        "tampered": "token_bad_signature",
        "wrong audience": "token_wrong_audience",
        "wrong issuer": "token_wrong_issuer",
        "malformed": "token_malformed",
        "no roles": "token_malformed",
    }
    details = {str(error.detail) for case, error in reasons.items() if case != "tampered"}
    assert len(details) == len(reasons) - 1
    assert all(error.status == 401 for error in reasons.values())
    assert "expired" in str(reasons["expired"].detail)
    assert "forged" in str(reasons["forged"].detail)
    assert "audience" in str(reasons["wrong audience"].detail)
    assert "Bearer" in str(reasons["missing"].detail)


def test_a_token_without_the_roles_claim_says_so() -> None:
    token = jwt.encode(
        {
            "sub": "maria",
            "iat": datetime.now(UTC),
            "exp": datetime.now(UTC) + timedelta(60),
            "iss": ISSUER,
            "aud": AUDIENCE,
        },
        SECRET,
        algorithm="HS256",
    )

    assert str(rejection(token).detail) == "The service token lacks the 'roles' claim."


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode({"sub": "maria", "roles": ["admin"]}, None, algorithm="none")

    assert rejection(token).code == "token_bad_algorithm"


def make_client() -> TestClient:
    router = APIRouter(prefix="/api/v1")

    @router.get("/plans")
    async def plans(claims: TokenClaims = Depends(require_roles(Role.PLANNER))) -> dict[str, str]:
        current = context.get_current_user()
        return {"user": claims.user, "current_user": current.user if current else ""}

    @router.get("/whoami")
    def whoami(claims: CurrentUser) -> dict[str, object]:
        return {"user": claims.user, "roles": list(claims.roles)}

    async def ready() -> dict[str, bool]:
        return {}

    app = create_app(
        service="mrp",
        settings=Settings(),
        routers=[router],
        metrics=ServiceMetrics("mrp"),
        readiness=ready,
        token_secret=SECRET,
    )
    return TestClient(app)


def bearer(*roles: str) -> dict[str, str]:
    token = issue_service_token(SECRET, user="maria", roles=roles, ttl_seconds=60)
    return {"Authorization": f"Bearer {token}"}


def test_a_planner_may_see_the_plans() -> None:
    response = make_client().get("/api/v1/plans", headers=bearer("planner"))

    assert response.status_code == 200
    assert response.json() == {"user": "maria", "current_user": "maria"}


def test_an_operator_is_forbidden_the_plans_and_told_which_role() -> None:
    response = make_client().get("/api/v1/plans", headers=bearer("operator", "viewer"))

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert "'planner'" in body["detail"]
    assert body["code"] == "role_required"


def test_an_admin_passes_every_role_check() -> None:
    response = make_client().get("/api/v1/plans", headers=bearer("admin"))

    assert response.status_code == 200


def test_a_request_without_a_token_is_a_401_problem() -> None:
    response = make_client().get("/api/v1/whoami")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "token_missing"


def test_a_forged_token_is_a_401_problem() -> None:
    forged = signed({"roles": ["admin"]}, secret=OTHER_SECRET)

    response = make_client().get("/api/v1/whoami", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.json()["code"] == "token_bad_signature"


def test_another_authorization_scheme_is_refused() -> None:
    response = make_client().get("/api/v1/whoami", headers={"Authorization": "Basic bWFyaWE6eA=="})

    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_a_misspelt_role_fails_when_the_route_is_declared() -> None:
    with pytest.raises(ValueError):
        require_roles("planer")
