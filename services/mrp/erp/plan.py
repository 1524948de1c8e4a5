"""What the import would change: the ERP's records against the portal's current state.

Each record becomes one `Step`: create, change, unchanged, or held (it differs, and the portal
has no way to apply that difference: a person decides). A step carries the API calls that
apply it, in order; a call's path may name fields of the previous call's answer ("{version}"
of the BOM draft just created), since a number the service gives is known only then.

The import never deletes or deactivates anything: what the portal has and the ERP does not is
left as it is. Plain values, no I/O: `portal.py` fetches the state and makes the calls.

How an order is found again: an order the import creates carries the ERP's number as its
`external_ref` (mrp's sales orders and purchasing's purchase orders hold one order per number,
and the field cannot be changed), and the next run looks the order up by it. The notes are left
to the ERP's notes column and to the planner: editing them never hides an order from the import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from services.mrp.erp.records import (
    ErpBom,
    ErpCustomer,
    ErpData,
    ErpItem,
    ErpOrderLine,
    ErpPurchaseOrder,
    ErpSalesOrder,
    ErpStock,
)
from shared.i18n import Text, _

# An item field an ERP may leave empty and the portal may have empty too; the others, when the
# ERP has no value, keep the portal's.
CLEARABLE_ITEM_FIELDS = frozenset({"family"})
# Where stock is counted when the mapping names no location.
FINISHED_GOODS, RAW_MATERIAL = "FG", "RAW"
# inventory's reasons for an adjustment (its fixed list): stock of an item the portal has none
# of yet is its opening balance, at the ERP's cost; a later difference is a count correction,
# at the portal's average. The note says where it came from, on stock adjustments and BOM
# versions alike.
ADJUSTMENT_REASON = "count_correction"
OPENING_BALANCE_REASON = "opening_balance"
IMPORT_NOTE = "ERP import"
# What an order's notes hold (mrp's and purchasing's); an ERP's longer notes are cut to it.
NOTES_LIMIT = 1000


class Verdict(StrEnum):
    CREATE = "create"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    HELD = "held"


@dataclass(frozen=True)
class ApiCall:
    service: str
    method: str
    # May hold "{field}" placeholders, filled (URL-quoted) from the previous call's answer.
    path: str
    body: Mapping[str, Any] | None = None


@dataclass
class Step:
    entity: str
    key: str
    verdict: Verdict
    details: tuple[str | Text, ...] = ()
    calls: tuple[ApiCall, ...] = ()
    # Set when applied: what refused it, or that it was done and what the service named it.
    failure: str | None = None
    done: bool = False
    named: str | None = None


@dataclass(frozen=True)
class PortalState:
    """What the portal holds now, as its APIs answer (JSON), for what the ERP names."""

    items: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The released BOM per product SKU the ERP has a BOM for (None: none released).
    boms: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    customers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Orders by their external_ref: the ERP's order number they were created with.
    sales_orders: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    vendors: frozenset[str] = frozenset()
    purchase_orders: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Quantity by (SKU, location), every lot and status together.
    stock: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)


def plan(erp: ErpData, state: PortalState) -> list[Step]:
    """Every step, entity by entity in the order they are applied."""
    steps: list[Step] = []
    steps += [_item_step(item, state.items.get(item.sku)) for item in erp.items]
    steps += [_bom_step(bom, state.boms.get(bom.parent_sku)) for bom in erp.boms]
    steps += [_customer_step(c, state.customers.get(c.code)) for c in erp.customers]
    steps += [_sales_order_step(o, state.sales_orders.get(o.ref)) for o in erp.sales_orders]
    steps += _vendor_steps(erp.purchase_orders, state.vendors)
    steps += [
        _purchase_order_step(o, state.purchase_orders.get(o.ref)) for o in erp.purchase_orders
    ]
    types = _item_types(erp.items, state.items)
    standard_costs = {item.sku: item.standard_cost for item in erp.items}
    new_to_stock = _new_to_stock(erp.stock, state)
    steps += [
        _stock_step(row, types, state.stock, new_to_stock, standard_costs.get(row.sku))
        for row in erp.stock
    ]
    return steps


# --- items -------------------------------------------------------------------------------------


def _item_step(item: ErpItem, current: Mapping[str, Any] | None) -> Step:
    sku = _segment(item.sku)
    if current is None:
        body = {"sku": item.sku} | {
            name: _json(value) for name, value in item.fields.items() if value is not None
        }
        return Step(
            "items",
            item.sku,
            Verdict.CREATE,
            (str(item.fields.get("name") or ""),),
            (ApiCall("inventory", "POST", "/api/v1/items", body),),
        )
    changes: dict[str, Any] = {}
    details: list[str | Text] = []
    for name, value in item.fields.items():
        if value is None and name not in CLEARABLE_ITEM_FIELDS:
            continue
        old = current.get(name)
        if not _same(old, value):
            changes[name] = _json(value)
            details.append(_difference(name, old, value))
    if not changes:
        return Step("items", item.sku, Verdict.UNCHANGED)
    return Step(
        "items",
        item.sku,
        Verdict.CHANGE,
        tuple(details),
        (ApiCall("inventory", "PATCH", f"/api/v1/items/{sku}", changes),),
    )


# --- BOMs --------------------------------------------------------------------------------------


def _bom_step(bom: ErpBom, released: Mapping[str, Any] | None) -> Step:
    numbered = all(line.line_no is not None for line in bom.lines)
    body = {
        "sku": bom.parent_sku,
        "output_qty": _json(bom.output_qty),
        "notes": IMPORT_NOTE,
        "lines": [
            {
                "component_sku": line.component_sku,
                "qty_per": _json(line.qty_per),
                "scrap_pct": _json(line.scrap_pct),
            }
            | ({"line_no": line.line_no} if numbered else {})
            | ({"uom": line.uom} if line.uom else {})
            for line in bom.lines
        ],
    }
    calls = (
        ApiCall("production", "POST", "/api/v1/boms", body),
        ApiCall("production", "POST", "/api/v1/boms/{sku}/versions/{version}/release"),
    )
    if released is None:
        return Step(
            "boms",
            bom.parent_sku,
            Verdict.CREATE,
            (_("{count} line(s)", count=len(bom.lines)),),
            calls,
        )
    details = _bom_differences(bom, released)
    if not details:
        return Step("boms", bom.parent_sku, Verdict.UNCHANGED)
    details.insert(
        0, _("a new version replaces version {version}", version=released.get("version"))
    )
    return Step("boms", bom.parent_sku, Verdict.CHANGE, tuple(details), calls)


def _bom_differences(bom: ErpBom, released: Mapping[str, Any]) -> list[str | Text]:
    """What differs, line order and line numbers aside (renumbering is no change to make)."""
    current_lines = list(released.get("lines", []))
    if _same(released.get("output_qty"), bom.output_qty) and _bom_lines(bom) == sorted(
        _released_line(line, bom) for line in current_lines
    ):
        return []
    details: list[str | Text] = []
    if not _same(released.get("output_qty"), bom.output_qty):
        details.append(_difference("output_qty", released.get("output_qty"), bom.output_qty))
    ours = {str(line["component_sku"]): line for line in current_lines}
    theirs = {line.component_sku: line for line in bom.lines}
    for sku, line in theirs.items():
        current = ours.get(sku)
        if current is None:
            details.append(_("{sku} added: {qty} per", sku=sku, qty=_number(line.qty_per)))
            continue
        for name, value in (("qty_per", line.qty_per), ("scrap_pct", line.scrap_pct)):
            if not _same(current.get(name), value):
                details.append(_difference(f"{sku} {name}", current.get(name), value))
        if line.uom and line.uom != current.get("uom"):
            details.append(_difference(f"{sku} uom", current.get("uom"), line.uom))
    details += [_("{sku} removed", sku=sku) for sku in sorted(ours.keys() - theirs.keys())]
    return details or [_("the lines differ")]  # a component on two lines, one of them changed


def _bom_lines(bom: ErpBom) -> list[tuple[str, Decimal, Decimal, str]]:
    return sorted(
        (line.component_sku, line.qty_per, line.scrap_pct, line.uom or "") for line in bom.lines
    )


def _released_line(line: Mapping[str, Any], bom: ErpBom) -> tuple[str, Decimal, Decimal, str]:
    """A released line as `_bom_lines` has the ERP's: its unit only where the ERP gives one."""
    sku = str(line["component_sku"])
    erp_gives_uom = any(mine.uom for mine in bom.lines if mine.component_sku == sku)
    return (
        sku,
        Decimal(str(line["qty_per"])),
        Decimal(str(line["scrap_pct"])),
        str(line.get("uom") or "") if erp_gives_uom else "",
    )


