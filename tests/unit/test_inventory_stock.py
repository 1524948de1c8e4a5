"""The stock-movement primitive (services/inventory/stock.py): one lock, exact values, one
ledger row per leg, lots picked oldest first, and the figures StockChanged carries."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from services.inventory import stock
from services.inventory.models import Lot, StockTransaction
from services.inventory.reservations.service import Line, reserve
from services.inventory.stock import InsufficientStock, Move, Place
from shared.events.catalogue import StockChanged
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from tests.support.stock import (
    add_item,
    assert_ledger_matches_balances,
    balances,
    inventory_runtime,
    receive,
)

D = Decimal
RAW = Place("RAW")
WIP = Place("WIP")


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[ServiceRuntime]:
    runtime = inventory_runtime(tmp_path)
    add_item(runtime, "RESIN")
    yield runtime
    runtime.db.dispose()


def transfer(runtime: ServiceRuntime, qty: str, source: Place, destination: Place) -> stock.Moved:
    with runtime.uow() as uow:
        book = stock.lock_items(uow, skus=["RESIN"])
        item = book.item("RESIN")
        assert item is not None
        moved = stock.move(
            book,
            Move(
                item.id, D(qty), "transfer", "test", "T-1", source=source, destination=destination
            ),
        )
        stock.save(uow, book)
        uow.commit()
    return moved


def test_three_units_worth_ten_leave_one_at_a_time_and_the_last_takes_the_remainder(
    inventory: ServiceRuntime,
) -> None:
    receive(inventory, "RESIN", "3", "10.00")

    values = [transfer(inventory, "1", RAW, WIP).value for _ in range(3)]

    # 1 of 3 worth 10.00, then 1 of 2 worth 6.6667 (3.33335, half up), then what is left.
    assert values == [D("3.3333"), D("3.3334"), D("3.3333")]
    assert balances(inventory, "RESIN") == {("WIP", "", "approved"): (D(3), D("10.0000"))}
    assert_ledger_matches_balances(inventory)


def test_a_share_is_worked_out_from_the_balance_value_not_a_rounded_unit_cost(
    inventory: ServiceRuntime,
) -> None:
    receive(inventory, "RESIN", "3", "20.00")

    assert transfer(inventory, "2", RAW, WIP).value == D("13.3333")
    assert transfer(inventory, "1", RAW, WIP).value == D("6.6667")


def test_each_leg_is_one_signed_ledger_row_with_its_reason_code_and_notes(
    inventory: ServiceRuntime,
) -> None:
    receive(inventory, "RESIN", "10", "25.00")
    with inventory.uow() as uow:
        book = stock.lock_items(uow, skus=["RESIN"])
        item = book.item("RESIN")
        assert item is not None
        stock.move(
            book,
            Move(
                item.id,
                D(4),
                "scrap",
                "count",
                "CC-7",
                source=RAW,
                destination=Place("SCRAP"),
                reason_code="HANDLING",
                notes="dropped a drum",
            ),
        )
        stock.save(uow, book, source_event_id="00000000-0000-0000-0000-000000000007")
        uow.commit()
    with inventory.uow() as uow:
        rows = uow.session.scalars(
            select(StockTransaction).where(StockTransaction.txn_type == "scrap")
        ).all()
        legs = [(r.location_code, r.qty, r.value, r.reason_code, r.notes) for r in rows]
        sources = {r.source_event_id for r in rows}
    assert legs == [
        ("RAW", D(-4), D("-10.0000"), "HANDLING", "dropped a drum"),
        ("SCRAP", D(4), D("10.0000"), "HANDLING", "dropped a drum"),
    ]
    assert sources == {"00000000-0000-0000-0000-000000000007"}
    assert_ledger_matches_balances(inventory)


def test_taking_more_than_a_balance_holds_is_refused_and_nothing_is_written(
    inventory: ServiceRuntime,
) -> None:
    receive(inventory, "RESIN", "2", "5.00")

    with pytest.raises(InsufficientStock) as refused:
        transfer(inventory, "3", RAW, WIP)

    assert refused.value.code == "insufficient_stock"
    assert balances(inventory, "RESIN") == {("RAW", "", "approved"): (D(2), D("5.0000"))}


def test_lots_are_picked_oldest_first_raw_before_fg_and_a_named_lot_before_all(
    inventory: ServiceRuntime,
) -> None:
    receive(inventory, "RESIN", "5", "10", lot="OLD")
    receive(inventory, "RESIN", "5", "15", lot="NEW")
    with inventory.uow() as uow:
        book = stock.lock_items(uow, skus=["RESIN"])
        item = book.item("RESIN")
        assert item is not None
        stock.move(
            book,
            Move(
                item.id,
                D(2),
                "t",
                "test",
                "T",
                source=Place("RAW", "NEW"),
                destination=Place("FG", "NEW"),
            ),
        )
        places = (("RAW", "approved"), ("FG", "approved"))
        assert stock.pick_fifo(book, item.id, D(7), places) == [
            (Place("RAW", "OLD"), D(5)),
            (Place("RAW", "NEW"), D(2)),
        ]
        assert stock.pick_fifo(book, item.id, D(20), places) == [
            (Place("RAW", "OLD"), D(5)),
            (Place("RAW", "NEW"), D(3)),
            (Place("FG", "NEW"), D(2)),
        ]
        assert stock.pick_fifo(book, item.id, D(4), places, lot="NEW")[0] == (
            Place("RAW", "NEW"),
            D(3),
        )


def test_stock_changed_carries_absolute_figures_with_open_reservations(
    inventory: ServiceRuntime,
) -> None:
    receive(inventory, "RESIN", "10", "25.00")
    receive(inventory, "RESIN", "4", "10.00", to_status="pending_qc")
    with inventory.uow() as uow:
        reserve(uow, "production_order", "PRD-2026-00001", [Line("RESIN", D(3))])
        uow.commit()
    with inventory.uow() as uow:
        book = stock.lock_items(uow, skus=["RESIN"])
        item = book.item("RESIN")
        assert item is not None
        stock.move(book, Move(item.id, D(2), "t", "test", "T", source=RAW, destination=WIP))
        levels = stock.save(uow, book)[item.id]
        event = StockChanged.model_validate(uow.pending_events[-1].payload)
        uow.commit()
    assert (event.on_hand, event.pending_qc, event.wip) == (D(12), D(4), D(2))
    assert (event.allocated, event.open_reservations, event.available) == (D(3), D(3), D(5))
    assert levels.available == D(5)
    assert event.average_cost == D("2.5")


def test_stock_arriving_from_outside_into_a_new_lot_creates_the_lot_with_its_origin(
    inventory: ServiceRuntime,
) -> None:
    with inventory.uow() as uow:
        book = stock.lock_items(uow, skus=["RESIN", "NOPE"])
        assert book.item("NOPE") is None
        item = book.item("RESIN")
        assert item is not None
        stock.record_lot(book, item.id, "PRD-1", stock.LotOrigin(order_code="PRD-1"))
        stock.move(
            book,
            Move(
                item.id,
                D(5),
                "production_receipt",
                "production_order",
                "PRD-1",
                destination=Place("QC", "PRD-1", "pending_qc"),
                value=D("12.5"),
            ),
        )
        stock.save(uow, book)
        uow.commit()
    with inventory.uow() as uow:
        lot = uow.session.scalars(select(Lot)).one()
        assert (lot.code, lot.order_code) == ("PRD-1", "PRD-1")
    assert balances(inventory, "RESIN") == {("QC", "PRD-1", "pending_qc"): (D(5), D("12.5"))}


def test_a_saved_book_refuses_more_moves(inventory: ServiceRuntime) -> None:
    receive(inventory, "RESIN", "2", "5.00")
    with inventory.uow() as uow:
        book = stock.lock_items(uow, skus=["RESIN"])
        stock.save(uow, book)
        item = book.item("RESIN")
        assert item is not None
        with pytest.raises(RuntimeError):
            stock.move(book, Move(item.id, D(1), "t", "test", "T", source=RAW, destination=WIP))


def test_a_receipt_while_material_is_reserved_publishes_available_net_of_it(
    inventory: ServiceRuntime,
) -> None:
    receive(inventory, "RESIN", "10", "25.00")
    with inventory.uow() as uow:
        reserve(uow, "production_order", "PRD-2026-00001", [Line("RESIN", D(7))])
        uow.commit()

    receive(inventory, "RESIN", "5", "12.50")

    with inventory.uow() as uow:
        outbox = uow.tables.outbox
        last = uow.session.execute(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == "StockChanged")
            .order_by(outbox.c.id.desc())
            .limit(1)
        ).scalar_one()
    event = StockChanged.model_validate(Envelope.model_validate_json(last).payload)
    assert (event.on_hand, event.allocated, event.available) == (D(15), D(7), D(8))


def test_whether_a_made_item_needs_qc_is_kept_and_published_with_the_item(
    inventory: ServiceRuntime,
) -> None:
    from services.inventory import service
    from services.inventory.schemas import ItemUpdate
    from shared.events.catalogue import ItemUpserted

    add_item(inventory, "BRACKET", requires_qc=False)
    with inventory.uow() as uow:
        assert service.get_item(uow, "BRACKET").requires_qc is False
        service.update_item(uow, "BRACKET", ItemUpdate(requires_qc=True))
        upserted = ItemUpserted.model_validate(uow.pending_events[0].payload)
        uow.commit()

    assert upserted.requires_qc is True
    with inventory.uow() as uow:
        assert service.get_item(uow, "RESIN").requires_qc is True  # the default
