"""Stock a plant brings into the portal (inventory's `opening_balance` adjustment) is no gain of
the period: its journal is Dr inventory / Cr 3900 Opening balance equity, while every other
adjustment still goes against 5500 Inventory adjustments. The rule on plain values, then the
seeded chart and `posting.post_event` on a migrated SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.accounting import posting, rules, service
from services.accounting.bootstrap import definition
from services.accounting.domain import DEFAULT_POSTING_ACCOUNTS, JournalDraft, PostingRole
from services.accounting.models import Account, PostingAccount, messaging
from services.accounting.rules import PostingAccounts
from shared.db import Database
from shared.events.catalogue import ItemUpserted, StockAdjusted, validate_payload
from shared.events.envelope import Envelope
from shared.migrations import upgrade
from shared.settings import Settings
from shared.uow import UnitOfWork

D = Decimal
DAY = date(2026, 3, 10)
MADE = {"PLA": False, "WHEEL": True}  # PLA filament is bought, a WHEEL is made


def accounts(**changed_roles: str) -> PostingAccounts:
    roles = {str(role): str(code) for role, code in DEFAULT_POSTING_ACCOUNTS.items()}
    return PostingAccounts(roles=roles | changed_roles, made_items=MADE.get)


def adjusted(**changes: Any) -> StockAdjusted:
    fields: dict[str, Any] = {
        "adjustment_id": "ADJ-OPEN-1",
        "sku": "PLA",
        "location": "RAW",
        "qty_delta": "40",
        "value_delta": "118.00",
        "reason_code": "opening_balance",
        "reason": "ERP import",
        "adjusted_at": "2026-03-10T15:00:00Z",
    }
    return StockAdjusted.model_validate(fields | changes)


def lines(draft: JournalDraft | None) -> list[tuple[str, Decimal, Decimal]]:
    assert draft is not None
    return [(line.account_code, line.debit, line.credit) for line in draft.lines]


def test_an_opening_balance_debits_inventory_against_opening_balance_equity() -> None:
    entry = rules.stock_adjusted(adjusted(), accounts(), DAY)
    assert lines(entry) == [("1200", D("118.00"), D(0)), ("3900", D(0), D("118.00"))]
    assert entry is not None
    entry.check_balanced()
    assert entry.total_debit == entry.total_credit == D("118.00")
    assert entry.entry_type == "stock_adjustment"
    assert entry.memo == "Adjustment ADJ-OPEN-1 PLA at RAW 40 (opening_balance): ERP import"


def test_a_made_items_opening_balance_in_finished_goods_credits_the_same_equity() -> None:
    entry = rules.stock_adjusted(
        adjusted(sku="WHEEL", location="FG", value_delta="55.5"), accounts(), DAY
    )
    assert lines(entry) == [("1220", D("55.5"), D(0)), ("3900", D(0), D("55.5"))]


@pytest.mark.parametrize("reason", ["count_correction", "found", "damaged"])
def test_other_adjustments_still_go_against_inventory_adjustments(reason: str) -> None:
    gain = rules.stock_adjusted(adjusted(reason_code=reason), accounts(), DAY)
    assert lines(gain) == [("1200", D("118.00"), D(0)), ("5500", D(0), D("118.00"))]
    loss = rules.stock_adjusted(
        adjusted(reason_code=reason, qty_delta="-1", value_delta="-2.95"), accounts(), DAY
    )
    assert lines(loss) == [("5500", D("2.95"), D(0)), ("1200", D(0), D("2.95"))]


def test_an_opening_balance_at_no_cost_posts_nothing() -> None:
    # customer-supplied material brought in at an explicit 0: nothing of value moved
    assert rules.stock_adjusted(adjusted(value_delta="0"), accounts(), DAY) is None


def test_the_opening_balance_account_is_a_setting_like_every_role() -> None:
    entry = rules.stock_adjusted(adjusted(), accounts(opening_balance_equity="3050"), DAY)
    assert lines(entry) == [("1200", D("118.00"), D(0)), ("3050", D(0), D("118.00"))]


# --- on a database -------------------------------------------------------------------------------


def new_uow(db: Database) -> UnitOfWork:
    return UnitOfWork(db, messaging, "accounting")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'accounting.db'}"
    upgrade(definition(), url)
    database = Database(url)
    with new_uow(database) as uow:
        service.seed_chart_of_accounts(uow, Settings(_env_file=None, var_dir=tmp_path))
        posting.remember_item(
            uow,
            ItemUpserted.model_validate(
                {"sku": "PLA", "name": "Pla", "uom": "kg", "item_type": "raw", "make_or_buy": "buy"}
            ),
            1,
        )
        uow.commit()
    yield database
    database.dispose()


def test_the_chart_is_seeded_with_opening_balance_equity_and_its_role(db: Database) -> None:
    with db.session() as session:
        account = session.get(Account, "3900")
        assert account is not None
        assert (account.name, account.account_type, account.active) == (
            "Opening balance equity",
            "equity",
            True,
        )
        role = session.scalar(
            select(PostingAccount.account_code).where(
                PostingAccount.role == str(PostingRole.OPENING_BALANCE_EQUITY)
            )
        )
        assert role == "3900"


def test_an_opening_balance_event_is_posted_dr_inventory_cr_3900(db: Database) -> None:
    event = adjusted()
    source = Envelope(
        type="StockAdjusted",
        producer="inventory",
        key="PLA",
        payload=validate_payload("StockAdjusted", event.model_dump(mode="json")),
    )
    with new_uow(db) as uow:
        posting.post_event(uow, source)
        uow.commit()
    with new_uow(db) as uow:
        entry = service.get_journal_entry(uow, "JE-2026-00001")
    assert [(ln.account_code, ln.debit, ln.credit) for ln in entry.lines] == [
        ("1200", D("118.00"), D(0)),
        ("3900", D(0), D("118.00")),
    ]
    assert sum(ln.debit for ln in entry.lines) == sum(ln.credit for ln in entry.lines)
