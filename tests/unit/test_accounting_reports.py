"""The report arithmetic without a database, on small books worked out by hand: trial balance,
running balances, profit and loss, balance sheet, COGS by item, the reconciliation of the
inventory accounts (and the documents and items that explain a difference), the ledger check;
and inventory's side of the reconciliation (classes, documents, valuation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.accounting.domain import AccountType, ChartAccount, NormalSide, PostingRole
from services.accounting.reports import domain
from services.accounting.reports.domain import (
    BalanceSheetLine,
    InventoryAccount,
    InventoryClass,
    ItemCosts,
    PnlSection,
)
from services.accounting.reports.service import Chart
from services.inventory.valuation import domain as inventory
from services.inventory.valuation.domain import Document, Movement, StockValue

D = Decimal
ROLES = domain.role_accounts({})

CASH = ChartAccount("1000", "Cash", AccountType.ASSET, "cash")
RECEIVABLE = ChartAccount("1100", "Accounts receivable", AccountType.ASSET, "receivable")
RAW = ChartAccount("1200", "Raw materials inventory", AccountType.ASSET, "inventory")
FINISHED = ChartAccount("1220", "Finished goods", AccountType.ASSET, "inventory")
PAYABLE = ChartAccount("2000", "Accounts payable", AccountType.LIABILITY, "payable")
CAPITAL = ChartAccount("3000", "Owner's equity", AccountType.EQUITY, "capital")
REVENUE = ChartAccount("4000", "Revenue", AccountType.REVENUE, "sales")
COGS = ChartAccount("5000", "Cost of goods sold", AccountType.EXPENSE, "cost_of_sales")
SCRAP = ChartAccount("5400", "Scrap", AccountType.EXPENSE, "production_loss")
ADJUSTMENTS = ChartAccount("5500", "Inventory adjustments", AccountType.EXPENSE, "adjustment")
RENT = ChartAccount("6100", "Rent", AccountType.EXPENSE, "")


# --- trial balance ------------------------------------------------------------------------------


def test_trial_balance_puts_each_balance_on_its_normal_side_and_totals_both_sides() -> None:
    activity = {
        "1000": (D("150.00"), D("40.00")),
        "2000": (D("10.00"), D("60.00")),
        "4000": (D("0"), D("100.00")),
        "5000": (D("40.00"), D("0")),
    }
    result = domain.trial_balance([REVENUE, CASH, COGS, PAYABLE, RAW], activity)

    assert [
        (r.code, r.normal_side, r.total_debit, r.total_credit, r.balance) for r in result.rows
    ] == [
        ("1000", NormalSide.DEBIT, D("150.00"), D("40.00"), D("110.00")),
        ("1200", NormalSide.DEBIT, D(0), D(0), D(0)),
        ("2000", NormalSide.CREDIT, D("10.00"), D("60.00"), D("50.00")),
        ("4000", NormalSide.CREDIT, D(0), D("100.00"), D("100.00")),
        ("5000", NormalSide.DEBIT, D("40.00"), D(0), D("40.00")),
    ]
    assert (result.total_debit, result.total_credit) == (D("200.00"), D("200.00"))
    assert result.balanced


def test_trial_balance_that_does_not_balance_says_so() -> None:
    result = domain.trial_balance(
        [CASH, PAYABLE], {"1000": (D("10.0001"), D(0)), "2000": (D(0), D(10))}
    )
    assert not result.balanced
    assert result.total_debit - result.total_credit == D("0.0001")


def test_activity_on_an_account_missing_from_the_chart_is_an_error_not_a_dropped_line() -> None:
    with pytest.raises(ValueError, match="9999"):
        domain.trial_balance([CASH], {"1000": (D(1), D(0)), "9999": (D(0), D(1))})


def test_chart_shows_active_accounts_and_inactive_ones_only_with_activity() -> None:
    old = ChartAccount("1010", "Old bank", AccountType.ASSET, "cash")
    closed = ChartAccount("1020", "Closed bank", AccountType.ASSET, "cash")
    chart = Chart({"1000": CASH, "1010": old, "1020": closed}, frozenset({"1000"}))

    shown = chart.shown({"1010": (D(5), D(0)), "1020": (D(0), D(0))})

    assert [account.code for account in shown] == ["1000", "1010"]


# --- general ledger -----------------------------------------------------------------------------


def test_running_balance_of_a_liability_grows_with_credits_from_the_opening_balance() -> None:
    movements = [(D(0), D("50.00")), (D("30.00"), D(0)), (D(0), D("5.5"))]

    assert domain.running_balances(AccountType.LIABILITY, D("100.00"), movements) == [
        D("150.00"),
        D("120.00"),
        D("125.50"),
    ]
    assert domain.running_balances(AccountType.ASSET, D("100.00"), movements) == [
        D("50.00"),
        D("80.00"),
        D("74.50"),
    ]


# --- profit and loss ----------------------------------------------------------------------------


def test_profit_and_loss_separates_cogs_scrap_and_other_expenses() -> None:
    activity = {
        "1000": (D("480.00"), D(0)),  # a balance-sheet account: not on the P&L
        "4000": (D(0), D("480.00")),
        "5000": (D("220.00"), D(0)),
        "5400": (D("33.00"), D(0)),
        "5500": (D("10.00"), D("4.00")),
        "6100": (D("100.00"), D(0)),
    }
    pnl = domain.profit_and_loss([CASH, REVENUE, COGS, SCRAP, ADJUSTMENTS, RENT], activity, ROLES)

    assert [(s.key, [(r.code, r.amount) for r in s.rows]) for s in pnl.sections] == [
        (PnlSection.REVENUE, [("4000", D("480.00"))]),
        (PnlSection.COST_OF_GOODS_SOLD, [("5000", D("220.00"))]),
        (PnlSection.SCRAP, [("5400", D("33.00"))]),
        (PnlSection.OTHER_EXPENSES, [("5500", D("6.00")), ("6100", D("100.00"))]),
    ]
    assert pnl.revenue == D("480.00")
    assert pnl.cost_of_goods_sold == D("220.00")
    assert pnl.gross_profit == D("260.00")
    assert pnl.scrap == D("33.00")
    assert pnl.other_expenses == D("106.00")
    assert pnl.net_income == D("121.00")


def test_the_cogs_and_scrap_roles_decide_the_section_whatever_the_subtype() -> None:
    freight = ChartAccount("5100", "Freight in", AccountType.EXPENSE, "")
    roles = domain.role_accounts({"cost_of_goods_sold": "5100"})

    assert domain.pnl_section(freight, roles) is PnlSection.COST_OF_GOODS_SOLD
    assert domain.pnl_section(freight, ROLES) is PnlSection.OTHER_EXPENSES
    assert domain.pnl_section(COGS, roles) is PnlSection.COST_OF_GOODS_SOLD  # by its subtype
    assert domain.pnl_section(CASH, roles) is None


# --- balance sheet ------------------------------------------------------------------------------

NAMES = {
    BalanceSheetLine.CURRENT_YEAR_EARNINGS: "Current-year earnings",
    BalanceSheetLine.EARLIER_EARNINGS: "Earlier earnings",
}


def test_balance_sheet_shows_this_years_and_unclosed_earlier_earnings_in_equity() -> None:
    # 2025: the owner put in 1000 cash; sold 200 on account (no cost).
    # 2026: bought 300 of goods on account, sold 480 of them for 220 of cost.
    before_year = {
        "1000": (D("1000.00"), D(0)),
        "1100": (D("200.00"), D(0)),
        "3000": (D(0), D("1000.00")),
        "4000": (D(0), D("200.00")),
    }
    to_date = {
        "1000": (D("1000.00"), D(0)),
        "1100": (D("680.00"), D(0)),
        "1220": (D("300.00"), D("220.00")),
        "2000": (D(0), D("300.00")),
        "3000": (D(0), D("1000.00")),
        "4000": (D(0), D("680.00")),
        "5000": (D("220.00"), D(0)),
    }
    sheet = domain.balance_sheet(
        [CASH, RECEIVABLE, FINISHED, PAYABLE, CAPITAL, REVENUE, COGS], to_date, before_year, NAMES
    )

    assert [(r.code, r.amount) for r in sheet.assets.rows] == [
        ("1000", D("1000.00")),
        ("1100", D("680.00")),
        ("1220", D("80.00")),
    ]
    assert [(r.code, r.amount) for r in sheet.liabilities.rows] == [("2000", D("300.00"))]
    assert [(r.code, r.name, r.amount) for r in sheet.equity.rows] == [
        ("3000", "Owner's equity", D("1000.00")),
        (None, "Earlier earnings", D("200.00")),
        (None, "Current-year earnings", D("260.00")),
    ]
    assert sheet.assets.total == D("1760.00")
    assert sheet.total_liabilities_and_equity == D("1760.00")
    assert sheet.current_year_earnings == D("260.00")
    assert sheet.balanced


def test_balance_sheet_without_earlier_results_has_only_the_current_year_line() -> None:
    to_date = {"1000": (D("50.00"), D(0)), "4000": (D(0), D("50.00"))}
    sheet = domain.balance_sheet([CASH, REVENUE, CAPITAL], to_date, {}, NAMES)

    assert [(r.code, r.amount) for r in sheet.equity.rows] == [
        ("3000", D(0)),
        (None, D("50.00")),
    ]
    assert sheet.balanced


# --- COGS by item -------------------------------------------------------------------------------


def test_costs_by_item_splits_cogs_scrap_and_adjustments_with_lines_without_item_last() -> None:
    accounts = domain.cost_accounts(ROLES)
    activity = [
        ("WIDGET", "5000", D("220.00"), D(0)),
        ("WIDGET", "5400", D("33.00"), D(0)),
        ("PLA", "5500", D(0), D("4.00")),
        ("PLA", "5500", D("10.00"), D(0)),
        (None, "5400", D("5.00"), D(0)),
        ("BOX", "4000", D(0), D("99.00")),  # not a cost account
    ]

    rows, totals = domain.costs_by_item(activity, accounts)

    assert rows == [
        ItemCosts("PLA", D(0), D(0), D("6.00")),
        ItemCosts("WIDGET", D("220.00"), D("33.00"), D(0)),
        ItemCosts(None, D(0), D("5.00"), D(0)),
    ]
    assert [row.total for row in rows] == [D("6.00"), D("253.00"), D("5.00")]
    assert totals == ItemCosts(None, D("220.00"), D("38.00"), D("6.00"))
    assert totals.total == D("264.00")


# --- reconciliation -----------------------------------------------------------------------------


def test_inventory_accounts_are_the_three_roles_and_share_an_account_when_configured_so() -> None:
    assert domain.inventory_accounts(ROLES) == [
        InventoryAccount("1200", (InventoryClass.RAW,)),
        InventoryAccount("1210", (InventoryClass.WIP,)),
        InventoryAccount("1220", (InventoryClass.FINISHED,)),
    ]
    shared = domain.role_accounts({"finished_goods": "1200"})
    assert domain.inventory_accounts(shared) == [
        InventoryAccount("1200", (InventoryClass.RAW, InventoryClass.FINISHED)),
        InventoryAccount("1210", (InventoryClass.WIP,)),
    ]


def test_a_difference_is_flagged_only_above_one_cent() -> None:
    accounts = domain.inventory_accounts(ROLES)
    gl = {"1200": D("150.00"), "1210": D(0), "1220": D("22.00")}
    values = {InventoryClass.RAW: D("150.00"), InventoryClass.WIP: D("0.0050")}

    exact = domain.reconcile_accounts(accounts, gl, {**values, InventoryClass.FINISHED: D("21.99")})
    beyond = domain.reconcile_accounts(
        accounts, gl, {**values, InventoryClass.FINISHED: D("21.98")}
    )

    assert [(r.code, r.difference, r.flagged) for r in exact] == [
        ("1200", D(0), False),
        ("1210", D("-0.0050"), False),
        ("1220", D("0.01"), False),
    ]
    assert [(r.code, r.difference, r.flagged) for r in beyond][2] == ("1220", D("0.02"), True)


def test_an_account_holding_two_classes_is_compared_with_their_sum() -> None:
    accounts = domain.inventory_accounts(domain.role_accounts({"finished_goods": "1200"}))
    values = {
        InventoryClass.RAW: D("100"),
        InventoryClass.FINISHED: D("22"),
        InventoryClass.WIP: D(5),
    }

    rows = domain.reconcile_accounts(accounts, {"1200": D("122"), "1210": D(5)}, values)

    assert [(r.code, r.inventory_value, r.flagged) for r in rows] == [
        ("1200", D("122"), False),
        ("1210", D(5), False),
    ]


def test_documents_that_explain_a_difference_are_the_ones_whose_figures_differ() -> None:
    # MO-7 issued 22.00 of PLA; its output (22.00 of widgets into FG, relieving its WIP) was
    # never posted. MO-8 was posted in full: its WIP lines carry PLA when issued and WIDGET
    # when relieved, and net to zero as inventory's WIP of MO-8 does. An entry without a
    # document moved 1.00 into raw materials. Everything else agrees.
    gl = {
        ("purchase_order", "PO-1", "1200", "PLA"): D("200.00"),
        ("production_order", "MO-7", "1200", "PLA"): D("-22.00"),
        ("production_order", "MO-7", "1210", "PLA"): D("22.00"),
        ("production_order", "MO-8", "1200", "PLA"): D("-10.00"),
        ("production_order", "MO-8", "1210", "PLA"): D("10.00"),
        ("production_order", "MO-8", "1210", "WIDGET"): D("-10.00"),
        ("production_order", "MO-8", "1220", "WIDGET"): D("10.00"),
        ("sales_order", "SO-1", "1220", "WIDGET"): D("-10.00"),
        ("journal_entry", "JE-2026-00009", "1200", None): D("1.00"),
    }
    inventory_documents = [
        ("purchase_order", "PO-1", InventoryClass.RAW, "PLA", D("200.00")),
        ("production_order", "MO-7", InventoryClass.RAW, "PLA", D("-22.00")),
        ("production_order", "MO-7", InventoryClass.FINISHED, "WIDGET", D("22.00")),
        ("production_order", "MO-8", InventoryClass.RAW, "PLA", D("-10.00")),
        ("production_order", "MO-8", InventoryClass.FINISHED, "WIDGET", D("10.00")),
        ("sales_order", "SO-1", InventoryClass.FINISHED, "WIDGET", D("-10.00")),
    ]
    accounts = domain.inventory_accounts(ROLES)
    classes = domain.account_of_class(accounts)

    differing = domain.document_differences(
        gl, inventory_documents, classes, domain.itemised_accounts(accounts)
    )

    assert [
        (d.document_type, d.document_ref, d.account_code, d.gl_amount, d.inventory_amount)
        for d in differing
    ] == [
        ("production_order", "MO-7", "1210", D("22.00"), D(0)),
        ("production_order", "MO-7", "1220", D(0), D("22.00")),
        ("journal_entry", "JE-2026-00009", "1200", D("1.00"), D(0)),
    ]
    assert [d.difference for d in differing] == [D("22.00"), D("-22.00"), D("1.00")]
    # WIP compares by document only; the other accounts name their items.
    assert differing[0].items == ()
    assert [(i.sku, i.difference) for i in differing[1].items] == [("WIDGET", D("-22.00"))]
    assert [(i.sku, i.difference) for i in differing[2].items] == [(None, D("1.00"))]


def test_items_that_differ_read_each_class_as_its_account_and_leave_wip_to_documents() -> None:
    gl = {
        ("1200", "PLA"): D("195.00"),
        ("1220", "WIDGET"): D(0),
        ("1200", None): D("1.00"),
        ("1210", "PLA"): D("10.00"),
        ("1210", "WIDGET"): D("-10.00"),
    }
    valuation = [
        ("PLA", InventoryClass.RAW, D("195.00")),
        ("WIDGET", InventoryClass.FINISHED, D("22.00")),
    ]
    accounts = domain.inventory_accounts(ROLES)
    classes = domain.account_of_class(accounts)

    differing = domain.item_differences(gl, valuation, classes, domain.itemised_accounts(accounts))

    assert [
        (i.account_code, i.sku, i.gl_amount, i.inventory_amount, i.difference) for i in differing
    ] == [
        ("1220", "WIDGET", D(0), D("22.00"), D("-22.00")),
        ("1200", None, D("1.00"), D(0), D("1.00")),
    ]


# --- ledger check -------------------------------------------------------------------------------


def test_ledger_check_names_the_accounts_and_days_whose_kept_totals_differ_from_the_lines() -> None:
    first, second, third = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
    kept = {
        ("1200", first): (D(10), D(0)),
        ("2000", first): (D(0), D(10)),
        ("1200", second): (D(5), D(0)),
    }
    lines = {
        ("1200", first): (D(10), D(0)),
        ("2000", first): (D(0), D(10)),
        ("1200", second): (D(4), D(0)),
        ("1210", third): (D(1), D(0)),
    }

    mismatches = domain.ledger_mismatches(kept, lines)

    assert [
        (m.code, m.kept_debit, m.kept_credit, m.lines_debit, m.lines_credit, m.days)
        for m in mismatches
    ] == [
        ("1200", D(15), D(0), D(14), D(0), (second,)),
        ("1210", D(0), D(0), D(1), D(0), (third,)),
    ]
    assert domain.ledger_mismatches(kept, kept) == []


# --- inventory's side ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "make_or_buy", "expected"),
    [
        ("WIP", "buy", inventory.InventoryClass.WIP),
        ("WIP", "make", inventory.InventoryClass.WIP),
        ("SCRAP", "make", None),
        ("QC", "make", inventory.InventoryClass.FINISHED),
        ("FG", "buy", inventory.InventoryClass.RAW),
        ("RAW", "make", inventory.InventoryClass.FINISHED),
        ("SHELF-9", "buy", inventory.InventoryClass.RAW),
    ],
)
def test_the_class_follows_the_item_except_at_wip_and_scrap(
    location: str, make_or_buy: str, expected: inventory.InventoryClass | None
) -> None:
    assert inventory.inventory_class(location, make_or_buy) == expected


def test_a_stock_reference_names_the_journals_document() -> None:
    assert inventory.document_of("purchase_order", "PO-2026-00001/2") == Document(
        "purchase_order", "PO-2026-00001"
    )
    assert inventory.document_of("production_order", "MO-7") == Document("production_order", "MO-7")
    assert inventory.document_of("shipment", "SHP-2026-00001", "SO-9") == Document(
        "sales_order", "SO-9"
    )
    assert inventory.document_of("shipment", "SHP-2026-00002") == Document(
        "shipment", "SHP-2026-00002"
    )
    assert inventory.document_of("adjustment", "ADJ-1") == Document("adjustment", "ADJ-1")
    assert inventory.document_of("transfer", "TRF-1") is None
    assert inventory.document_of("release", "REL-1") is None


def test_inventory_values_by_class_and_item_leave_scrap_out() -> None:
    stock = [
        StockValue("PLA", "PLA", "buy", "RAW", D("7"), D("140.00")),
        StockValue("PLA", "PLA", "buy", "QC", D("1"), D("20.00")),
        StockValue("PLA", "PLA", "buy", "WIP", D("0.5"), D("10.00")),
        StockValue("WIDGET", "Widget", "make", "FG", D("4"), D("22.00")),
        StockValue("WIDGET", "Widget", "make", "SCRAP", D("2"), D("11.00")),
        StockValue("BOX", "Box", "buy", "RAW", D(0), D(0)),
    ]

    result = inventory.valuation(stock)

    assert result.classes == {
        inventory.InventoryClass.RAW: D("160.00"),
        inventory.InventoryClass.WIP: D("10.00"),
        inventory.InventoryClass.FINISHED: D("22.00"),
    }
    assert result.total == D("192.00")
    assert [(i.sku, i.inventory_class, i.qty, i.value) for i in result.items] == [
        ("PLA", inventory.InventoryClass.RAW, D(8), D("160.00")),
        ("PLA", inventory.InventoryClass.WIP, D("0.5"), D("10.00")),
        ("WIDGET", inventory.InventoryClass.FINISHED, D(4), D("22.00")),
    ]


def test_a_documents_value_nets_its_movements_per_class() -> None:
    # MO-1 issues 5.00 of PLA, consumes it, books 4.40 of widgets into QC and 0.60 to SCRAP,
    # then QC passes them to FG; shipment SHP-1 of SO-9 takes them out; a transfer moves PLA.
    def moved(reference_type: str, reference: str, sku: str, location: str, value: str) -> Movement:
        make_or_buy = "make" if sku == "WIDGET" else "buy"
        so = "SO-9" if reference_type == "shipment" else None
        return Movement(reference_type, reference, so, sku, make_or_buy, location, D(value))

    movements = [
        moved("production_order", "MO-1", "PLA", "RAW", "-5.00"),
        moved("production_order", "MO-1", "PLA", "WIP", "0.00"),  # +5.00 issued, -5.00 consumed
        moved("production_order", "MO-1", "WIDGET", "QC", "0.00"),  # +4.40 booked, -4.40 passed
        moved("production_order", "MO-1", "WIDGET", "FG", "4.40"),
        moved("production_order", "MO-1", "WIDGET", "SCRAP", "0.60"),
        moved("shipment", "SHP-1", "WIDGET", "FG", "-4.40"),
        moved("transfer", "TRF-1", "PLA", "RAW", "-1.00"),
        moved("transfer", "TRF-1", "PLA", "SHELF-9", "1.00"),
        moved("purchase_order", "PO-1/1", "PLA", "RAW", "100.00"),
        moved("purchase_order", "PO-1/2", "PLA", "QC", "20.00"),
    ]

    result = inventory.document_values(movements)

    assert [(r.document, r.inventory_class, r.value, r.items) for r in result] == [
        (
            Document("production_order", "MO-1"),
            inventory.InventoryClass.RAW,
            D("-5.00"),
            (("PLA", D("-5.00")),),
        ),
        (
            Document("production_order", "MO-1"),
            inventory.InventoryClass.FINISHED,
            D("4.40"),
            (("WIDGET", D("4.40")),),
        ),
        (
            Document("purchase_order", "PO-1"),
            inventory.InventoryClass.RAW,
            D("120.00"),
            (("PLA", D("120.00")),),
        ),
        (
            Document("sales_order", "SO-9"),
            inventory.InventoryClass.FINISHED,
            D("-4.40"),
            (("WIDGET", D("-4.40")),),
        ),
    ]


def test_the_roles_default_to_the_standard_chart() -> None:
    assert ROLES[PostingRole.RAW_MATERIALS] == "1200"
    assert ROLES[PostingRole.WORK_IN_PROGRESS] == "1210"
    assert ROLES[PostingRole.FINISHED_GOODS] == "1220"
    assert domain.role_accounts({"scrap": "5450"})[PostingRole.SCRAP] == "5450"
