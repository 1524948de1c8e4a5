"""The ERP's data as the import works on it: items, BOMs, customers, open orders and stock.

`mapping.py` turns each file's rows into our values; this module groups the rows of one BOM or
one order together and checks what must agree between them (an order's customer on each of its
lines, a BOM's output quantity). Plain values, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from services.mrp.erp.mapping import (
    BOMS,
    CUSTOMERS,
    ITEMS,
    PURCHASE_ORDERS,
    SALES_ORDERS,
    STOCK,
    BadRows,
    ErpRow,
    ErpTable,
    RowProblem,
)
from shared.i18n import _


@dataclass(frozen=True)
class ErpItem:
    sku: str
    # Every other column the mapping returned that is a field of the portal's item, by our name
    # (None: the ERP has no value).
    fields: Mapping[str, Any]
    # The ERP's standard unit cost: values the item's opening stock when the stock mapping
    # gives no unit cost. Not a field of the portal's item (its cost is the moving average).
    standard_cost: Decimal | None = None


@dataclass(frozen=True)
class ErpBomLine:
    component_sku: str
    qty_per: Decimal
    scrap_pct: Decimal
    uom: str | None
    line_no: int | None


@dataclass(frozen=True)
class ErpBom:
    parent_sku: str
    output_qty: Decimal
    lines: tuple[ErpBomLine, ...]


@dataclass(frozen=True)
class ErpCustomer:
    code: str
    name: str
    priority: int | None


@dataclass(frozen=True)
class ErpOrderLine:
    line_no: int
    sku: str
    qty: Decimal
    # The unit price of a sales order line, the unit cost of a purchase order line.
    price: Decimal
    due_date: date | None
    business_unit: str | None = None


@dataclass(frozen=True)
class ErpSalesOrder:
    ref: str
    customer_code: str
    order_date: date | None
    # None: the mapping does not say (the portal's value is kept).
    contractual_penalty: bool | None
    notes: str | None
    lines: tuple[ErpOrderLine, ...]


@dataclass(frozen=True)
class ErpPurchaseOrder:
    ref: str
    vendor_code: str
    vendor_name: str | None
    order_date: date | None
    notes: str | None
    lines: tuple[ErpOrderLine, ...]


@dataclass(frozen=True)
class ErpStock:
    sku: str
    location: str | None
    qty_on_hand: Decimal
    # What one unit is worth in the ERP (None: the mapping gives no cost).
    unit_cost: Decimal | None = None


@dataclass(frozen=True)
class ErpData:
    """Everything read from the ERP; `read` names the entities whose file exists (an entity
    without a mapping file is not imported, which is not the same as the ERP having none)."""

    read: frozenset[str] = frozenset()
    items: tuple[ErpItem, ...] = ()
    boms: tuple[ErpBom, ...] = ()
    customers: tuple[ErpCustomer, ...] = ()
    sales_orders: tuple[ErpSalesOrder, ...] = ()
    purchase_orders: tuple[ErpPurchaseOrder, ...] = ()
    stock: tuple[ErpStock, ...] = ()
    ignored_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def collect(tables: Iterable[ErpTable]) -> ErpData:
    """Group the tables' rows into records; `BadRows` when rows of one order or BOM disagree."""
    by_name = {table.entity.name: table for table in tables}
    problems: list[RowProblem] = []

    def rows(name: str) -> tuple[ErpRow, ...]:
        table = by_name.get(name)
        return table.rows if table is not None else ()

    data = ErpData(
        read=frozenset(by_name),
        items=tuple(_item(row) for row in rows(ITEMS.name)),
        boms=_boms(rows(BOMS.name), problems),
        customers=tuple(
            ErpCustomer(row["code"], row["name"], row["priority"]) for row in rows(CUSTOMERS.name)
        ),
        sales_orders=_sales_orders(rows(SALES_ORDERS.name), problems),
        purchase_orders=_purchase_orders(rows(PURCHASE_ORDERS.name), problems),
        stock=tuple(
            ErpStock(row["sku"], row["location"], row["qty_on_hand"], row["unit_cost"])
            for row in rows(STOCK.name)
        ),
        ignored_columns={
            table.file: table.ignored_columns for table in by_name.values() if table.ignored_columns
        },
    )
    if problems:
        raise BadRows(problems)
    return data


