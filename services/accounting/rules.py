"""The posting rules: one function per event that moves value, event in, journal draft out.

The table they implement is in docs/accounting.md. Rules never compute a cost: each moves the
value its event carries. The accounts come from `PostingAccounts` (settings, not code), and the
entry's date is decided by the caller (the plant-local day of the event, moved out of a closed
period), so these functions are plain and each has its unit test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from services.accounting.domain import Dimensions as Dims
from services.accounting.domain import (
    DocumentType,
    DraftLine,
    EntryType,
    JournalDraft,
    PostingRole,
    plain_number,
)
from shared.events.catalogue import (
    FinishedGoodsInspected,
    FinishedGoodsReceived,
    MaterialIssued,
    MaterialReceived,
    MaterialReturned,
    OrderShipped,
    PaymentReceived,
    StockAdjusted,
    VendorPaymentMade,
)
from shared.values import FOUR_PLACES

WIP_LOCATION = "WIP"
SCRAP_LOCATION = "SCRAP"
# The reason_code of inventory's opening-balance adjustments (its AdjustmentReason): the event
# carries it as text, and accounting does not import another service's code.
OPENING_BALANCE = "opening_balance"


class UnknownItem(LookupError):
    """An event about an item accounting has not heard of yet (its ItemUpserted is behind)."""


@dataclass(frozen=True)
class PostingAccounts:
    """The account of each posting role, and which items are made (their stock is finished
    goods) rather than bought (raw material)."""

    roles: Mapping[str, str]
    made_items: Callable[[str], bool | None]

    def of(self, role: PostingRole) -> str:
        return self.roles[role]

    def inventory(self, sku: str) -> str:
        """The inventory account of an item's stock outside WIP (docs/accounting.md)."""
        made = self.made_items(sku)
        if made is None:
            raise UnknownItem(f"item {sku} is not known to accounting yet")
        return self.of(PostingRole.FINISHED_GOODS if made else PostingRole.RAW_MATERIALS)

    def at(self, sku: str, location: str) -> str:
        """The inventory account of an item's stock at `location`."""
        if location == WIP_LOCATION:
            return self.of(PostingRole.WORK_IN_PROGRESS)
        return self.inventory(sku)


def _pair(
    debit_account: str, credit_account: str, amount: Decimal, dims: Dims, memo: str | None = None
) -> tuple[DraftLine, ...]:
    """Dr one account / Cr another for the same amount; nothing when the amount is zero."""
    if amount == 0:
        return ()
    return (
        DraftLine(debit_account, debit=amount, dimensions=dims, memo=memo),
        DraftLine(credit_account, credit=amount, dimensions=dims, memo=memo),
    )


def _draft(
    day: date,
    entry_type: EntryType,
    document: tuple[DocumentType, str],
    memo: str,
    lines: tuple[DraftLine, ...],
) -> JournalDraft | None:
    if not lines:
        return None
    return JournalDraft(
        entry_date=day,
        entry_type=entry_type,
        document_type=document[0],
        document_ref=document[1],
        memo=memo,
        lines=lines,
    )


def _money(value: Decimal) -> str:
    return format(value.quantize(FOUR_PLACES), "f")


def material_received(
    event: MaterialReceived, accounts: PostingAccounts, day: date
) -> JournalDraft | None:
    """Dr inventory / Cr accounts payable for the receipt's value."""
    if not event.value:  # customer-supplied or free material: no lookup, nothing to post
        return None
    location = "QC" if event.to_status == "pending_qc" else "RAW"
    dims = Dims(item_sku=event.sku, location=location, purchase_order=event.po_number)
    return _draft(
        day,
        EntryType.MATERIAL_RECEIPT,
        (DocumentType.PURCHASE_ORDER, event.po_number),
        receipt_memo(event),
        _pair(
            accounts.inventory(event.sku),
            accounts.of(PostingRole.ACCOUNTS_PAYABLE),
            event.value,
            dims,
        ),
    )


def receipt_memo(receipt: MaterialReceived, uom: str | None = None) -> str:
    """'Receipt PO-2026-00001 line 2: 100 ea SKU-1 @ 2.5000' (the unit only when known)."""
    qty = plain_number(receipt.qty)
    quantity = f"{qty} {uom}" if uom else qty
    return (
        f"Receipt {receipt.po_number} line {receipt.line_no}: "
        f"{quantity} {receipt.sku} @ {_money(receipt.unit_cost)}"
    )