# --- customers ---------------------------------------------------------------------------------


def _customer_step(customer: ErpCustomer, current: Mapping[str, Any] | None) -> Step:
    if current is None:
        body: dict[str, Any] = {"code": customer.code, "name": customer.name}
        if customer.priority is not None:
            body["priority"] = customer.priority
        return Step(
            "customers",
            customer.code,
            Verdict.CREATE,
            (customer.name,),
            (ApiCall("mrp", "POST", "/api/v1/customers", body),),
        )
    changes: dict[str, Any] = {}
    details: list[str | Text] = []
    for name, value in (("name", customer.name), ("priority", customer.priority)):
        if value is not None and not _same(current.get(name), value):
            changes[name] = value
            details.append(_difference(name, current.get(name), value))
    if not changes:
        return Step("customers", customer.code, Verdict.UNCHANGED)
    return Step(
        "customers",
        customer.code,
        Verdict.CHANGE,
        tuple(details),
        (ApiCall("mrp", "PATCH", f"/api/v1/customers/{_segment(customer.code)}", changes),),
    )


# --- sales orders ------------------------------------------------------------------------------

FINISHED_SALES_ORDER = frozenset({"shipped", "cancelled"})


def _sales_order_step(order: ErpSalesOrder, current: Mapping[str, Any] | None) -> Step:
    if current is None:
        units = {line.business_unit for line in order.lines}
        body: dict[str, Any] = {
            "customer_code": order.customer_code,
            "external_ref": order.ref,
            "lines": [
                {"sku": line.sku, "qty": _json(line.qty), "unit_price": _json(line.price)}
                | ({"due_date": _json(line.due_date)} if line.due_date else {})
                | ({"business_unit": line.business_unit} if line.business_unit else {})
                for line in order.lines
            ],
        }
        if order.notes is not None:
            body["notes"] = order.notes[:NOTES_LIMIT]
        if order.order_date is not None:
            body["order_date"] = _json(order.order_date)
        if len(units) == 1 and None not in units:
            body["business_unit"] = units.pop()
        if order.contractual_penalty is not None:
            body["contractual_penalty"] = order.contractual_penalty
        return Step(
            "sales_orders",
            order.ref,
            Verdict.CREATE,
            (_order_summary(order.customer_code, order.lines),),
            (ApiCall("mrp", "POST", "/api/v1/sales-orders", body),),
        )
    number = str(current["so_number"])
    held = _held_order(
        "sales_orders",
        order.ref,
        number,
        current,
        FINISHED_SALES_ORDER,
        ("customer_code", order.customer_code),
        order.lines,
        "unit_price",
    )
    if held is not None:
        return held
    changes: dict[str, Any] = {}
    details: list[str | Text] = [number]
    if order.contractual_penalty is not None and not _same(
        current.get("contractual_penalty"), order.contractual_penalty
    ):
        changes["contractual_penalty"] = order.contractual_penalty
        details.append(
            _difference(
                "contractual_penalty", current.get("contractual_penalty"), order.contractual_penalty
            )
        )
    # Notes the ERP does not give are the portal's own (a planner may have added some).
    notes = order.notes[:NOTES_LIMIT] if order.notes is not None else None
    if notes is not None and (current.get("notes") or "") != notes:
        changes["notes"] = notes
        details.append(_difference("notes", current.get("notes"), notes))
    if not changes:
        return Step("sales_orders", order.ref, Verdict.UNCHANGED, (number,))
    return Step(
        "sales_orders",
        order.ref,
        Verdict.CHANGE,
        tuple(details),
        (ApiCall("mrp", "PATCH", f"/api/v1/sales-orders/{_segment(number)}", changes),),
    )


