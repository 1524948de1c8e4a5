"""Every posting rule of docs/accounting.md, from the event to the exact lines, and
`posting.post_event` on a migrated SQLite file: plant-local dating, closed periods, the item
read model (newest sequence wins) and the posting accounts as settings.

Figures are worked by hand in the comments; rules never compute a cost, so each amount below is
one the event carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from services.accounting import posting, rules, service
from services.accounting.bootstrap import definition
from services.accounting.domain import (
    DEFAULT_POSTING_ACCOUNTS,
    Dimensions,
    DraftLine,
    JournalDraft,
    PostingRole,
)
from services.accounting.models import (
    Account,
    JournalEntry,
    JournalSequence,
    LedgerItem,
    LedgerSetting,
    Period,
    PostingAccount,
    messaging,
)
from services.accounting.rules import PostingAccounts, UnknownItem
from shared.db import Database
from shared.events.catalogue import (
    FinishedGoodsInspected,
    FinishedGoodsReceived,
    ItemUpserted,
    MaterialIssued,
    MaterialReceived,
    MaterialReturned,
    OrderShipped,
    PaymentReceived,
    StockAdjusted,
    VendorPaymentMade,
    validate_payload,
)
from shared.events.envelope import Envelope, utc_now
from shared.migrations import upgrade
from shared.settings import Settings
from shared.uow import UnitOfWork

D = Decimal
DAY = date(2026, 3, 10)
PO = "PO-2026-00001"
MO = "MO-2026-00007"
SO = "SO-2026-00042"

# The plant's items: PLA filament is bought; a WHEEL is made and sold; a BRACKET is a made
# component (its stock is finished goods even while it waits to be issued to a parent's order).
MADE = {"PLA": False, "WHEEL": True, "BRACKET": True}


def posting_accounts(**changed_roles: str) -> PostingAccounts:
    """The default account of each role, but for `changed_roles`; make/buy from MADE."""
    roles = {str(role): str(code) for role, code in DEFAULT_POSTING_ACCOUNTS.items()}
    return PostingAccounts(roles=roles | changed_roles, made_items=MADE.get)


ACCOUNTS = posting_accounts()


def lines(draft: JournalDraft | None) -> list[tuple[str, Decimal, Decimal]]:
    assert draft is not None
    return [(str(line.account_code), line.debit, line.credit) for line in draft.lines]


# --- events as their producers publish them -----------------------------------------------------


def receipt(**changes: Any) -> MaterialReceived:
    fields: dict[str, Any] = {
        "po_number": PO,
        "line_no": 2,
        "receipt_id": "RCV-1",
        "sku": "PLA",
        "qty": "100",
        "unit_cost": "2.5",
        "value": "250.00",
        "to_status": "approved",
        "vendor_code": "V-ACME",
        "received_at": "2026-03-10T15:00:00Z",
    }
    return MaterialReceived.model_validate(fields | changes)


def issue(**changes: Any) -> MaterialIssued:
    fields: dict[str, Any] = {
        "order_code": MO,
        "sku": "PLA",
        "qty": "2.5",
        "unit_cost": "4",
        "value": "10.0000",
        "from_location": "RAW",
        "issued_at": "2026-03-10T15:00:00Z",
    }
    return MaterialIssued.model_validate(fields | changes)


def returned(**changes: Any) -> MaterialReturned:
    fields: dict[str, Any] = {
        "order_code": MO,
        "sku": "PLA",
        "qty": "3",
        "unit_cost": "4",
        "value": "12",
        "to_location": "RAW",
        "returned_at": "2026-03-10T15:00:00Z",
    }
    return MaterialReturned.model_validate(fields | changes)


def output(**changes: Any) -> FinishedGoodsReceived:
    # 8 good + 2 bad wheels at the order's WIP unit cost of 1.25: 10.00 good, 2.50 bad
    fields: dict[str, Any] = {
        "order_code": MO,
        "run_id": "RUN-3",
        "sku": "WHEEL",
        "qty_good": "8",
        "qty_bad": "2",
        "unit_cost": "1.25",
        "value_good": "10.00",
        "value_bad": "2.50",
        "to_status": "pending_qc",
        "received_at": "2026-03-10T15:00:00Z",
    }
    return FinishedGoodsReceived.model_validate(fields | changes)


def inspected(**changes: Any) -> FinishedGoodsInspected:
    # 7 passed, 3 failed at 1.25: 8.75 passed (stays in 1220), 3.75 failed
    fields: dict[str, Any] = {
        "qc_record_id": "QC-5",
        "order_code": MO,
        "sku": "WHEEL",
        "qty_passed": "7",
        "qty_failed": "3",
        "unit_cost": "1.25",
        "value_passed": "8.75",
        "value_failed": "3.75",
        "reason_code": "WARP",
        "inspected_at": "2026-03-10T15:00:00Z",
    }
    return FinishedGoodsInspected.model_validate(fields | changes)


def adjusted(**changes: Any) -> StockAdjusted:
    fields: dict[str, Any] = {
        "adjustment_id": "ADJ-1",
        "sku": "PLA",
        "location": "RAW",
        "qty_delta": "4",
        "value_delta": "10.00",
        "reason_code": "COUNT",
        "reason": "found behind the rack",
        "adjusted_at": "2026-03-10T15:00:00Z",
    }
    return StockAdjusted.model_validate(fields | changes)


def shipped_line(line_no: int, sku: str, qty: str, cost: str, price: str) -> dict[str, Any]:
    return {
        "line_no": line_no,
        "sku": sku,
        "qty": qty,
        "unit_cost": cost,
        "unit_price": price,
        "cost_value": str(D(qty) * D(cost)),
        "sales_value": str(D(qty) * D(price)),
    }


def shipment(*shipped: dict[str, Any], **changes: Any) -> OrderShipped:
    fields: dict[str, Any] = {
        "shipment_id": "SHP-9",
        "so_number": SO,
        "customer_code": "C-ACME",
        "lines": shipped or (shipped_line(1, "WHEEL", "4", "1.25", "3.085"),),
        "shipped_at": "2026-03-10T15:00:00Z",
    }
    return OrderShipped.model_validate(fields | changes)


def payment(**changes: Any) -> PaymentReceived:
    fields: dict[str, Any] = {
        "payment_id": "PAY-1",
        "so_number": SO,
        "customer_code": "C-ACME",
        "amount": "120.50",
        "received_at": "2026-03-10T15:00:00Z",
        "reference": "wire 8812",
    }
    return PaymentReceived.model_validate(fields | changes)


def vendor_payment(**changes: Any) -> VendorPaymentMade:
    fields: dict[str, Any] = {
        "payment_id": "VP-1",
        "vendor_code": "V-ACME",
        "bill_number": "BILL-7",
        "amount": "300",
        "paid_at": "2026-03-10T15:00:00Z",
    }
    return VendorPaymentMade.model_validate(fields | changes)


# --- MaterialReceived ---------------------------------------------------------------------------


def test_a_bought_receipt_debits_raw_materials_against_payables_for_its_value() -> None:
    # 100 x 2.5 would be 250; the event says 249.9990 and that is what is posted.
    entry = rules.material_received(receipt(value="249.9990"), ACCOUNTS, DAY)
    dims = Dimensions(item_sku="PLA", location="RAW", purchase_order=PO)
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="material_receipt",
        document_type="purchase_order",
        document_ref=PO,
        memo=f"Receipt {PO} line 2: 100 PLA @ 2.5000",
        lines=(
            DraftLine("1200", debit=D("249.9990"), dimensions=dims),
            DraftLine("2000", credit=D("249.9990"), dimensions=dims),
        ),
    )


def test_a_made_item_received_from_a_vendor_is_finished_goods() -> None:
    # a subcontracted WHEEL: the item is made, so its stock sits in 1220 wherever it came from
    entry = rules.material_received(receipt(sku="WHEEL", value="40"), ACCOUNTS, DAY)
    assert lines(entry) == [("1220", D(40), D(0)), ("2000", D(0), D(40))]


def test_a_free_receipt_of_an_item_not_heard_of_yet_posts_nothing_rather_than_waiting() -> None:
    # Customer-supplied material arrives at no value: no account is needed, so no lookup.
    assert (
        rules.material_received(receipt(sku="GHOST", unit_cost="0", value="0"), ACCOUNTS, DAY)
        is None
    )


def test_a_receipt_of_no_value_posts_nothing() -> None:
    assert rules.material_received(receipt(unit_cost="0", value="0"), ACCOUNTS, DAY) is None


def test_the_receipt_memo_names_the_unit_when_it_is_known() -> None:
    memo = rules.receipt_memo(receipt(qty="12.50", unit_cost="0.123"), uom="kg")
    assert memo == f"Receipt {PO} line 2: 12.5 kg PLA @ 0.1230"


def test_the_receipt_memo_without_a_unit_shows_the_bare_quantity() -> None:
    assert rules.receipt_memo(receipt(qty="1E+2")) == f"Receipt {PO} line 2: 100 PLA @ 2.5000"


# --- MaterialIssued and MaterialReturned --------------------------------------------------------


def test_issuing_bought_material_from_raw_moves_its_value_into_wip() -> None:
    entry = rules.material_issued(issue(), ACCOUNTS, DAY)
    dims = Dimensions(item_sku="PLA", location="RAW", production_order=MO)
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="material_issue",
        document_type="production_order",
        document_ref=MO,
        memo=f"Issue to {MO}: 2.5 PLA @ 4.0000",
        lines=(
            DraftLine("1210", debit=D(10), dimensions=dims),
            DraftLine("1200", credit=D(10), dimensions=dims),
        ),
    )


def test_issuing_a_made_component_from_fg_credits_finished_goods() -> None:
    entry = rules.material_issued(
        issue(sku="BRACKET", from_location="FG", qty="6", unit_cost="0.5", value="3"),
        ACCOUNTS,
        DAY,
    )
    assert lines(entry) == [("1210", D(3), D(0)), ("1220", D(0), D(3))]
    assert entry is not None
    assert entry.lines[1].dimensions == Dimensions(
        item_sku="BRACKET", location="FG", production_order=MO
    )


def test_an_issue_of_no_value_posts_nothing() -> None:
    assert rules.material_issued(issue(unit_cost="0", value="0"), ACCOUNTS, DAY) is None


def test_returned_material_goes_back_from_wip_to_its_inventory_account() -> None:
    entry = rules.material_returned(returned(), ACCOUNTS, DAY)
    dims = Dimensions(item_sku="PLA", location="RAW", production_order=MO)
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="material_return",
        document_type="production_order",
        document_ref=MO,
        memo=f"Return from {MO}: 3 PLA",
        lines=(
            DraftLine("1200", debit=D(12), dimensions=dims),
            DraftLine("1210", credit=D(12), dimensions=dims),
        ),
    )


def test_a_made_component_returned_to_fg_goes_back_to_finished_goods() -> None:
    entry = rules.material_returned(
        returned(sku="BRACKET", to_location="FG", value="1.5"), ACCOUNTS, DAY
    )
    assert lines(entry) == [("1220", D("1.5"), D(0)), ("1210", D(0), D("1.5"))]


# --- FinishedGoodsReceived ----------------------------------------------------------------------


def test_run_output_moves_good_units_to_fg_and_bad_ones_to_scrap_out_of_wip() -> None:
    entry = rules.finished_goods_received(output(), ACCOUNTS, DAY)
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="production_output",
        document_type="production_order",
        document_ref=MO,
        memo=f"Output of {MO} run RUN-3: 8 good, 2 bad WHEEL @ 1.2500",
        lines=(
            DraftLine(
                "1220",
                debit=D(10),
                dimensions=Dimensions(item_sku="WHEEL", location="QC", production_order=MO),
                memo="8 good",
            ),
            DraftLine(
                "5400",
                debit=D("2.5"),
                dimensions=Dimensions(item_sku="WHEEL", location="SCRAP", production_order=MO),
                memo="2 scrapped at the run",
            ),
            # 10.00 + 2.50
            DraftLine(
                "1210",
                credit=D("12.5"),
                dimensions=Dimensions(item_sku="WHEEL", location="WIP", production_order=MO),
            ),
        ),
    )


def test_good_output_that_needs_no_qc_is_dimensioned_at_fg() -> None:
    entry = rules.finished_goods_received(
        output(to_status="approved", qty_bad="0", value_bad="0"), ACCOUNTS, DAY
    )
    assert lines(entry) == [("1220", D(10), D(0)), ("1210", D(0), D(10))]
    assert entry is not None
    assert entry.lines[0].dimensions.location == "FG"
    assert entry.memo == f"Output of {MO} run RUN-3: 8 good, 0 bad WHEEL @ 1.2500"


def test_a_run_of_only_bad_units_posts_scrap_against_wip() -> None:
    entry = rules.finished_goods_received(
        output(qty_good="0", value_good="0", qty_bad="4", value_bad="5"), ACCOUNTS, DAY
    )
    assert lines(entry) == [("5400", D(5), D(0)), ("1210", D(0), D(5))]


def test_output_of_no_value_posts_nothing() -> None:
    event = output(unit_cost="0", value_good="0", value_bad="0")
    assert rules.finished_goods_received(event, ACCOUNTS, DAY) is None


# --- FinishedGoodsInspected ---------------------------------------------------------------------


def test_units_failed_at_qc_are_scrapped_out_of_finished_goods() -> None:
    entry = rules.finished_goods_inspected(inspected(), ACCOUNTS, DAY)
    dims = Dimensions(item_sku="WHEEL", location="QC", production_order=MO)
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="qc_scrap",
        document_type="production_order",
        document_ref=MO,
        memo=f"QC of {MO}: 3 WHEEL failed (WARP)",
        lines=(
            DraftLine("5400", debit=D("3.75"), dimensions=dims),
            DraftLine("1220", credit=D("3.75"), dimensions=dims),
        ),
    )


def test_a_qc_failure_without_a_reason_code_says_only_failed() -> None:
    entry = rules.finished_goods_inspected(inspected(reason_code=None), ACCOUNTS, DAY)
    assert entry is not None
    assert entry.memo == f"QC of {MO}: 3 WHEEL failed"


def test_qc_that_passes_everything_posts_nothing() -> None:
    event = inspected(qty_passed="10", qty_failed="0", value_passed="12.5", value_failed="0")
    assert rules.finished_goods_inspected(event, ACCOUNTS, DAY) is None


# --- StockAdjusted ------------------------------------------------------------------------------


def test_a_count_gain_debits_inventory_against_adjustments() -> None:
    entry = rules.stock_adjusted(adjusted(), ACCOUNTS, DAY)
    dims = Dimensions(item_sku="PLA", location="RAW")
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="stock_adjustment",
        document_type="adjustment",
        document_ref="ADJ-1",
        memo="Adjustment ADJ-1 PLA at RAW 4 (COUNT): found behind the rack",
        lines=(
            DraftLine("1200", debit=D(10), dimensions=dims),
            DraftLine("5500", credit=D(10), dimensions=dims),
        ),
    )


def test_a_loss_credits_inventory_for_the_absolute_value() -> None:
    entry = rules.stock_adjusted(
        adjusted(qty_delta="-2", value_delta="-5.25", reason_code="DAMAGE", reason=None),
        ACCOUNTS,
        DAY,
    )
    assert lines(entry) == [("5500", D("5.25"), D(0)), ("1200", D(0), D("5.25"))]
    assert entry is not None
    assert entry.memo == "Adjustment ADJ-1 PLA at RAW -2 (DAMAGE)"


def test_the_side_follows_the_value_not_the_quantity() -> None:
    # a recount finds one more unit but the lot's value drops by 0.40 overall: the ledger
    # follows the value inventory reports, so this is a loss of 0.40
    entry = rules.stock_adjusted(adjusted(qty_delta="1", value_delta="-0.40"), ACCOUNTS, DAY)
    assert lines(entry) == [("5500", D("0.4"), D(0)), ("1200", D(0), D("0.4"))]


def test_an_adjustment_at_wip_uses_work_in_progress_whatever_the_item() -> None:
    entry = rules.stock_adjusted(adjusted(sku="WHEEL", location="WIP"), ACCOUNTS, DAY)
    assert lines(entry) == [("1210", D(10), D(0)), ("5500", D(0), D(10))]


def test_an_adjustment_at_scrap_posts_nothing() -> None:
    assert rules.stock_adjusted(adjusted(location="SCRAP"), ACCOUNTS, DAY) is None


def test_an_adjustment_of_a_made_item_at_fg_uses_finished_goods() -> None:
    entry = rules.stock_adjusted(
        adjusted(sku="WHEEL", location="FG", qty_delta="-1", value_delta="-1.25"), ACCOUNTS, DAY
    )
    assert lines(entry) == [("5500", D("1.25"), D(0)), ("1220", D(0), D("1.25"))]


def test_a_made_item_held_in_qc_is_still_finished_goods() -> None:
    # the class follows the item, not the shelf
    entry = rules.stock_adjusted(adjusted(sku="WHEEL", location="QC"), ACCOUNTS, DAY)
    assert lines(entry) == [("1220", D(10), D(0)), ("5500", D(0), D(10))]


def test_a_quantity_only_adjustment_of_no_value_posts_nothing() -> None:
    assert rules.stock_adjusted(adjusted(value_delta="0"), ACCOUNTS, DAY) is None


# --- OrderShipped -------------------------------------------------------------------------------


def test_a_shipment_posts_cost_and_revenue_per_line() -> None:
    # line 1: 4 WHEEL at cost 1.25 = 5.00, at price 3.085 = 12.34
    # line 2: 2 BRACKET at cost 0.5 = 1.00, at price 2 = 4.00
    event = shipment(
        shipped_line(1, "WHEEL", "4", "1.25", "3.085"),
        shipped_line(2, "BRACKET", "2", "0.5", "2"),
    )
    entry = rules.order_shipped(event, ACCOUNTS, DAY)
    wheel_fg = Dimensions(item_sku="WHEEL", location="FG", sales_order=SO)
    wheel = Dimensions(item_sku="WHEEL", sales_order=SO)
    bracket_fg = Dimensions(item_sku="BRACKET", location="FG", sales_order=SO)
    bracket = Dimensions(item_sku="BRACKET", sales_order=SO)
    one, two = "line 1: 4 WHEEL", "line 2: 2 BRACKET"
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="shipment",
        document_type="sales_order",
        document_ref=SO,
        memo=f"Shipment SHP-9 of {SO} to C-ACME",
        lines=(
            DraftLine("5000", debit=D("5"), dimensions=wheel_fg, memo=one),
            DraftLine("1220", credit=D("5"), dimensions=wheel_fg, memo=one),
            DraftLine("1100", debit=D("12.34"), dimensions=wheel, memo=one),
            DraftLine("4000", credit=D("12.34"), dimensions=wheel, memo=one),
            DraftLine("5000", debit=D("1"), dimensions=bracket_fg, memo=two),
            DraftLine("1220", credit=D("1"), dimensions=bracket_fg, memo=two),
            DraftLine("1100", debit=D("4"), dimensions=bracket, memo=two),
            DraftLine("4000", credit=D("4"), dimensions=bracket, memo=two),
        ),
    )
    assert entry.total_debit == entry.total_credit == D("22.34")


def test_a_line_shipped_free_of_charge_posts_only_its_cost() -> None:
    event = shipment(
        shipped_line(1, "WHEEL", "4", "1.25", "3.085"),
        shipped_line(2, "WHEEL", "1", "1.25", "0"),  # a free replacement
    )
    assert lines(rules.order_shipped(event, ACCOUNTS, DAY)) == [
        ("5000", D(5), D(0)),
        ("1220", D(0), D(5)),
        ("1100", D("12.34"), D(0)),
        ("4000", D(0), D("12.34")),
        ("5000", D("1.25"), D(0)),
        ("1220", D(0), D("1.25")),
    ]


def test_a_bought_item_resold_is_costed_out_of_raw_materials() -> None:
    event = shipment(shipped_line(1, "PLA", "2", "2.5", "4"))
    assert lines(rules.order_shipped(event, ACCOUNTS, DAY)) == [
        ("5000", D(5), D(0)),
        ("1200", D(0), D(5)),
        ("1100", D(8), D(0)),
        ("4000", D(0), D(8)),
    ]


def test_a_shipment_of_no_cost_and_no_price_posts_nothing() -> None:
    event = shipment(shipped_line(1, "WHEEL", "1", "0", "0"))
    assert rules.order_shipped(event, ACCOUNTS, DAY) is None


# --- payments -----------------------------------------------------------------------------------


def test_a_customer_payment_debits_cash_and_credits_receivables() -> None:
    entry = rules.payment_received(payment(), ACCOUNTS, DAY)
    dims = Dimensions(sales_order=SO)
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="customer_payment",
        document_type="sales_order",
        document_ref=SO,
        memo=f"Payment PAY-1 from C-ACME for {SO} (wire 8812)",
        lines=(
            DraftLine("1000", debit=D("120.5"), dimensions=dims),
            DraftLine("1100", credit=D("120.5"), dimensions=dims),
        ),
    )


def test_a_vendor_payment_debits_payables_and_credits_cash() -> None:
    entry = rules.vendor_payment_made(vendor_payment(), ACCOUNTS, DAY)
    assert entry == JournalDraft(
        entry_date=DAY,
        entry_type="vendor_payment",
        document_type="vendor_bill",
        document_ref="BILL-7",
        memo="Payment VP-1 to V-ACME for BILL-7",
        lines=(DraftLine("2000", debit=D(300)), DraftLine("1000", credit=D(300))),
    )


def test_a_vendor_payment_memo_carries_its_reference() -> None:
    entry = rules.vendor_payment_made(vendor_payment(reference="chq 104"), ACCOUNTS, DAY)
    assert entry is not None
    assert entry.memo == "Payment VP-1 to V-ACME for BILL-7 (chq 104)"


# --- every rule ---------------------------------------------------------------------------------


EVERY_RULE: list[tuple[str, Callable[[Any, PostingAccounts, date], JournalDraft | None], Any]] = [
    ("receipt", rules.material_received, receipt()),
    ("issue", rules.material_issued, issue()),
    ("return", rules.material_returned, returned()),
    ("output", rules.finished_goods_received, output()),
    ("qc", rules.finished_goods_inspected, inspected()),
    ("gain", rules.stock_adjusted, adjusted()),
    ("loss", rules.stock_adjusted, adjusted(qty_delta="-1", value_delta="-2.5")),
    (
        "shipment",
        rules.order_shipped,
        shipment(
            shipped_line(1, "WHEEL", "4", "1.25", "3.085"),
            shipped_line(2, "WHEEL", "1", "1.25", "0"),
        ),
    ),
    ("customer payment", rules.payment_received, payment()),
    ("vendor payment", rules.vendor_payment_made, vendor_payment()),
]


@pytest.mark.parametrize(
    ("rule", "event"),
    [(rule, event) for _, rule, event in EVERY_RULE],
    ids=[n for n, *_ in EVERY_RULE],
)
def test_every_rule_proposes_a_balanced_entry_dated_on_the_day_given(
    rule: Callable[[Any, PostingAccounts, date], JournalDraft | None], event: Any
) -> None:
    entry = rule(event, ACCOUNTS, DAY)
    assert entry is not None
    entry.check_balanced()
    assert entry.entry_date == DAY


def test_the_rule_table_covers_every_value_moving_event_and_dates_each_by_its_moment() -> None:
    moments = {
        "MaterialReceived": "received_at",
        "MaterialIssued": "issued_at",
        "MaterialReturned": "returned_at",
        "FinishedGoodsReceived": "received_at",
        "FinishedGoodsInspected": "inspected_at",
        "StockAdjusted": "adjusted_at",
        "OrderShipped": "shipped_at",
        "PaymentReceived": "received_at",
        "VendorPaymentMade": "paid_at",
    }
    assert set(rules.RULES) == set(moments)
    events = {type(event).event_type: event for _, _, event in EVERY_RULE}
    for event_type, field in moments.items():
        rule = rules.RULES[event_type]
        assert rule.payload is type(events[event_type])
        assert rule.moment(events[event_type]) == getattr(events[event_type], field)
    assert rules.RULES["MaterialReceived"].business_date(receipt(receipt_date="2026-03-09")) == (
        date(2026, 3, 9)
    )
    assert rules.RULES["OrderShipped"].business_date(events["OrderShipped"]) is None


# --- accounts are settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "event"),
    [
        (rules.material_received, receipt(sku="GHOST")),
        (rules.material_issued, issue(sku="GHOST")),
        (rules.material_returned, returned(sku="GHOST")),
        (rules.finished_goods_received, output(sku="GHOST")),
        (rules.finished_goods_inspected, inspected(sku="GHOST")),
        (rules.stock_adjusted, adjusted(sku="GHOST")),
        (rules.order_shipped, shipment(shipped_line(1, "GHOST", "1", "1", "1"))),
    ],
    ids=["receipt", "issue", "return", "output", "qc", "adjustment", "shipment"],
)
def test_an_item_accounting_has_not_heard_of_cannot_be_posted(
    rule: Callable[[Any, PostingAccounts, date], JournalDraft | None], event: Any
) -> None:
    with pytest.raises(UnknownItem, match="GHOST"):
        rule(event, ACCOUNTS, DAY)


def test_an_unknown_item_at_wip_needs_no_make_or_buy() -> None:
    entry = rules.stock_adjusted(adjusted(sku="GHOST", location="WIP"), ACCOUNTS, DAY)
    assert lines(entry) == [("1210", D(10), D(0)), ("5500", D(0), D(10))]


def test_a_changed_raw_materials_account_is_the_one_posted() -> None:
    accounts = posting_accounts(raw_materials="1205")
    assert lines(rules.material_received(receipt(), accounts, DAY)) == [
        ("1205", D(250), D(0)),
        ("2000", D(0), D(250)),
    ]
    assert lines(rules.material_issued(issue(), accounts, DAY)) == [
        ("1210", D(10), D(0)),
        ("1205", D(0), D(10)),
    ]
    # made items are not raw materials: they keep 1220
    assert lines(rules.material_received(receipt(sku="WHEEL"), accounts, DAY))[0][0] == "1220"


def test_every_role_is_read_from_the_settings() -> None:
    accounts = posting_accounts(
        **{str(role): f"9{index:03d}" for index, role in enumerate(PostingRole)}
    )
    code = {role: f"9{index:03d}" for index, role in enumerate(PostingRole)}
    assert lines(rules.finished_goods_received(output(), accounts, DAY)) == [
        (code[PostingRole.FINISHED_GOODS], D(10), D(0)),
        (code[PostingRole.SCRAP], D("2.5"), D(0)),
        (code[PostingRole.WORK_IN_PROGRESS], D(0), D("12.5")),
    ]
    assert lines(rules.order_shipped(shipment(), accounts, DAY)) == [
        (code[PostingRole.COST_OF_GOODS_SOLD], D(5), D(0)),
        (code[PostingRole.FINISHED_GOODS], D(0), D(5)),
        (code[PostingRole.ACCOUNTS_RECEIVABLE], D("12.34"), D(0)),
        (code[PostingRole.REVENUE], D(0), D("12.34")),
    ]
    assert lines(rules.stock_adjusted(adjusted(), accounts, DAY)) == [
        (code[PostingRole.RAW_MATERIALS], D(10), D(0)),
        (code[PostingRole.INVENTORY_ADJUSTMENTS], D(0), D(10)),
    ]
    assert lines(rules.payment_received(payment(), accounts, DAY)) == [
        (code[PostingRole.CASH], D("120.5"), D(0)),
        (code[PostingRole.ACCOUNTS_RECEIVABLE], D(0), D("120.5")),
    ]
    assert lines(rules.vendor_payment_made(vendor_payment(), accounts, DAY)) == [
        (code[PostingRole.ACCOUNTS_PAYABLE], D(300), D(0)),
        (code[PostingRole.CASH], D(0), D(300)),
    ]


# --- properties ---------------------------------------------------------------------------------

money = st.decimals(
    min_value=D(0), max_value=D("99999999.9999"), places=4, allow_nan=False, allow_infinity=False
)


@given(st.lists(st.tuples(money, money), min_size=1, max_size=6))
def test_any_shipment_balances_and_debits_exactly_its_cost_and_sales_values(
    values: list[tuple[Decimal, Decimal]],
) -> None:
    event = OrderShipped.model_validate(
        {
            "shipment_id": "SHP-9",
            "so_number": SO,
            "customer_code": "C-ACME",
            "lines": [
                {
                    "line_no": number,
                    "sku": "WHEEL" if number % 2 else "PLA",
                    "qty": "1",
                    "unit_cost": str(cost),
                    "unit_price": str(sales),
                    "cost_value": str(cost),
                    "sales_value": str(sales),
                }
                for number, (cost, sales) in enumerate(values, start=1)
            ],
            "shipped_at": "2026-03-10T15:00:00Z",
        }
    )
    entry = rules.order_shipped(event, ACCOUNTS, DAY)
    carried = sum((cost + sales for cost, sales in values), D(0))
    if carried == 0:
        assert entry is None
        return
    assert entry is not None
    entry.check_balanced()
    assert entry.total_debit == entry.total_credit == carried
    cogs = sum((ln.debit for ln in entry.lines if ln.account_code == "5000"), D(0))
    assert cogs == sum((cost for cost, _ in values), D(0))


@given(money, money)
def test_any_run_output_balances_and_debits_exactly_its_good_and_bad_values(
    value_good: Decimal, value_bad: Decimal
) -> None:
    event = output(qty_good="8", qty_bad="2", value_good=str(value_good), value_bad=str(value_bad))
    entry = rules.finished_goods_received(event, ACCOUNTS, DAY)
    if value_good + value_bad == 0:
        assert entry is None
        return
    assert entry is not None
    entry.check_balanced()
    assert entry.total_debit == value_good + value_bad
    assert [ln for ln in entry.lines if ln.credit] == [
        DraftLine(
            "1210",
            credit=value_good + value_bad,
            dimensions=Dimensions(item_sku="WHEEL", location="WIP", production_order=MO),
        )
    ]


# --- post_event on a database -------------------------------------------------------------------


def new_uow(db: Database) -> UnitOfWork:
    return UnitOfWork(db, messaging, "accounting")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'accounting.db'}"
    upgrade(definition(), url)
    database = Database(url)
    with new_uow(database) as uow:
        service.seed_chart_of_accounts(uow, Settings(_env_file=None, var_dir=tmp_path))
        for sku, made in MADE.items():
            posting.remember_item(uow, item_upserted(sku, "make" if made else "buy"), 1)
        uow.commit()
    yield database
    database.dispose()


def item_upserted(sku: str, make_or_buy: str) -> ItemUpserted:
    return ItemUpserted.model_validate(
        {
            "sku": sku,
            "name": sku.title(),
            "uom": "ea",
            "item_type": "finished" if make_or_buy == "make" else "raw",
            "make_or_buy": make_or_buy,
        }
    )


def envelope(event: Any) -> Envelope:
    event_type = type(event).event_type
    return Envelope(
        type=event_type,
        producer="inventory",
        key="k",
        payload=validate_payload(event_type, event.model_dump(mode="json")),
    )


def close(db: Database, *periods: str) -> None:
    with new_uow(db) as uow:
        for period in periods:
            uow.session.add(
                Period(period=period, status="closed", changed_at=utc_now(), changed_by="test")
            )
        uow.commit()


def set_plant_timezone(db: Database, zone: str) -> None:
    with new_uow(db) as uow:
        setting = uow.session.get(LedgerSetting, posting.PLANT_TIMEZONE)
        assert setting is not None
        setting.value = zone
        uow.commit()


def post(db: Database, event: Any) -> Any:
    with new_uow(db) as uow:
        posted = posting.post_event(uow, envelope(event))
        uow.commit()
    return posted


def stored(db: Database, number: str) -> Any:
    with new_uow(db) as uow:
        return service.get_journal_entry(uow, number)


def entry_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(JournalEntry)) or 0)


def test_an_event_in_an_open_period_posts_on_its_own_day(db: Database) -> None:
    source = envelope(issue(issued_at="2026-03-31T15:00:00Z"))
    with new_uow(db) as uow:
        posting.post_event(uow, source)
        uow.commit()
    entry = stored(db, "JE-2026-00001")
    assert entry.entry_date == date(2026, 3, 31)
    assert entry.event_date is None
    assert entry.memo == f"Issue to {MO}: 2.5 PLA @ 4.0000"
    assert entry.source_event_id == str(source.id)
    assert entry.source_event_type == "MaterialIssued"
    assert [(ln.line_no, ln.account_code, ln.debit, ln.credit) for ln in entry.lines] == [
        (1, "1210", D(10), D(0)),
        (2, "1200", D(0), D(10)),
    ]
    assert {(ln.item_sku, ln.location, ln.production_order) for ln in entry.lines} == {
        ("PLA", "RAW", MO)
    }


def test_an_event_in_a_closed_period_posts_on_the_first_day_of_the_next_and_says_so(
    db: Database,
) -> None:
    close(db, "2026-03")
    posted = post(db, issue(issued_at="2026-03-31T15:00:00Z"))
    assert posted is not None
    assert posted.number == "JE-2026-00001"
    entry = stored(db, "JE-2026-00001")
    assert entry.entry_date == date(2026, 4, 1)
    assert entry.event_date == date(2026, 3, 31)
    assert entry.memo == (
        f"Issue to {MO}: 2.5 PLA @ 4.0000 "
        "[dated 2026-03-31, in closed period 2026-03: posted on 2026-04-01]"
    )
    assert entry.total_debit == entry.total_credit == D(10)


def test_two_consecutive_closed_periods_are_both_skipped(db: Database) -> None:
    close(db, "2026-03", "2026-04")
    post(db, issue(issued_at="2026-03-31T15:00:00Z"))
    entry = stored(db, "JE-2026-00001")
    assert entry.entry_date == date(2026, 5, 1)
    assert entry.event_date == date(2026, 3, 31)
    assert entry.memo.endswith("[dated 2026-03-31, in closed period 2026-03: posted on 2026-05-01]")


def test_a_closed_december_posts_into_next_years_numbering(db: Database) -> None:
    close(db, "2026-12")
    post(db, payment(received_at="2026-12-31T12:00:00Z"))
    entry = stored(db, "JE-2027-00001")
    assert (entry.entry_date, entry.event_date) == (date(2027, 1, 1), date(2026, 12, 31))


def test_a_reopened_period_takes_postings_on_their_own_day_again(db: Database) -> None:
    close(db, "2026-03")
    with new_uow(db) as uow:
        period = uow.session.get(Period, "2026-03")
        assert period is not None
        period.status = "open"
        uow.commit()
    post(db, issue(issued_at="2026-03-31T15:00:00Z"))
    entry = stored(db, "JE-2026-00001")
    assert (entry.entry_date, entry.event_date) == (date(2026, 3, 31), None)


def test_the_plants_day_decides_the_period(db: Database) -> None:
    # 03:00 UTC on 1 April is 22:00 on 31 March in Chicago (CDT, UTC-5): a March event.
    set_plant_timezone(db, "America/Chicago")
    close(db, "2026-03")
    post(db, issue(issued_at="2026-04-01T03:00:00Z"))
    entry = stored(db, "JE-2026-00001")
    assert (entry.entry_date, entry.event_date) == (date(2026, 4, 1), date(2026, 3, 31))
    assert "[dated 2026-03-31, in closed period 2026-03" in entry.memo


def test_a_receipt_is_dated_on_the_business_day_purchasing_gave_it(db: Database) -> None:
    # 23:30 at UTC-5 on 4 March is 5 March in UTC; purchasing says the plant's day was the 4th.
    post(db, receipt(received_at="2026-03-04T23:30:00-05:00", receipt_date="2026-03-04"))
    post(db, receipt(receipt_id="RCV-2", received_at="2026-03-04T23:30:00-05:00"))
    assert stored(db, "JE-2026-00001").entry_date == date(2026, 3, 4)
    # without one, the plant's day of the moment (the plant here keeps UTC)
    assert stored(db, "JE-2026-00002").entry_date == date(2026, 3, 5)


def test_a_receipt_without_a_business_day_is_dated_on_the_plants_day(db: Database) -> None:
    # 02:00 UTC on 5 March is 20:00 on 4 March in Chicago (CST, UTC-6)
    set_plant_timezone(db, "America/Chicago")
    post(db, receipt(received_at="2026-03-05T02:00:00Z"))
    assert stored(db, "JE-2026-00001").entry_date == date(2026, 3, 4)


def test_an_event_of_no_value_posts_nothing_and_takes_no_number(db: Database) -> None:
    assert post(db, inspected(qty_failed="0", value_failed="0")) is None
    post(db, payment())
    assert entry_count(db) == 1
    assert stored(db, "JE-2026-00001").entry_type == "customer_payment"
    with db.session() as session:
        assert session.scalar(select(JournalSequence.last_number)) == 1


def test_an_event_about_an_unknown_item_is_not_ready_and_posts_nothing(db: Database) -> None:
    with new_uow(db) as uow, pytest.raises(posting.NotReady, match="GHOST"):
        posting.post_event(uow, envelope(issue(sku="GHOST")))
    assert entry_count(db) == 0


def test_the_posting_accounts_in_the_database_are_the_ones_used(db: Database) -> None:
    with new_uow(db) as uow:
        uow.session.add(
            Account(code="1205", name="Filament", account_type="asset", subtype="inventory")
        )
        uow.session.flush()
        role = uow.session.get(PostingAccount, "raw_materials")
        assert role is not None
        role.account_code = "1205"
        uow.commit()
    post(db, receipt())
    assert [(ln.account_code, ln.debit, ln.credit) for ln in stored(db, "JE-2026-00001").lines] == [
        ("1205", D(250), D(0)),
        ("2000", D(0), D(250)),
    ]


# --- the item read model ------------------------------------------------------------------------


def remember(db: Database, sku: str, make_or_buy: str, sequence: int) -> None:
    with new_uow(db) as uow:
        posting.remember_item(uow, item_upserted(sku, make_or_buy), sequence)
        uow.commit()


def known(db: Database, sku: str) -> tuple[str, str, int] | None:
    with db.session() as session:
        item = session.get(LedgerItem, sku)
        return None if item is None else (item.make_or_buy, item.item_type, item.sequence)


def test_the_newest_item_sequence_wins(db: Database) -> None:
    remember(db, "GEAR", "buy", 5)
    assert known(db, "GEAR") == ("buy", "raw", 5)
    remember(db, "GEAR", "make", 3)  # older: late
    assert known(db, "GEAR") == ("buy", "raw", 5)
    remember(db, "GEAR", "make", 5)  # the same sequence again: a duplicate
    assert known(db, "GEAR") == ("buy", "raw", 5)
    remember(db, "GEAR", "make", 6)
    assert known(db, "GEAR") == ("make", "finished", 6)


def test_an_item_becomes_postable_once_heard_of_and_posts_by_its_newest_make_or_buy(
    db: Database,
) -> None:
    with new_uow(db) as uow, pytest.raises(posting.NotReady):
        posting.post_event(uow, envelope(receipt(sku="GEAR")))
    remember(db, "GEAR", "make", 2)
    remember(db, "GEAR", "buy", 1)  # arrives late, changes nothing
    post(db, receipt(sku="GEAR"))
    assert stored(db, "JE-2026-00001").lines[0].account_code == "1220"