def material_issued(
    event: MaterialIssued, accounts: PostingAccounts, day: date
) -> JournalDraft | None:
    """Dr WIP / Cr the item's inventory account for the issued value."""
    if not event.value:
        return None
    dims = Dims(item_sku=event.sku, location=event.from_location, production_order=event.order_code)
    return _draft(
        day,
        EntryType.MATERIAL_ISSUE,
        (DocumentType.PRODUCTION_ORDER, event.order_code),
        f"Issue to {event.order_code}: {plain_number(event.qty)} {event.sku} "
        f"@ {_money(event.unit_cost)}",
        _pair(
            accounts.of(PostingRole.WORK_IN_PROGRESS),
            accounts.at(event.sku, event.from_location),
            event.value,
            dims,
        ),
    )


def material_returned(
    event: MaterialReturned, accounts: PostingAccounts, day: date
) -> JournalDraft | None:
    """Dr the item's inventory account / Cr WIP: material back from a cancelled order."""
    if not event.value:
        return None
    dims = Dims(item_sku=event.sku, location=event.to_location, production_order=event.order_code)
    return _draft(
        day,
        EntryType.MATERIAL_RETURN,
        (DocumentType.PRODUCTION_ORDER, event.order_code),
        f"Return from {event.order_code}: {plain_number(event.qty)} {event.sku}",
        _pair(
            accounts.at(event.sku, event.to_location),
            accounts.of(PostingRole.WORK_IN_PROGRESS),
            event.value,
            dims,
        ),
    )


def finished_goods_received(
    event: FinishedGoodsReceived, accounts: PostingAccounts, day: date
) -> JournalDraft | None:
    """Dr finished goods for the good units, Dr scrap for the bad / Cr WIP for both."""
    dims = Dims(item_sku=event.sku, location=WIP_LOCATION, production_order=event.order_code)
    lines: list[DraftLine] = []
    if event.value_good:
        lines.append(
            DraftLine(
                accounts.inventory(event.sku),
                debit=event.value_good,
                dimensions=Dims(
                    item_sku=event.sku,
                    location="QC" if event.to_status == "pending_qc" else "FG",
                    production_order=event.order_code,
                ),
                memo=f"{plain_number(event.qty_good)} good",
            )
        )
    if event.value_bad:
        lines.append(
            DraftLine(
                accounts.of(PostingRole.SCRAP),
                debit=event.value_bad,
                dimensions=Dims(
                    item_sku=event.sku, location=SCRAP_LOCATION, production_order=event.order_code
                ),
                memo=f"{plain_number(event.qty_bad)} scrapped at the run",
            )
        )
    total = event.value_good + event.value_bad
    if total:
        lines.append(
            DraftLine(accounts.of(PostingRole.WORK_IN_PROGRESS), credit=total, dimensions=dims)
        )
    return _draft(
        day,
        EntryType.PRODUCTION_OUTPUT,
        (DocumentType.PRODUCTION_ORDER, event.order_code),
        f"Output of {event.order_code} run {event.run_id}: {plain_number(event.qty_good)} good, "
        f"{plain_number(event.qty_bad)} bad {event.sku} @ {_money(event.unit_cost)}",
        tuple(lines),
    )


def finished_goods_inspected(
    event: FinishedGoodsInspected, accounts: PostingAccounts, day: date
) -> JournalDraft | None:
    """Dr scrap / Cr finished goods for the units failed at QC (passed ones stay in FG)."""
    if not event.value_failed:
        return None
    dims = Dims(item_sku=event.sku, location="QC", production_order=event.order_code)
    reason = f" ({event.reason_code})" if event.reason_code else ""
    return _draft(
        day,
        EntryType.QC_SCRAP,
        (DocumentType.PRODUCTION_ORDER, event.order_code),
        f"QC of {event.order_code}: {plain_number(event.qty_failed)} {event.sku} failed{reason}",
        _pair(
            accounts.of(PostingRole.SCRAP),
            accounts.inventory(event.sku),
            event.value_failed,
            dims,
        ),
    )


def stock_adjusted(
    event: StockAdjusted, accounts: PostingAccounts, day: date
) -> JournalDraft | None:
    """A count gain: Dr inventory / Cr adjustments; a loss the other way. An opening balance
    (stock the plant had before the portal) is no gain of the period: it goes against
    opening-balance equity instead. Stock at SCRAP is no longer inventory, so adjusting it
    posts nothing."""
    if event.location == SCRAP_LOCATION or not event.value_delta:
        return None
    inventory = accounts.at(event.sku, event.location)
    adjustments = accounts.of(
        PostingRole.OPENING_BALANCE_EQUITY
        if event.reason_code == OPENING_BALANCE
        else PostingRole.INVENTORY_ADJUSTMENTS
    )
    dims = Dims(item_sku=event.sku, location=event.location)
    gain = event.value_delta > 0
    debit, credit = (inventory, adjustments) if gain else (adjustments, inventory)
    why = f": {event.reason}" if event.reason else ""
    return _draft(
        day,
        EntryType.STOCK_ADJUSTMENT,
        (DocumentType.ADJUSTMENT, event.adjustment_id),
        f"Adjustment {event.adjustment_id} {event.sku} at {event.location} "
        f"{plain_number(event.qty_delta)} ({event.reason_code}){why}",
        _pair(debit, credit, abs(event.value_delta), dims),
    )