def _held_order(
    entity: str,
    ref: str,
    number: str,
    current: Mapping[str, Any],
    finished: frozenset[str],
    party: tuple[str, str],
    lines: Sequence[ErpOrderLine],
    price: str,
) -> Step | None:
    """A held step for an order found again that the import cannot bring to the ERP's: one
    finished here (shipped, received, cancelled) while the ERP has it open, or one whose
    customer (vendor) or lines differ. None when the order may be compared further."""
    if current.get("status") in finished:
        reason = _(
            "{number} is {status} here and still open in the ERP",
            number=number,
            status=current.get("status"),
        )
        return Step(entity, ref, Verdict.HELD, (reason,))
    conflicts = _order_conflicts(number, party, current, lines, price)
    return Step(entity, ref, Verdict.HELD, tuple(conflicts)) if conflicts else None


def _order_conflicts(
    number: str,
    party: tuple[str, str],
    current: Mapping[str, Any],
    lines: Sequence[ErpOrderLine],
    price: str,
) -> list[str | Text]:
    """Why an order found again cannot be brought to the ERP's: the portal's APIs change
    neither an order's customer (vendor) nor its lines; empty when they agree."""
    details: list[str | Text] = []
    name, code = party
    if current.get(name) != code:
        details.append(_difference(f"{number} {name}", current.get(name), code))
    ours = list(current.get("lines", []))
    for index, line in enumerate(lines):
        if index >= len(ours):
            details.append(_("line {line_no} ({sku}) added", line_no=line.line_no, sku=line.sku))
            continue
        mine = ours[index]
        label = f"{number} line {mine.get('line_no')}"
        for name, old, new in (
            ("sku", mine.get("sku"), line.sku),
            ("qty", mine.get("qty_ordered"), line.qty),
            (price, mine.get(price), line.price),
            ("due_date", mine.get("due_date"), line.due_date),
        ):
            if not _same(old, new):
                details.append(_difference(f"{label} {name}", old, new))
        if line.business_unit is not None and mine.get("business_unit") != line.business_unit:
            details.append(
                _difference(f"{label} business_unit", mine.get("business_unit"), line.business_unit)
            )
    for mine in ours[len(lines) :]:
        details.append(
            _("line {line_no} ({sku}) removed", line_no=mine.get("line_no"), sku=mine.get("sku"))
        )
    if details:
        details.append(
            _("the portal cannot change an order's lines or its party: change it by hand")
        )
    return details


