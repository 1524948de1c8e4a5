"""An item's stock figures are read from one snapshot on PostgreSQL.

GET /items/{sku}/stock reads the item's balances and its open reservations with two statements.
Under READ COMMITTED each statement sees what was committed when it began, so an issue to WIP
(ProductionStarted) committing between them produced figures no committed state ever had: RAW
still full but the issued reservations already closed, e.g. available 2 and allocated + WIP 3
for 5 kg reserved by five orders (test_production_flow's twenty concurrent starts, on a loaded
machine). Here two issues are committed at the moment the read is about to sum the open
reservations: between the two statements before, before the one statement now.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from services.inventory import service
from services.inventory.reservations import service as reservations
from services.inventory.schemas import ItemType, MakeOrBuy
from shared.events.catalogue import ComponentRequirement, ProductionStarted
from shared.runtime import ServiceRuntime
from shared.web.problems import NotFound
from tests.support.servers import PostgresDatabases
from tests.support.stock import add_item, deliver, envelope, inventory_runtime, receive

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
D = Decimal
ORDERS = [f"PRD-2026-{n:05d}" for n in range(1, 6)]


@pytest.fixture
def inventory(postgres: PostgresDatabases, tmp_path: Path) -> Iterator[ServiceRuntime]:
    runtime = inventory_runtime(tmp_path, postgres.create("inventory"))
    add_item(runtime, "RESIN")
    add_item(runtime, "PART", item_type=ItemType.FINISHED, make_or_buy=MakeOrBuy.MAKE)
    receive(runtime, "RESIN", "5", "50.00", lot="R1")
    for code in ORDERS:  # five orders of one part, 1 kg each: all 5 kg reserved
        with runtime.uow() as uow:
            reservations.reserve(uow, "production_order", code, [reservations.Line("RESIN", D(1))])
            uow.commit()
    yield runtime
    runtime.db.dispose()


def started(code: str) -> ProductionStarted:
    return ProductionStarted(
        order_code=code,
        sku="PART",
        qty=D(1),
        components=(ComponentRequirement(sku="RESIN", qty=D(1)),),
        started_at=datetime(2026, 3, 2, 7, tzinfo=UTC),
    )


def figures(runtime: ServiceRuntime) -> dict[str, Decimal]:
    with runtime.uow() as uow:
        out = service.item_stock(uow, "RESIN")
    return {
        "on_hand": out.on_hand,
        "available": out.available,
        "allocated": out.allocated,
        "wip": out.wip,
    }


def test_an_issue_committed_during_the_read_is_seen_wholly_or_not_at_all(
    inventory: ServiceRuntime,
) -> None:
    assert figures(inventory) == {"on_hand": 5, "available": 0, "allocated": 5, "wip": 0}
    armed = True

    def issue_two_meanwhile(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal armed
        if armed and "FROM reservations" in statement and "sum(" in statement:
            armed = False
            assert deliver(inventory, *(envelope(started(c), c) for c in ORDERS[:2])) == []

    event.listen(inventory.db.engine, "before_cursor_execute", issue_two_meanwhile)
    try:
        during = figures(inventory)
    finally:
        event.remove(inventory.db.engine, "before_cursor_execute", issue_two_meanwhile)

    assert not armed, "the read no longer sums the open reservations: move the hook"
    # Before the issues (5 on hand, 5 allocated) or after them (3 on hand, 3 allocated, 2 in
    # WIP); never a mix of the two.
    assert during["available"] == 0, during
    assert during["allocated"] + during["wip"] == 5, during
    assert during["on_hand"] + during["wip"] == 5, during
    assert figures(inventory) == {"on_hand": 3, "available": 0, "allocated": 3, "wip": 2}


def test_an_item_without_balances_reads_zero_and_an_unknown_one_is_404(
    inventory: ServiceRuntime,
) -> None:
    with inventory.uow() as uow:
        part = service.item_stock(uow, "PART")
        with pytest.raises(NotFound):
            service.item_stock(uow, "NO-SUCH")
    assert (part.sku, part.on_hand, part.available, part.allocated, part.wip) == (
        "PART",
        0,
        0,
        0,
        0,
    )
    assert part.balances == []