def order_shipped(event: OrderShipped, accounts: PostingAccounts, day: date) -> JournalDraft | None:
    """Per line: Dr COGS / Cr inventory at cost; Dr receivable / Cr revenue at price."""
    lines: list[DraftLine] = []
    for shipped in event.lines:
        dims = Dims(item_sku=shipped.sku, location="FG", sales_order=event.so_number)
        memo = f"line {shipped.line_no}: {plain_number(shipped.qty)} {shipped.sku}"
        lines += _pair(
            accounts.of(PostingRole.COST_OF_GOODS_SOLD),
            accounts.inventory(shipped.sku),
            shipped.cost_value,
            dims,
            memo,
        )
        lines += _pair(
            accounts.of(PostingRole.ACCOUNTS_RECEIVABLE),
            accounts.of(PostingRole.REVENUE),
            shipped.sales_value,
            Dims(item_sku=shipped.sku, sales_order=event.so_number),
            memo,
        )
    return _draft(
        day,
        EntryType.SHIPMENT,
        (DocumentType.SALES_ORDER, event.so_number),
        f"Shipment {event.shipment_id} of {event.so_number} to {event.customer_code}",
        tuple(lines),
    )


def payment_received(
    event: PaymentReceived, accounts: PostingAccounts, day: date
) -> JournalDraft | None:
    """Dr cash / Cr accounts receivable."""
    reference = f" ({event.reference})" if event.reference else ""
    return _draft(
        day,
        EntryType.CUSTOMER_PAYMENT,
        (DocumentType.SALES_ORDER, event.so_number),
        f"Payment {event.payment_id} from {event.customer_code} for {event.so_number}{reference}",
        _pair(
            accounts.of(PostingRole.CASH),
            accounts.of(PostingRole.ACCOUNTS_RECEIVABLE),
            event.amount,
            Dims(sales_order=event.so_number),
        ),
    )


def vendor_payment_made(
    event: VendorPaymentMade, accounts: PostingAccounts, day: date
) -> JournalDraft | None:
    """Dr accounts payable / Cr cash."""
    reference = f" ({event.reference})" if event.reference else ""
    return _draft(
        day,
        EntryType.VENDOR_PAYMENT,
        (DocumentType.VENDOR_BILL, event.bill_number),
        f"Payment {event.payment_id} to {event.vendor_code} for {event.bill_number}{reference}",
        _pair(
            accounts.of(PostingRole.ACCOUNTS_PAYABLE),
            accounts.of(PostingRole.CASH),
            event.amount,
            Dims(),
        ),
    )


@dataclass(frozen=True)
class Rule:
    """How one event type posts: its payload model, the moment that dates it, the rule."""

    payload: type[BaseModel]
    moment: Callable[[Any], datetime]
    post: Callable[[Any, PostingAccounts, date], JournalDraft | None]
    # A business date the producer set (a receipt's plant day), preferred to the moment's.
    business_date: Callable[[Any], date | None] = lambda event: None


RULES: dict[str, Rule] = {
    "MaterialReceived": Rule(
        MaterialReceived,
        lambda e: e.received_at,
        material_received,
        lambda e: e.receipt_date,
    ),
    "MaterialIssued": Rule(MaterialIssued, lambda e: e.issued_at, material_issued),
    "MaterialReturned": Rule(MaterialReturned, lambda e: e.returned_at, material_returned),
    "FinishedGoodsReceived": Rule(
        FinishedGoodsReceived, lambda e: e.received_at, finished_goods_received
    ),
    "FinishedGoodsInspected": Rule(
        FinishedGoodsInspected, lambda e: e.inspected_at, finished_goods_inspected
    ),
    "StockAdjusted": Rule(StockAdjusted, lambda e: e.adjusted_at, stock_adjusted),
    "OrderShipped": Rule(OrderShipped, lambda e: e.shipped_at, order_shipped),
    "PaymentReceived": Rule(PaymentReceived, lambda e: e.received_at, payment_received),
    "VendorPaymentMade": Rule(VendorPaymentMade, lambda e: e.paid_at, vendor_payment_made),
}