def _order_summary(party: str, lines: Sequence[ErpOrderLine]) -> Text:
    return _("{party}, {count} line(s)", party=party, count=len(lines))


# --- vendors and purchase orders ---------------------------------------------------------------

FINISHED_PURCHASE_ORDER = frozenset({"received", "cancelled"})


def _vendor_steps(orders: Iterable[ErpPurchaseOrder], known: frozenset[str]) -> list[Step]:
    """A vendor the portal lacks is created, named as the ERP names it (or by its code)."""
    steps: dict[str, Step] = {}
    for order in orders:
        if order.vendor_code in known or order.vendor_code in steps:
            continue
        name = order.vendor_name or order.vendor_code
        steps[order.vendor_code] = Step(
            "vendors",
            order.vendor_code,
            Verdict.CREATE,
            (name,),
            (
                ApiCall(
                    "purchasing",
                    "POST",
                    "/api/v1/vendors",
                    {"code": order.vendor_code, "name": name},
                ),
            ),
        )
    return list(steps.values())


def _purchase_order_step(order: ErpPurchaseOrder, current: Mapping[str, Any] | None) -> Step:
    submit = ApiCall("purchasing", "POST", "/api/v1/purchase-orders/{number}/submit")
    if current is None:
        body: dict[str, Any] = {
            "vendor_code": order.vendor_code,
            "external_ref": order.ref,
            "lines": [
                {"sku": line.sku, "qty": _json(line.qty), "unit_cost": _json(line.price)}
                | ({"due_date": _json(line.due_date)} if line.due_date else {})
                for line in order.lines
            ],
        }
        if order.notes is not None:
            body["notes"] = order.notes[:NOTES_LIMIT]
        if order.order_date is not None:
            body["order_date"] = _json(order.order_date)
        return Step(
            "purchase_orders",
            order.ref,
            Verdict.CREATE,
            (_order_summary(order.vendor_code, order.lines),),
            (ApiCall("purchasing", "POST", "/api/v1/purchase-orders", body), submit),
        )
    number = str(current["number"])
    held = _held_order(
        "purchase_orders",
        order.ref,
        number,
        current,
        FINISHED_PURCHASE_ORDER,
        ("vendor_code", order.vendor_code),
        order.lines,
        "unit_cost",
    )
    if held is not None:
        return held
    if current.get("status") == "draft":
        # Created by an import that stopped before submitting it: an ERP's open order is a
        # submitted one.
        return Step(
            "purchase_orders",
            order.ref,
            Verdict.CHANGE,
            (_difference(f"{number} status", "draft", "submitted"),),
            (ApiCall("purchasing", "POST", f"/api/v1/purchase-orders/{_segment(number)}/submit"),),
        )
    return Step("purchase_orders", order.ref, Verdict.UNCHANGED, (number,))


