"""Accounting's rules without a database: chart, balance check, receipt posting, trial balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.accounting import domain
from services.accounting.domain import (
    AccountCode,
    AccountType,
    ChartAccount,
    Dimensions,
    DraftLine,
    JournalDraft,
    NormalSide,
    UnbalancedEntry,
)
from shared.events.catalogue import MaterialReceived

D = Decimal


def receipt(**changes: Any) -> MaterialReceived:
    fields: dict[str, Any] = {
        "po_number": "PO-2026-00001",
        "line_no": 2,
        "receipt_id": "RCV-1",
        "sku": "SKU-1",
        "qty": "100",
        "unit_cost": "2.5",
        "value": "250.00",
        "to_status": "approved",
        "vendor_code": "V-ACME",
        "received_at": "2026-03-04T23:30:00-05:00",
    }
    fields.update(changes)
    return MaterialReceived.model_validate(fields)


def draft(*lines: DraftLine) -> JournalDraft:
    return JournalDraft(entry_date=date(2026, 1, 1), entry_type="manual", lines=lines)


# --- chart of accounts --------------------------------------------------------------------------


def test_chart_holds_the_twelve_accounts_of_the_design_with_their_types() -> None:
    chart = {account.code: account for account in domain.CHART_OF_ACCOUNTS}
    expected = {
        "1000": ("Cash", AccountType.ASSET),
        "1100": ("Accounts receivable", AccountType.ASSET),
        "1200": ("Raw materials inventory", AccountType.ASSET),
        "1210": ("Work in progress", AccountType.ASSET),
        "1220": ("Finished goods", AccountType.ASSET),
        "2000": ("Accounts payable", AccountType.LIABILITY),
        "3000": ("Owner's equity", AccountType.EQUITY),
        "3100": ("Retained earnings", AccountType.EQUITY),
        "4000": ("Revenue", AccountType.REVENUE),
        "5000": ("Cost of goods sold", AccountType.EXPENSE),
        "5400": ("Scrap", AccountType.EXPENSE),
        "5500": ("Inventory adjustments", AccountType.EXPENSE),
    }
    assert {code: (a.name, a.account_type) for code, a in chart.items()} == expected


@pytest.mark.parametrize(
    ("account_type", "side"),
    [
        (AccountType.ASSET, NormalSide.DEBIT),
        (AccountType.EXPENSE, NormalSide.DEBIT),
        (AccountType.LIABILITY, NormalSide.CREDIT),
        (AccountType.EQUITY, NormalSide.CREDIT),
        (AccountType.REVENUE, NormalSide.CREDIT),
    ],
)
def test_assets_and_expenses_are_debit_normal_the_rest_credit_normal(
    account_type: AccountType, side: NormalSide
) -> None:
    assert domain.normal_side(account_type) is side


# --- balance check ------------------------------------------------------------------------------


def test_a_balanced_draft_passes_the_check() -> None:
    entry = draft(DraftLine("1200", debit=D("10.5")), DraftLine("2000", credit=D("10.5")))
    entry.check_balanced()
    assert entry.total_debit == entry.total_credit == D("10.5")


def test_unequal_sides_are_refused() -> None:
    entry = draft(DraftLine("1200", debit=D("10")), DraftLine("2000", credit=D("9.99")))
    with pytest.raises(UnbalancedEntry, match="does not balance"):
        entry.check_balanced()


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (DraftLine("1200"), "exactly one"),
        (DraftLine("1200", debit=D(5), credit=D(5)), "exactly one"),
        (DraftLine("1200", debit=D(-5)), "negative"),
        (DraftLine("1200", credit=D(-5)), "negative"),
        (DraftLine("1200", debit=D("0.00001")), "more than 4 decimals"),
    ],
)
def test_a_line_that_moves_nothing_or_goes_negative_is_refused(
    bad_line: DraftLine, message: str
) -> None:
    entry = draft(bad_line, DraftLine("2000", credit=D(5)), DraftLine("2000", debit=D(5)))
    with pytest.raises(UnbalancedEntry, match=message):
        entry.check_balanced()


def test_an_entry_needs_two_lines() -> None:
    with pytest.raises(UnbalancedEntry, match="two lines"):
        draft(DraftLine("1200", debit=D(1))).check_balanced()


# --- numbering ----------------------------------------------------------------------------------


def test_entry_numbers_carry_the_year_and_five_digits() -> None:
    assert domain.format_entry_number(2026, 1) == "JE-2026-00001"
    assert domain.format_entry_number(2026, 12345) == "JE-2026-12345"


@pytest.mark.parametrize(("year", "number"), [(2026, 0), (2026, -1), (0, 1), (10000, 1)])
def test_entry_numbers_refuse_nonsense(year: int, number: int) -> None:
    with pytest.raises(ValueError):
        domain.format_entry_number(year, number)


# --- MaterialReceived posting rule --------------------------------------------------------------


def test_a_receipt_debits_raw_materials_and_credits_payables_for_the_value_it_carries() -> None:
    # unit cost x qty would be 250; the event says 249.9990 and that is what is posted.
    entry = domain.material_received_entry(receipt(value="249.9990"))
    assert entry is not None
    entry.check_balanced()
    assert [(line.account_code, line.debit, line.credit) for line in entry.lines] == [
        (AccountCode.RAW_MATERIALS, D("249.9990"), D(0)),
        (AccountCode.ACCOUNTS_PAYABLE, D(0), D("249.9990")),
    ]
    dims = Dimensions(item_sku="SKU-1", purchase_order="PO-2026-00001")
    assert all(line.dimensions == dims for line in entry.lines)


def test_a_receipt_entry_is_dated_on_the_plants_business_day_of_the_receipt() -> None:
    # 23:30 at UTC-5 on 4 March is 5 March in UTC; the plant's day is the 4th.
    entry = domain.material_received_entry(receipt(receipt_date="2026-03-04"))
    assert entry is not None
    assert entry.entry_date == date(2026, 3, 4)


def test_a_receipt_without_a_business_day_falls_back_to_the_utc_day() -> None:
    entry = domain.material_received_entry(receipt())
    assert entry is not None
    assert entry.entry_date == date(2026, 3, 5)


def test_a_receipt_entry_names_its_purchase_order() -> None:
    entry = domain.material_received_entry(receipt())
    assert entry is not None
    assert entry.entry_type == "material_receipt"
    assert entry.document_type == "purchase_order"
    assert entry.document_ref == "PO-2026-00001"
    assert entry.memo == "Receipt PO-2026-00001 line 2: 100 SKU-1 @ 2.5000"


def test_the_receipt_memo_names_the_unit_when_it_is_known() -> None:
    memo = domain.receipt_memo(receipt(qty="12.50", unit_cost="0.123"), uom="kg")
    assert memo == "Receipt PO-2026-00001 line 2: 12.5 kg SKU-1 @ 0.1230"


def test_a_receipt_of_no_value_posts_nothing() -> None:
    assert domain.material_received_entry(receipt(unit_cost="0", value="0")) is None


def test_dimensions_list_only_what_is_set() -> None:
    assert Dimensions(item_sku="SKU-1", purchase_order="PO-1").as_dict() == {
        "item_sku": "SKU-1",
        "purchase_order": "PO-1",
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [(D("100"), "100"), (D("100.000"), "100"), (D("2.50"), "2.5"), (D("1E+2"), "100")],
)
def test_quantities_read_as_people_write_them(value: Decimal, text: str) -> None:
    assert domain.plain_number(value) == text


# --- trial balance ------------------------------------------------------------------------------


def test_trial_balance_shows_each_balance_on_its_normal_side_and_totals_that_agree() -> None:
    activity = {
        "1200": (D("300"), D("40")),
        "2000": (D("40"), D("300")),
    }
    result = domain.trial_balance(domain.CHART_OF_ACCOUNTS, activity)
    rows = {row.code: row for row in result.rows}
    assert rows["1200"].balance == D("260")
    assert rows["1200"].normal_side is NormalSide.DEBIT
    assert rows["2000"].balance == D("260")
    assert rows["2000"].normal_side is NormalSide.CREDIT
    assert rows["1000"].total_debit == rows["1000"].balance == D(0)
    assert [row.code for row in result.rows] == sorted(rows)
    assert result.total_debit == result.total_credit == D("340")
    assert result.balanced


def test_trial_balance_reports_an_imbalance_instead_of_hiding_it() -> None:
    result = domain.trial_balance(domain.CHART_OF_ACCOUNTS, {"1200": (D("10"), D(0))})
    assert not result.balanced


def test_an_account_on_its_other_side_shows_a_negative_balance() -> None:
    assert domain.account_balance(AccountType.LIABILITY, D(50), D(20)) == D(-30)


def test_activity_on_an_account_outside_the_chart_is_an_error() -> None:
    accounts = [ChartAccount("1200", "Raw materials inventory", AccountType.ASSET, "inventory")]
    with pytest.raises(ValueError, match="9999"):
        domain.trial_balance(accounts, {"9999": (D(1), D(0))})
