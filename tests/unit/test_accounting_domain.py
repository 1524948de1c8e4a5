"""Accounting's rules without a database: chart, balance check, numbering, periods, reversals,
trial balance. The posting rule of each event is tested in test_accounting_rules.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.accounting import domain
from services.accounting.domain import (
    AccountType,
    Dimensions,
    DraftLine,
    JournalDraft,
    NormalSide,
    UnbalancedEntry,
)

D = Decimal


def draft(*lines: DraftLine) -> JournalDraft:
    return JournalDraft(entry_date=date(2026, 1, 1), entry_type="manual", lines=lines)


# --- chart of accounts --------------------------------------------------------------------------


def test_chart_holds_the_design_accounts_and_opening_balance_equity_with_their_types() -> None:
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
        "3900": ("Opening balance equity", AccountType.EQUITY),
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


# --- dimensions and quantities ------------------------------------------------------------------


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


# --- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "period"),
    [(date(2026, 3, 1), "2026-03"), (date(2026, 11, 30), "2026-11"), (date(987, 1, 5), "0987-01")],
)
def test_a_day_belongs_to_the_period_of_its_month(day: date, period: str) -> None:
    assert domain.period_of(day) == period


@pytest.mark.parametrize(
    ("day", "next_first"),
    [
        (date(2026, 3, 1), date(2026, 4, 1)),
        (date(2026, 3, 31), date(2026, 4, 1)),
        (date(2026, 2, 28), date(2026, 3, 1)),
        (date(2026, 12, 31), date(2027, 1, 1)),
    ],
)
def test_the_next_period_starts_on_the_first_of_the_next_month(day: date, next_first: date) -> None:
    assert domain.first_day_of_next_period(day) == next_first


def test_a_period_written_yyyy_mm_parses_to_its_first_day() -> None:
    assert domain.parse_period("2026-03") == date(2026, 3, 1)
    assert domain.parse_period("2026-12") == date(2026, 12, 1)


@pytest.mark.parametrize(
    "text",
    ["", "2026", "2026-3", "26-03", "2026/03", "2026-ab", "2026-03-01", "2026-13", "2026-00"],
)
def test_anything_else_is_not_a_period(text: str) -> None:
    with pytest.raises(ValueError):
        domain.parse_period(text)


def test_an_open_day_posts_on_itself() -> None:
    assert domain.open_posting_date(date(2026, 3, 17), []) == date(2026, 3, 17)
    # a closed month before or after the day's own does not move it
    assert domain.open_posting_date(date(2026, 3, 17), ["2026-02", "2026-04"]) == date(2026, 3, 17)


def test_a_day_in_a_closed_period_moves_to_the_first_day_of_the_next_one() -> None:
    assert domain.open_posting_date(date(2026, 3, 17), ["2026-03"]) == date(2026, 4, 1)


def test_two_consecutive_closed_periods_are_both_skipped() -> None:
    closed = ("2026-03", "2026-04")
    assert domain.open_posting_date(date(2026, 3, 31), closed) == date(2026, 5, 1)


def test_a_closed_december_moves_the_day_into_the_next_year() -> None:
    closed = iter(["2026-12", "2027-01"])  # any iterable, read once
    assert domain.open_posting_date(date(2026, 12, 31), closed) == date(2027, 2, 1)


def test_a_closed_period_after_an_open_gap_is_not_skipped_to() -> None:
    # March closed, April open, May closed: a March day lands on 1 April, not after May.
    closed = ["2026-03", "2026-05"]
    assert domain.open_posting_date(date(2026, 3, 9), closed) == date(2026, 4, 1)


# --- reversals ----------------------------------------------------------------------------------


def shipment_draft() -> JournalDraft:
    wheel = Dimensions(item_sku="WHEEL", location="FG", sales_order="SO-2026-00042")
    billed = Dimensions(item_sku="WHEEL", sales_order="SO-2026-00042")
    return JournalDraft(
        entry_date=date(2026, 3, 10),
        entry_type="shipment",
        document_type="sales_order",
        document_ref="SO-2026-00042",
        memo="Shipment SHP-9 of SO-2026-00042 to C-ACME",
        lines=(
            DraftLine("5000", debit=D("5.0000"), dimensions=wheel, memo="line 1: 4 WHEEL"),
            DraftLine("1220", credit=D("5.0000"), dimensions=wheel, memo="line 1: 4 WHEEL"),
            DraftLine("1100", debit=D("12.3400"), dimensions=billed, memo="line 1: 4 WHEEL"),
            DraftLine("4000", credit=D("12.3400"), dimensions=billed, memo="line 1: 4 WHEEL"),
        ),
    )


def test_a_reversal_mirrors_every_line_keeping_its_dimensions_and_document() -> None:
    original = shipment_draft()
    reversal = domain.reversal_of(original, "JE-2026-00017", date(2026, 4, 2))
    reversal.check_balanced()
    assert reversal.entry_date == date(2026, 4, 2)
    assert reversal.entry_type == "reversal"
    assert (reversal.document_type, reversal.document_ref) == ("sales_order", "SO-2026-00042")
    assert reversal.memo == "Reversal of JE-2026-00017"
    assert [(ln.account_code, ln.debit, ln.credit) for ln in reversal.lines] == [
        ("5000", D(0), D("5.0000")),
        ("1220", D("5.0000"), D(0)),
        ("1100", D(0), D("12.3400")),
        ("4000", D("12.3400"), D(0)),
    ]
    assert [(ln.dimensions, ln.memo) for ln in reversal.lines] == [
        (ln.dimensions, ln.memo) for ln in original.lines
    ]
    assert reversal.total_debit == reversal.total_credit == D("17.3400")


def test_a_reversal_takes_the_memo_it_is_given() -> None:
    reversal = domain.reversal_of(
        shipment_draft(), "JE-2026-00017", date(2026, 3, 11), memo="shipped to the wrong customer"
    )
    assert reversal.memo == "shipped to the wrong customer"


def test_reversing_a_reversal_gives_back_the_original_lines() -> None:
    original = shipment_draft()
    twice = domain.reversal_of(
        domain.reversal_of(original, "JE-2026-00017", date(2026, 4, 2)),
        "JE-2026-00018",
        date(2026, 4, 3),
    )
    assert twice.lines == original.lines