# --- stock -------------------------------------------------------------------------------------


def _item_types(
    items: Iterable[ErpItem], current: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    types = {sku: str(item.get("item_type") or "") for sku, item in current.items()}
    for item in items:
        if item.fields.get("item_type"):
            types[item.sku] = str(item.fields["item_type"])
    return types


def stock_location(row: ErpStock, types: Mapping[str, str]) -> str:
    if row.location:
        return row.location.upper()
    return FINISHED_GOODS if types.get(row.sku) == "finished" else RAW_MATERIAL


def _new_to_stock(rows: Iterable[ErpStock], state: PortalState) -> dict[str, Decimal]:
    """The items the ERP has stock rows for that the portal has no stock of yet, with their
    average cost: nothing held anywhere (any location, lot or status) and an average of 0, so
    never stock of any value (an item that had some keeps its last average). Their stock
    comes in as an opening balance."""
    stocked = {sku for (sku, _location), qty in state.stock.items() if qty != 0}
    new: dict[str, Decimal] = {}
    for row in rows:
        if row.sku in stocked or row.sku in new:
            continue
        current = state.items.get(row.sku)
        average = Decimal(str((current or {}).get("average_cost") or 0))
        if average == 0:
            new[row.sku] = average
    return new


def _stock_step(
    row: ErpStock,
    types: Mapping[str, str],
    stock: Mapping[tuple[str, str], Decimal],
    new_to_stock: Mapping[str, Decimal],
    standard_cost: Decimal | None,
) -> Step:
    location = stock_location(row, types)
    key = f"{row.sku} @ {location}"
    held = stock.get((row.sku, location), Decimal(0))
    delta = row.qty_on_hand - held
    if delta == 0:
        return Step("stock", key, Verdict.UNCHANGED, (_number(held),))
    body: dict[str, Any] = {
        "sku": row.sku,
        "location": location,
        "qty_delta": _json(delta),
        "reason_code": ADJUSTMENT_REASON,
        "notes": IMPORT_NOTE,
    }
    details: list[str | Text] = [_difference("qty_on_hand", held, row.qty_on_hand)]
    if row.sku in new_to_stock:
        # Without a cost the stock would come in at the new item's average, 0: undervalued, and
        # consumed at no cost later. With one it is an opening balance, not a gain of the period.
        if row.unit_cost is not None:
            body |= {"reason_code": OPENING_BALANCE_REASON, "unit_cost": _json(row.unit_cost)}
            details.append(
                _("opening balance at the ERP's unit cost, {cost}", cost=_number(row.unit_cost))
            )
        elif standard_cost is not None:
            body |= {"reason_code": OPENING_BALANCE_REASON, "unit_cost": _json(standard_cost)}
            details.append(
                _("opening balance at the ERP's standard cost, {cost}", cost=_number(standard_cost))
            )
        else:
            details.append(
                _(
                    "no unit cost in the ERP: valued at the portal's average cost, {cost}",
                    cost=_number(new_to_stock[row.sku]),
                )
            )
    return Step(
        "stock",
        key,
        Verdict.CHANGE,
        tuple(details),
        (ApiCall("inventory", "POST", "/api/v1/stock/adjustments", body),),
    )


# --- values ------------------------------------------------------------------------------------


def _segment(value: str) -> str:
    return quote(value, safe="")


def _json(value: Any) -> Any:
    """A value as the APIs take it: decimals as text (never floats), dates in ISO form."""
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _number(value: Decimal) -> str:
    """A decimal without trailing zeros: 5 rather than 5.0000, in plain notation."""
    text = format(value.normalize(), "f")
    return text


def _same(current: Any, erp: Any) -> bool:
    """Equal as values: the API's "5.0000" is the ERP's Decimal 5, its "2026-01-31" a date."""
    if isinstance(erp, bool) or isinstance(current, bool):
        return current is erp or current == erp
    if isinstance(erp, Decimal):
        try:
            return current is not None and Decimal(str(current)) == erp
        except ArithmeticError:
            return False
    if isinstance(erp, date):
        return current == erp.isoformat()
    if erp is None or current is None:
        return (erp or None) == (current or None)
    return bool(current == erp)


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return _number(Decimal(value)) if value and value[0].isdigit() else repr(value)
        except ArithmeticError:
            return repr(value)
    return str(value)


def _difference(name: str, old: Any, new: Any) -> str:
    return f"{name}: {_shown(old)} → {_shown(new)}"
