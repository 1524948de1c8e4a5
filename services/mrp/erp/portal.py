"""The portal as the import sees it: the services' HTTP APIs, called as the import's user.

`upstreams` are the same clients a service uses to call another (`app.state.upstreams`): in
memory in embedded mode, HTTP to PORTAL_<SERVICE>_URL in a deployment. Every call carries a
freshly signed admin token (an import outlives one token's minute) and an Idempotency-Key, so
the one retry after a lost answer cannot create a thing twice.

Reading the current state asks only for what the ERP names: every item, customer, vendor and
order (paged lists; an order is known by its `external_ref`, the ERP's number it was created
with), the released BOM of each product the ERP has a BOM for, and the stock balances.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from services.mrp.erp.plan import ApiCall, PortalState
from services.mrp.erp.records import ErpData
from shared.i18n import Text, _

PAGE = 1000
CALL_TIMEOUT_SECONDS = 30.0
# How long a service may take to hear of items created a moment ago (its read model).
READ_MODEL_WAIT_SECONDS = 60.0


class PortalProblem(Exception):
    """A service could not be reached or failed: the import stops."""

    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.message = message


class Refused(Exception):
    """A service refused one call (4xx): that step failed, the others go on."""

    def __init__(self, status: int, detail: str, field: str | None) -> None:
        super().__init__(f"{status}: {detail}" + (f" ({field})" if field else ""))
        self.status, self.detail, self.field = status, detail, field


class PortalApi:
    def __init__(
        self,
        upstreams: Mapping[str, httpx.AsyncClient],
        token: Callable[[], str],
        *,
        key_prefix: str,
    ) -> None:
        self.upstreams = upstreams
        self.token = token
        self.key_prefix = key_prefix
        self._calls = 0

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """The JSON answer; `Refused` for a 4xx, `PortalProblem` when there is no answer."""
        client = self.upstreams.get(service)
        if client is None:
            raise PortalProblem(_("The {service} service is not configured here.", service=service))
        headers = {"Accept-Language": "en"}
        if method != "GET":
            self._calls += 1
            headers["Idempotency-Key"] = f"{self.key_prefix}:{self._calls}"
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {self.token()}"
            try:
                # wait_for as well: the in-memory ASGI transport ignores httpx's timeout.
                response = await asyncio.wait_for(
                    client.request(method, path, json=body, params=params, headers=headers),
                    CALL_TIMEOUT_SECONDS,
                )
                break
            except (TimeoutError, httpx.TransportError) as exc:
                if attempt == 2:
                    raise PortalProblem(
                        _(
                            "The {service} service did not answer {method} {path}: {reason}",
                            service=service,
                            method=method,
                            path=path,
                            reason=repr(exc),
                        )
                    ) from exc
        if response.status_code >= 500:
            raise PortalProblem(
                _(
                    "The {service} service failed on {method} {path} ({status}).",
                    service=service,
                    method=method,
                    path=path,
                    status=response.status_code,
                )
            )
        answer = response.json() if response.content else None
        if response.status_code >= 400:
            problem = answer if isinstance(answer, dict) else {}
            raise Refused(
                response.status_code,
                str(problem.get("detail") or problem.get("title") or response.reason_phrase),
                problem.get("field"),
            )
        return answer

    async def get_or_none(self, service: str, path: str) -> Any:
        try:
            return await self.request(service, "GET", path)
        except Refused as exc:
            if exc.status == 404:
                return None
            raise

    async def every_page(
        self, service: str, path: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = await self.request(
                service, "GET", path, params={**(params or {}), "limit": PAGE, "offset": len(rows)}
            )
            batch = list(page.get("items", []))
            rows += batch
            if not batch or len(rows) >= int(page.get("total", 0)):
                return rows

    async def call(self, call: ApiCall, previous: Any) -> Any:
        """Make one planned call, its path's placeholders filled from the previous answer."""
        path = call.path
        if "{" in path:
            fields = previous if isinstance(previous, dict) else {}
            path = path.format(**{k: quote(str(v), safe="") for k, v in fields.items()})
        return await self.request(call.service, call.method, path, body=call.body)

    async def wait_known(self, services: Iterable[str], skus: Sequence[str]) -> None:
        """Wait until every service has heard of the items (inventory's ItemUpserted reaches
        their read models a moment after the item is created); each lists what it knows."""
        deadline = time.monotonic() + READ_MODEL_WAIT_SECONDS
        for service in services:
            while True:
                known = {row["sku"] for row in await self.every_page(service, "/api/v1/items")}
                waiting = [sku for sku in skus if sku not in known]
                if not waiting:
                    break
                if time.monotonic() > deadline:
                    raise PortalProblem(
                        _(
                            "The {service} service has not heard of {skus} after {seconds} s: "
                            "are its events flowing?",
                            service=service,
                            skus=", ".join(waiting[:10]),
                            seconds=int(READ_MODEL_WAIT_SECONDS),
                        )
                    )
                await asyncio.sleep(0.2)


def request_key(run_id: int | None) -> str:
    """The prefix of this run's Idempotency-Keys: one per run, so a later run's change that
    happens to look like an earlier one (the same stock delta) is never taken for a retry."""
    return f"erp-import-{run_id}-{uuid.uuid4().hex[:12]}"


async def current_state(api: PortalApi, erp: ErpData) -> PortalState:
    """What the portal holds of what the ERP names."""
    items = {row["sku"]: row for row in await api.every_page("inventory", "/api/v1/items")}
    boms = {}
    for bom in erp.boms:
        boms[bom.parent_sku] = await api.get_or_none(
            "production", f"/api/v1/boms/{quote(bom.parent_sku, safe='')}"
        )
    customers: dict[str, Any] = {}
    sales_orders: dict[str, Any] = {}
    if erp.customers:
        customers = {r["code"]: r for r in await api.every_page("mrp", "/api/v1/customers")}
    if erp.sales_orders:
        sales_orders = _by_erp_ref(await api.every_page("mrp", "/api/v1/sales-orders"))
    vendors: frozenset[str] = frozenset()
    purchase_orders: dict[str, Any] = {}
    if erp.purchase_orders:
        vendors = frozenset(
            row["code"] for row in await api.every_page("purchasing", "/api/v1/vendors")
        )
        purchase_orders = _by_erp_ref(await api.every_page("purchasing", "/api/v1/purchase-orders"))
    stock: dict[tuple[str, str], Decimal] = {}
    if erp.stock:
        for row in await api.every_page("inventory", "/api/v1/stock", {"hide_zero": "true"}):
            key = (str(row["sku"]), str(row["location"]))
            stock[key] = stock.get(key, Decimal(0)) + Decimal(str(row["qty"]))
    return PortalState(
        items=items,
        boms=boms,
        customers=customers,
        sales_orders=sales_orders,
        vendors=vendors,
        purchase_orders=purchase_orders,
        stock=stock,
    )


def _by_erp_ref(orders: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Orders by their external reference (the services keep one order per reference); those
    taken in the portal have none and are no business of the import."""
    return {str(order["external_ref"]): order for order in orders if order.get("external_ref")}
