"""The ERP import's pure parts: what a mapping must return and how its values are read, which
ODBC driver is used, and what the plan does with what it finds (services/mrp/erp/)."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services import registry
from services.mrp.erp import runs, service
from services.mrp.erp.mapping import (
    ENTITIES,
    ITEMS,
    SALES_ORDERS,
    SHIPPED_MAPPINGS,
    STOCK,
    BadRows,
    BadValue,
    MissingColumn,
    convert,
    mapping_files,
    query_of,
    read_table,
)
from services.mrp.erp.odbc import ErpSourceProblem, choose_driver, connection_string
from services.mrp.erp.plan import PortalState, Verdict, plan
from services.mrp.erp.records import (
    ErpData,
    ErpItem,
    ErpOrderLine,
    ErpPurchaseOrder,
    ErpSalesOrder,
    ErpStock,
    collect,
)
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings

ITEM_COLUMNS = ("SKU", "NAME", "REORDER_POINT", "CUSTOMER_SUPPLIED")


# --- values -----------------------------------------------------------------------------------


def test_a_float_from_the_driver_becomes_the_decimal_it_was_written_as() -> None:
    reorder_point = ITEMS.column("reorder_point")
    assert reorder_point is not None
    assert convert(reorder_point, 0.1) == Decimal("0.1")
    assert str(convert(reorder_point, 0.1)) == "0.1000"
    assert convert(reorder_point, Decimal("2.500000")) == Decimal("2.5")
    assert convert(reorder_point, "  7 ") == Decimal(7)


def test_more_decimal_places_than_we_keep_is_refused_not_rounded() -> None:
    qty_per = SALES_ORDERS.column("qty_ordered")
    assert qty_per is not None
    with pytest.raises(BadValue, match=r"1.23456 has more than 4 decimal places"):
        convert(qty_per, Decimal("1.23456"))
    with pytest.raises(BadValue, match="is not more than zero"):
        convert(qty_per, 0)
    with pytest.raises(BadValue, match="'a lot' is not a number"):
        convert(qty_per, "a lot")


def test_text_is_trimmed_and_empty_text_is_no_value_which_a_required_column_refuses() -> None:
    sku, family = ITEMS.column("sku"), ITEMS.column("family")
    assert sku is not None and family is not None
    assert convert(sku, "BOX-S     ") == "BOX-S"
    assert convert(family, "   ") is None
    with pytest.raises(BadValue, match="is empty"):
        convert(sku, "  ")
    assert convert(sku, Decimal("1001.0000")) == "1001"


def test_flags_dates_and_codes_are_read_in_the_forms_erps_keep_them() -> None:
    flag = ITEMS.column("customer_supplied")
    due = SALES_ORDERS.column("due_date")
    item_type = ITEMS.column("item_type")
    assert flag is not None and due is not None and item_type is not None
    assert [convert(flag, value) for value in ("Y", "n", 1, 0, True, "false")] == [
        True,
        False,
        True,
        False,
        True,
        False,
    ]
    with pytest.raises(BadValue, match="is not yes or no"):
        convert(flag, "maybe")
    # A timestamp column comes from ODBC without a zone: its day is the day.
    assert convert(due, datetime(2026, 12, 15, 0, 0)) == date(2026, 12, 15)  # noqa: DTZ001
    assert convert(due, "2026-12-15 00:00:00") == date(2026, 12, 15)
    with pytest.raises(BadValue, match="is not a date"):
        convert(due, "15/12/2026")
    assert convert(item_type, "FINISHED") == "finished"
    with pytest.raises(BadValue, match="is not one of raw, component, finished, packaging"):
        convert(item_type, "FG")


# --- columns and rows --------------------------------------------------------------------------


def test_a_missing_column_is_named_with_the_file_and_the_columns_returned() -> None:
    with pytest.raises(MissingColumn) as refused:
        read_table(ITEMS, "items.sql", ("SKU", "DESCR", "UOM"), [])
    assert str(refused.value) == (
        "items.sql: the query returns no column 'name' (it returns: sku, descr, uom); "
        "name it with AS name"
    )


def test_bad_rows_are_each_named_by_file_row_and_column_and_nothing_is_taken() -> None:
    rows = [
        ("BOX-S", "Box", Decimal("1"), "N"),
        ("BOLT", "Bolt", Decimal("-1"), "N"),
        ("NUT", "Nut", 5, "perhaps"),
        ("BOX-S", "Box again", 0, "N"),
    ]
    with pytest.raises(BadRows) as refused:
        read_table(ITEMS, "items.sql", ITEM_COLUMNS, rows)
    assert [str(problem) for problem in refused.value.problems] == [
        "items.sql, row 2, column reorder_point: -1 is less than zero",
        "items.sql, row 3, column customer_supplied: 'perhaps' is not yes or no "
        "(Y/N, 1/0, true/false)",
        "items.sql, row 4, column sku: BOX-S is also on row 1",
    ]


def test_columns_not_ours_are_ignored_and_named() -> None:
    table = read_table(ITEMS, "items.sql", ("sku", "name", "colour"), [("A", "An A", "red")])
    assert table.ignored_columns == ("colour",)
    assert table.rows[0].values == {"sku": "A", "name": "An A"}


def test_the_lines_of_one_order_must_agree_on_its_customer() -> None:
    columns = ("so_ref", "customer_code", "line_no", "sku", "qty_ordered", "unit_price")
    table = read_table(
        SALES_ORDERS,
        "sales_orders.sql",
        columns,
        [("S1", "ACME", 1, "A", 1, 1), ("S1", "BETA", 2, "B", 1, 1)],
    )
    with pytest.raises(BadRows, match="row 2, column customer_code: 'BETA' differs from 'ACME'"):
        collect([table])


# --- files -------------------------------------------------------------------------------------


def test_every_shipped_mapping_documents_its_columns_in_its_header_and_returns_them() -> None:
    files, absent = mapping_files(SHIPPED_MAPPINGS)
    assert absent == []
    assert [file.entity for file in files] == list(ENTITIES)
    for file in files:
        text = file.path.read_text()
        header = text[: text.index("SELECT")]
        for column in file.entity.columns:
            assert re.search(rf"^--\s+{column.name}\b", header, re.MULTILINE), (
                f"{file.path.name} does not document {column.name}"
            )
        for required in file.entity.required:
            assert f"AS {required}" in file.sql, f"{file.path.name} does not return {required}"


def test_the_query_sent_is_the_file_without_its_header_and_final_semicolon() -> None:
    assert query_of("-- items\n--\n\nSELECT 1 AS sku;\n") == "SELECT 1 AS sku"


# --- ODBC drivers ------------------------------------------------------------------------------


def test_the_first_wanted_driver_that_is_installed_is_used() -> None:
    installed = ["SQLite3", "PostgreSQL Unicode"]
    assert choose_driver(["PostgreSQL ANSI", "postgresql unicode", "SQLite3"], installed) == (
        "PostgreSQL Unicode"
    )


def test_no_wanted_driver_installed_says_what_was_tried_and_what_is_there() -> None:
    with pytest.raises(ErpSourceProblem) as refused:
        choose_driver(["PostgreSQL Unicode", "ODBC Driver 18 for SQL Server"], ["SQLite3"])
    assert str(refused.value) == (
        "None of the ODBC drivers in PORTAL_ERP_ODBC_DRIVERS is installed: tried PostgreSQL "
        "Unicode, ODBC Driver 18 for SQL Server; installed: SQLite3."
    )


def test_the_postgresql_driver_is_told_to_refuse_writes_and_to_time_out() -> None:
    text = connection_string(
        "SERVER=erp;DATABASE=erp;", ["PostgreSQL Unicode"], ["PostgreSQL Unicode"], 30
    )
    assert text == (
        "DRIVER={PostgreSQL Unicode};SERVER=erp;DATABASE=erp;ReadOnly=1;"
        "pqopt={options=-cstatement_timeout=30000}"
    )
    sqlite = connection_string("DRIVER={SQLite3};Database=/srv/erp.db", [], [], 30)
    assert sqlite == "DRIVER={SQLite3};Database=/srv/erp.db"


# --- the plan ----------------------------------------------------------------------------------


def item_json(**changes: Any) -> dict[str, Any]:
    return {
        "sku": "BOX-S",
        "name": "Shipping box, small",
        "uom": "ea",
        "item_type": "packaging",
        "reorder_point": "5.0000",
        "family": None,
    } | changes


def test_an_item_equal_in_value_is_unchanged_and_a_renamed_one_is_patched_in_its_name_only() -> (
    None
):
    erp = ErpData(
        items=(
            ErpItem(
                "BOX-S",
                {"name": "Shipping box, small", "reorder_point": Decimal(5), "family": None},
            ),
            ErpItem("BOLT", {"name": "Bolt M6", "uom": None}),
        )
    )
    state = PortalState(items={"BOX-S": item_json(), "BOLT": item_json(sku="BOLT", name="Bolt")})
    unchanged, renamed = plan(erp, state)
    assert (unchanged.verdict, unchanged.calls) == (Verdict.UNCHANGED, ())
    assert renamed.verdict is Verdict.CHANGE
    [call] = renamed.calls
    assert (call.method, call.path, call.body) == (
        "PATCH",
        "/api/v1/items/BOLT",
        {"name": "Bolt M6"},
    )
    assert renamed.details == ("name: 'Bolt' → 'Bolt M6'",)


def sales_order(qty: str) -> ErpSalesOrder:
    return ErpSalesOrder(
        "S1001",
        "C-ACME",
        date(2026, 11, 2),
        True,
        None,
        (ErpOrderLine(10, "LAMP-1", Decimal(qty), Decimal("24.5"), date(2026, 12, 15)),),
    )


def so_json() -> dict[str, Any]:
    return {
        "so_number": "SO-2026-00001",
        "customer_code": "C-ACME",
        "status": "open",
        "external_ref": "S1001",
        "notes": "call before delivery",
        "contractual_penalty": True,
        "lines": [
            {
                "line_no": 1,
                "sku": "LAMP-1",
                "qty_ordered": "40.0000",
                "unit_price": "24.5000",
                "due_date": "2026-12-15",
                "business_unit": None,
            }
        ],
    }


def test_a_new_order_carries_the_erp_number_as_its_external_ref_and_the_erp_notes_as_is() -> None:
    order = sales_order("40")
    with_notes = dataclasses.replace(order, ref="S1002", notes="Dock 3 only")
    [plain, noted] = plan(ErpData(sales_orders=(order, with_notes)), PortalState())
    assert (plain.verdict, noted.verdict) == (Verdict.CREATE, Verdict.CREATE)
    [call] = plain.calls
    assert (call.service, call.method, call.path) == ("mrp", "POST", "/api/v1/sales-orders")
    assert call.body is not None
    assert call.body["external_ref"] == "S1001"
    assert "notes" not in call.body
    assert noted.calls[0].body is not None
    assert (noted.calls[0].body["external_ref"], noted.calls[0].body["notes"]) == (
        "S1002",
        "Dock 3 only",
    )


def test_an_imported_order_is_found_again_by_its_external_ref_whatever_its_notes_say() -> None:
    # A planner's notes, nothing of the ERP's number in them: the order is still the same one.
    [step] = plan(
        ErpData(sales_orders=(sales_order("40"),)), PortalState(sales_orders={"S1001": so_json()})
    )
    assert step.verdict is Verdict.UNCHANGED
    assert step.calls == ()


def test_a_purchase_order_is_made_with_its_erp_number_submitted_and_found_again_by_it() -> None:
    order = ErpPurchaseOrder(
        "P5001",
        "V-BOX",
        None,
        date(2026, 11, 3),
        "Deliver to dock 2",
        (ErpOrderLine(1, "BOX-S", Decimal(500), Decimal("0.415"), None),),
    )
    vendor, made = plan(ErpData(purchase_orders=(order,)), PortalState())
    assert (vendor.entity, made.verdict) == ("vendors", Verdict.CREATE)
    create, submit = made.calls
    assert create.body is not None
    assert (create.path, create.body["external_ref"], create.body["notes"]) == (
        "/api/v1/purchase-orders",
        "P5001",
        "Deliver to dock 2",
    )
    assert submit.path == "/api/v1/purchase-orders/{number}/submit"
    current = {
        "number": "PO-2026-00001",
        "vendor_code": "V-BOX",
        "status": "submitted",
        "external_ref": "P5001",
        "notes": "a buyer's own words",
        "lines": [
            {
                "line_no": 1,
                "sku": "BOX-S",
                "qty_ordered": "500.0000",
                "unit_cost": "0.4150",
                "due_date": None,
            }
        ],
    }
    [again] = plan(
        ErpData(purchase_orders=(order,)),
        PortalState(vendors=frozenset({"V-BOX"}), purchase_orders={"P5001": current}),
    )
    assert (again.verdict, again.calls) == (Verdict.UNCHANGED, ())


def test_an_order_whose_lines_changed_in_the_erp_is_held_not_applied() -> None:
    [step] = plan(
        ErpData(sales_orders=(sales_order("35"),)), PortalState(sales_orders={"S1001": so_json()})
    )
    assert step.verdict is Verdict.HELD
    assert step.calls == ()
    assert "SO-2026-00001 line 1 qty: 40 → 35" in step.details


def test_stock_is_adjusted_by_the_difference_at_the_location_of_the_item_type() -> None:
    erp = ErpData(
        items=(ErpItem("LAMP-1", {"name": "Lamp", "item_type": "finished"}),),
        stock=(ErpStock("LAMP-1", None, Decimal("4.5")), ErpStock("BOLT", "raw", Decimal(3))),
    )
    state = PortalState(
        items={"LAMP-1": item_json(sku="LAMP-1", name="Lamp", item_type="finished")},
        stock={("LAMP-1", "FG"): Decimal(7), ("BOLT", "RAW"): Decimal(3)},
    )
    _item, lamp, bolt = plan(erp, state)
    assert (lamp.key, lamp.verdict) == ("LAMP-1 @ FG", Verdict.CHANGE)
    assert lamp.calls[0].body == {
        "sku": "LAMP-1",
        "location": "FG",
        "qty_delta": "-2.5",
        "reason_code": "count_correction",
        "notes": "ERP import",
    }
    assert (bolt.key, bolt.verdict) == ("BOLT @ RAW", Verdict.UNCHANGED)


# --- the schedule ------------------------------------------------------------------------------


async def test_a_scheduled_import_goes_on_after_a_failed_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcomes: list[Any] = [RuntimeError("ERP down"), service.ImportResult(7, False, ok=True)]
    slept: list[float] = []

    async def one_import(*_args: Any, **_kwargs: Any) -> service.ImportResult:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(service, "import_from_erp", one_import)
    results = await service.import_every(None, 900, runs_wanted=2, sleep=sleep)  # type: ignore[arg-type]
    assert [(result.run_id, result.ok) for result in results] == [(None, False), (7, True)]
    assert slept == [900]


# --- opening stock ----------------------------------------------------------------------------


def stock_plan(erp: ErpData, state: PortalState) -> dict[str, Any]:
    """The stock steps by key: (verdict, the adjustment's body, the details as printed)."""
    return {
        step.key: (
            step.verdict,
            dict(step.calls[0].body or {}) if step.calls else None,
            "; ".join(str(d) for d in step.details),
        )
        for step in plan(erp, state)
        if step.entity == "stock"
    }


def test_stock_of_an_item_new_to_stock_is_its_opening_balance_at_the_erps_cost() -> None:
    erp = ErpData(
        items=(
            ErpItem("RESIN", {"name": "Resin"}, standard_cost=Decimal("3.0000")),
            ErpItem("LAMP-1", {"name": "Lamp", "item_type": "finished"}, Decimal("17.5000")),
            ErpItem("KIT", {"name": "Kit", "customer_supplied": True}, Decimal(0)),
        ),
        stock=(
            ErpStock("RESIN", None, Decimal("12.5"), unit_cost=Decimal("3.0500")),
            ErpStock("LAMP-1", None, Decimal(7)),  # no unit cost: the standard cost
            ErpStock("KIT", None, Decimal(30)),  # customer-supplied: a stated cost of 0
        ),
    )
    steps = stock_plan(erp, PortalState())
    resin, lamp, kit = steps["RESIN @ RAW"], steps["LAMP-1 @ FG"], steps["KIT @ RAW"]
    assert resin[1] == {
        "sku": "RESIN",
        "location": "RAW",
        "qty_delta": "12.5",
        "reason_code": "opening_balance",
        "unit_cost": "3.05",
        "notes": "ERP import",
    }
    assert resin[2] == "qty_on_hand: 0 → 12.5; opening balance at the ERP's unit cost, 3.05"
    assert (lamp[1]["reason_code"], lamp[1]["unit_cost"]) == ("opening_balance", "17.5")
    assert lamp[2].endswith("opening balance at the ERP's standard cost, 17.5")
    assert (kit[1]["reason_code"], kit[1]["unit_cost"]) == ("opening_balance", "0")


def test_opening_stock_without_any_cost_in_the_erp_is_said_to_be_valued_at_the_average() -> None:
    erp = ErpData(
        items=(ErpItem("BOLT", {"name": "Bolt"}),),
        stock=(ErpStock("BOLT", None, Decimal(40)),),
    )
    [(verdict, body, details)] = stock_plan(erp, PortalState()).values()
    assert verdict is Verdict.CHANGE
    assert body is not None and "unit_cost" not in body
    assert body["reason_code"] == "count_correction"
    assert details == (
        "qty_on_hand: 0 → 40; no unit cost in the ERP: valued at the portal's average cost, 0"
    )


def test_an_item_in_two_locations_opens_both_and_later_differences_are_count_corrections() -> None:
    erp = ErpData(
        stock=(
            ErpStock("BOX-S", "RAW", Decimal(200), Decimal("0.41")),
            ErpStock("BOX-S", "FG", Decimal(50), Decimal("0.41")),
        )
    )
    opening = stock_plan(erp, PortalState(items={"BOX-S": item_json(average_cost="0.0000")}))
    assert {key: body["reason_code"] for key, (_v, body, _d) in opening.items() if body} == {
        "BOX-S @ RAW": "opening_balance",
        "BOX-S @ FG": "opening_balance",
    }
    # The portal holds some of it (at another location): a difference, at the average.
    later = stock_plan(
        erp,
        PortalState(
            items={"BOX-S": item_json(average_cost="0.4100")},
            stock={("BOX-S", "RAW"): Decimal(200)},
        ),
    )
    assert later["BOX-S @ RAW"][0] is Verdict.UNCHANGED
    [_verdict, body, details] = later["BOX-S @ FG"]
    assert body is not None
    assert (body["reason_code"], "unit_cost" in body) == ("count_correction", False)
    assert details == "qty_on_hand: 0 → 50"
    # All used up, but it had stock of value (its average is kept): a count correction too.
    used_up = stock_plan(erp, PortalState(items={"BOX-S": item_json(average_cost="0.4100")}))
    assert {body["reason_code"] for _v, body, _d in used_up.values() if body} == {
        "count_correction"
    }


def test_the_standard_cost_is_read_but_never_sent_as_a_field_of_the_item() -> None:
    table = read_table(
        ITEMS, "items.sql", ("sku", "name", "standard_cost"), [("BOX-S", "Box", 0.41)]
    )
    [item] = collect([table]).items
    assert (item.fields, item.standard_cost) == ({"name": "Box"}, Decimal("0.41"))
    [create] = plan(ErpData(items=(item,)), PortalState())
    assert create.calls[0].body == {"sku": "BOX-S", "name": "Box"}


def test_the_stock_mappings_unit_cost_is_an_amount_of_zero_or_more() -> None:
    columns = ("sku", "qty_on_hand", "unit_cost")
    table = read_table(STOCK, "stock.sql", columns, [("A", 1, "2.5"), ("B", 1, None)])
    assert [row.unit_cost for row in collect([table]).stock] == [Decimal("2.5"), None]
    with pytest.raises(BadRows, match="row 1, column unit_cost: -1 is less than zero"):
        read_table(STOCK, "stock.sql", columns, [("A", 1, -1)])


# --- the run log -------------------------------------------------------------------------------


def test_an_import_does_not_start_while_another_is_applying_but_a_dry_run_may(
    tmp_path: Path,
) -> None:
    mrp = ServiceRuntime(
        registry.definition("mrp"), Settings(var_dir=tmp_path), InProcessBus(), token_secret="s"
    )
    mrp.migrate()
    first = runs.start_run(mrp.uow, dry_run=False, requested_by="erp-import")
    with pytest.raises(runs.AnotherImportRunning, match=f"Import {first} \\(by erp-import"):
        runs.start_run(mrp.uow, dry_run=False, requested_by="lucia")
    dry = runs.start_run(mrp.uow, dry_run=True, requested_by="lucia")
    runs.finish_run(mrp.uow, first, status="done", summary={"entities": {"items": {"create": 1}}})
    again = runs.start_run(mrp.uow, dry_run=False, requested_by="lucia")
    logged = runs.recent_runs(mrp.uow)
    assert [(run.id, run.status, run.dry_run) for run in logged] == [
        (again, "running", False),
        (dry, "running", True),
        (first, "done", False),
    ]
    assert logged[2].summary == {"entities": {"items": {"create": 1}}}
    mrp.db.dispose()


def test_a_line_number_no_document_has_is_refused_naming_file_row_and_column() -> None:
    columns = [column.name for column in SALES_ORDERS.columns]
    row = {name: None for name in columns} | {
        "so_ref": "S1",
        "customer_code": "C1",
        "line_no": Decimal("1E+400"),
        "sku": "BOX-S",
        "qty_ordered": Decimal(1),
        "unit_price": Decimal(1),
    }
    with pytest.raises(BadRows) as refused:
        read_table(SALES_ORDERS, "sales_orders.sql", columns, [tuple(row[n] for n in columns)])
    (problem,) = refused.value.problems
    assert str(problem).startswith("sales_orders.sql, row 1, column line_no: "), str(problem)
    assert "is more than 99999" in str(problem)