# Columns of the items mapping that are not fields of the portal's item.
NOT_ITEM_FIELDS = frozenset({"sku", "standard_cost"})


def _item(row: ErpRow) -> ErpItem:
    return ErpItem(
        row["sku"],
        {k: v for k, v in row.values.items() if k not in NOT_ITEM_FIELDS},
        row["standard_cost"],
    )


def _grouped(rows: Iterable[ErpRow], key: str) -> dict[str, list[ErpRow]]:
    groups: dict[str, list[ErpRow]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def _agreed(group: list[ErpRow], column: str, problems: list[RowProblem], key: str) -> Any:
    """The value every row of the group gives `column`; a problem for each row that differs."""
    first = group[0]
    for row in group[1:]:
        if row[column] != first[column]:
            problems.append(
                RowProblem(
                    row.file,
                    row.number,
                    column,
                    _(
                        "'{value}' differs from '{first}' on row {row} of {key}",
                        value=row[column],
                        first=first[column],
                        row=first.number,
                        key=key,
                    ),
                )
            )
    return first[column]


def _boms(rows: Iterable[ErpRow], problems: list[RowProblem]) -> tuple[ErpBom, ...]:
    boms = []
    for parent, group in _grouped(rows, "parent_sku").items():
        output_qty = _agreed(group, "output_qty", problems, parent)
        boms.append(
            ErpBom(
                parent,
                output_qty if output_qty is not None else Decimal(1),
                tuple(
                    ErpBomLine(
                        row["component_sku"],
                        row["qty_per"],
                        row["scrap_pct"] if row["scrap_pct"] is not None else Decimal(0),
                        row["uom"],
                        row["line_no"],
                    )
                    for row in sorted(group, key=_line_order)
                ),
            )
        )
    return tuple(boms)


def _line_order(row: ErpRow) -> tuple[int, int]:
    """By the ERP's line number, rows without one after, in the order the query gave them."""
    line_no = row["line_no"]
    return (line_no if line_no is not None else 1 << 62, row.number)


def _order_lines(group: list[ErpRow], price: str) -> tuple[ErpOrderLine, ...]:
    return tuple(
        ErpOrderLine(
            row["line_no"],
            row["sku"],
            row["qty_ordered"],
            row[price],
            row["due_date"],
            row["business_unit"],
        )
        for row in sorted(group, key=_line_order)
    )


def _sales_orders(rows: Iterable[ErpRow], problems: list[RowProblem]) -> tuple[ErpSalesOrder, ...]:
    orders = []
    for ref, group in _grouped(rows, "so_ref").items():

        def agreed(column: str, group: list[ErpRow] = group, ref: str = ref) -> Any:
            return _agreed(group, column, problems, ref)

        orders.append(
            ErpSalesOrder(
                ref,
                agreed("customer_code"),
                agreed("order_date"),
                agreed("contractual_penalty") if group[0].has("contractual_penalty") else None,
                agreed("notes"),
                _order_lines(group, "unit_price"),
            )
        )
    return tuple(orders)


def _purchase_orders(
    rows: Iterable[ErpRow], problems: list[RowProblem]
) -> tuple[ErpPurchaseOrder, ...]:
    orders = []
    for ref, group in _grouped(rows, "po_ref").items():

        def agreed(column: str, group: list[ErpRow] = group, ref: str = ref) -> Any:
            return _agreed(group, column, problems, ref)

        orders.append(
            ErpPurchaseOrder(
                ref,
                agreed("vendor_code"),
                agreed("vendor_name"),
                agreed("order_date"),
                agreed("notes"),
                _order_lines(group, "unit_cost"),
            )
        )
    return tuple(orders)
