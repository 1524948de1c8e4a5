"""Who consumes what: the one map of the event types each service's queue is bound to (DESIGN §4).

The broker's topology comes from this map, not from whichever consumers happen to have started:
every service process declares all of it when its bus starts (`RabbitMQBus(topology=CONSUMERS)`),
so an event published before its consumer first ran (an ItemUpserted before purchasing was ever
started) waits in the consumer's queue instead of being routed nowhere and marked published.

A service's handlers (`services/<name>/handlers.py` HANDLERS) must handle exactly the types listed
here; `ServiceRuntime` refuses to start a service whose handlers differ, and a unit test compares
the two. Adding a handler therefore means adding its type here in the same change.
"""

from __future__ import annotations

from collections.abc import Iterable

CONSUMERS: dict[str, tuple[str, ...]] = {
    "inventory": (
        "MaterialReceived",
        "ProductionStarted",
        "PrintCompleted",
        "QCPassed",
        "ProductionOrderChanged",
        "SalesOrderChanged",
    ),
    "purchasing": ("ItemUpserted",),
    "production": ("ItemUpserted",),
    # Sales-order status (production, QC, shipping) and the planner's read models.
    "mrp": (
        "ItemUpserted",
        "ProductionOrderChanged",
        "QCPassed",
        "OrderShipped",
        "StockChanged",
        "BomReleased",
        "PurchaseOrderChanged",
        "LineUpserted",
        "CapacityChanged",
    ),
    # Production's orders, runs and QC for the tablet and OEE; item families for capacity.
    "downtime": ("ProductionOrderChanged", "PrintCompleted", "QCPassed", "ItemUpserted"),
    # Every event that moves value (docs/accounting.md), and the items (made or bought).
    "accounting": (
        "ItemUpserted",
        "MaterialReceived",
        "MaterialIssued",
        "MaterialReturned",
        "FinishedGoodsReceived",
        "FinishedGoodsInspected",
        "StockAdjusted",
        "OrderShipped",
        "PaymentReceived",
        "VendorPaymentMade",
    ),
    # The audit log of every service's user changes. (Live pages hear events as they pass:
    # `Bus.listen`, services/gateway/handlers.py LISTENERS; no queue of the gateway's.)
    "gateway": ("AuditRecorded",),
}


class RoutingMismatch(RuntimeError):
    """A service's handlers and its entry in CONSUMERS disagree."""


def consumed_by(service: str) -> tuple[str, ...]:
    """The event types `service` consumes (none for a service the map does not name)."""
    return CONSUMERS.get(service, ())


def check_handlers(service: str, handled: Iterable[str]) -> None:
    """Raise `RoutingMismatch` unless `handled` is exactly CONSUMERS[service]."""
    expected = set(consumed_by(service))
    actual = set(handled)
    if actual == expected:
        return
    problems = []
    if missing := sorted(expected - actual):
        problems.append(f"no handler for {', '.join(missing)}")
    if extra := sorted(actual - expected):
        problems.append(f"handlers for {', '.join(extra)} that are not routed to it")
    raise RoutingMismatch(
        f"{service}: {'; '.join(problems)}. Its queue is bound to "
        f"{sorted(expected) or 'nothing'} by CONSUMERS in shared/events/routing.py; keep that map "
        f"and services/{service}/handlers.py HANDLERS in step."
    )
