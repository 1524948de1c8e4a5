"""The event catalogue (DESIGN §3): payload contracts, decimal handling, JSON Schema export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events.catalogue import (
    CATALOGUE,
    EventPayload,
    JournalPosted,
    MaterialReceived,
    PrintCompleted,
    UnknownEventType,
    parse_payload,
    payload_model,
    validate_payload,
)
from shared.events.envelope import Envelope
from shared.events.schema import catalogue_json_schema, write_json_schema

# Every event type DESIGN §3 names (the table, the read-model row, and the types the services
# table in §2 says are published).
DESIGN_EVENT_TYPES = [
    "MaterialReceived",
    "ProductionStarted",
    "MaterialIssued",
    "PrintCompleted",
    "QCPassed",
    "OrderShipped",
    "StockAdjusted",
    "PaymentReceived",
    "VendorPaymentMade",
    "VendorBillApproved",
    "StockChanged",
    "ItemUpserted",
    "BomReleased",
    "LineUpserted",
    "CapacityChanged",
    "PurchaseOrderChanged",
    "ProductionOrderChanged",
    "SalesOrderChanged",
    "DowntimeRecorded",
    "JournalPosted",
    "FinishedGoodsReceived",
    "ReprintCreated",
    # Inventory's valued counterparts of QC decisions and de-issues (issue 6).
    "FinishedGoodsInspected",
    "MaterialReturned",
    # The gateway keeps the audit log of user actions (§2); every service reports its changes.
    "AuditRecorded",
    # A planner's saved projection cell, for the gateway's open scheduling grids (docs/mrp.md).
    "ScheduleProjectionChanged",
]

T0 = "2025-03-04T08:15:00Z"
T1 = "2025-03-04T10:45:00Z"

# One valid payload per event type, written as a producer would send it (decimal strings).
SAMPLES: dict[str, dict[str, Any]] = {
    "MaterialReceived": {
        "po_number": "PO-1001",
        "line_no": 1,
        "receipt_id": "RC-77",
        "sku": "PLA-BLK-1KG",
        "qty": "10.5",
        "unit_cost": "18.2500",
        "value": "191.63",
        "lot": "L2025-031",
        "to_status": "pending_qc",
        "vendor_code": "V-ACME",
        "received_at": T0,
    },
    "ProductionStarted": {
        "order_code": "MO-500",
        "sku": "WIDGET-A",
        "qty": "100",
        "bom_version": 3,
        "components": [
            {"sku": "PLA-BLK-1KG", "qty": "2.35"},
            {"sku": "BOX-S", "qty": "100", "lot": "B-9"},
        ],
        "line_code": "PRN-01",
        "so_number": "SO-42",
        "started_at": T0,
    },
    "MaterialIssued": {
        "order_code": "MO-500",
        "sku": "PLA-BLK-1KG",
        "qty": "2.35",
        "unit_cost": "18.2500",
        "value": "42.8875",
        "lot": "L2025-031",
        "from_location": "RAW",
        "issued_at": T0,
    },
    "PrintCompleted": {
        "order_code": "MO-500",
        "run_id": "RUN-1",
        "sku": "WIDGET-A",
        "qty_good": "96",
        "qty_bad": "4",
        "scrap_reason_code": "WARP",
        "requires_qc": True,
        "line_code": "PRN-01",
        "started_at": T0,
        "completed_at": T1,
    },
    "QCPassed": {
        "qc_record_id": "QC-9",
        "order_code": "MO-500",
        "run_id": "RUN-1",
        "sku": "WIDGET-A",
        "qty_passed": "94",
        "qty_failed": "2",
        "reason_code": "DIM",
        "reprint_order_code": "MO-501",
        "inspected_at": T1,
    },
    "OrderShipped": {
        "shipment_id": "SH-3",
        "so_number": "SO-42",
        "customer_code": "C-BIGCO",
        "business_unit": "PRINT",
        "lines": [
            {
                "line_no": 1,
                "sku": "WIDGET-A",
                "qty": "94",
                "unit_cost": "0.4700",
                "unit_price": "1.25",
                "cost_value": "44.18",
                "sales_value": "117.50",
            }
        ],
        "shipped_at": T1,
    },
    "StockAdjusted": {
        "adjustment_id": "ADJ-1",
        "sku": "BOX-S",
        "location": "RAW",
        "qty_delta": "-3",
        "value_delta": "-0.36",
        "reason_code": "COUNT",
        "reason": "cycle count",
        "adjusted_at": T0,
    },
    "PaymentReceived": {
        "payment_id": "PAY-1",
        "so_number": "SO-42",
        "customer_code": "C-BIGCO",
        "amount": "117.50",
        "received_at": T1,
        "reference": "wire 7781",
    },
    "VendorPaymentMade": {
        "payment_id": "VP-1",
        "vendor_code": "V-ACME",
        "bill_number": "BILL-8",
        "amount": "191.63",
        "paid_at": T1,
    },
    "VendorBillApproved": {
        "bill_number": "BILL-8",
        "vendor_code": "V-ACME",
        "vendor_invoice_ref": "INV-2231",
        "po_number": "PO-1001",
        "bill_date": "2025-03-05",
        "due_date": "2025-04-04",
        "amount": "191.63",
        "lines": [
            {
                "line_no": 1,
                "po_line_no": 1,
                "sku": "PLA-BLK-1KG",
                "qty": "10.5",
                "unit_cost": "18.2500",
                "amount": "191.63",
            }
        ],
        "approved_at": T1,
    },
    "StockChanged": {
        "sku": "PLA-BLK-1KG",
        "on_hand": "8.15",
        "available": "5.00",
        "allocated": "3.15",
        "pending_qc": "10.5",
        "wip": "2.35",
        "open_reservations": "3.15",
        "average_cost": "18.2500",
    },
    "ItemUpserted": {
        "sku": "PLA-BLK-1KG",
        "name": "PLA filament, black, 1 kg",
        "uom": "kg",
        "item_type": "raw",
        "make_or_buy": "buy",
        "customer_supplied": False,
        "reorder_point": "20",
        "reorder_qty": "50",
        "average_cost": "18.2500",
        "active": True,
    },
    "BomReleased": {
        "sku": "WIDGET-A",
        "bom_version": 3,
        "output_qty": "1",
        "lines": [
            {"line_no": 1, "component_sku": "PLA-BLK-1KG", "qty_per": "0.0235"},
            {"line_no": 2, "component_sku": "BOX-S", "qty_per": "1", "scrap_pct": "2"},
        ],
        "effective_from": "2025-03-01",
        "released_at": T0,
    },
    "LineUpserted": {
        "line_code": "PRN-01",
        "name": "Printer bank 1",
        "facility_code": "PLANT-1",
        "timezone": "America/Mexico_City",
        "line_type": "printer",
        "tooling_type": "FDM-0.4",
        "allergen_status": "allergen_free",
        "speed_modifier": "1.25",
        "active": True,
    },
    "CapacityChanged": {
        "line_code": "PRN-01",
        "facility_code": "PLANT-1",
        "capacities": [
            {"sku": "WIDGET-1", "units_per_shift": "480", "effective_from": "2025-03-01"},
            {"family": "HOOKS", "units_per_shift": "350.5", "effective_from": "2025-03-01"},
            {"units_per_shift": "300", "effective_from": "2025-01-01"},
        ],
    },
    "PurchaseOrderChanged": {
        "po_number": "PO-1001",
        "vendor_code": "V-ACME",
        "status": "partial",
        "order_date": "2025-02-20",
        "lines": [
            {
                "line_no": 1,
                "sku": "PLA-BLK-1KG",
                "qty_ordered": "20",
                "qty_received": "10.5",
                "unit_cost": "18.2500",
                "due_date": "2025-03-01",
            },
            {"line_no": 2, "sku": "BOX-S", "qty_ordered": "500", "unit_cost": "0.12"},
        ],
    },
    "ProductionOrderChanged": {
        "order_code": "MO-500",
        "sku": "WIDGET-A",
        "order_type": "mto",
        "status": "in_progress",
        "qty_ordered": "100",
        "qty_to_make": "102",
        "priority": "high",
        "reprint_of": "MO-499",
        "root_order_code": "MO-480",
        "reprint_seq": 2,
        "qty_good": "96",
        "qty_scrapped": "4",
        "so_number": "SO-42",
        "so_line_no": 1,
        "bom_version": 3,
        "line_code": "PRN-01",
        "planned_start": T0,
        "due_date": "2025-03-10",
    },
    "SalesOrderChanged": {
        "so_number": "SO-42",
        "customer_code": "C-BIGCO",
        "status": "open",
        "order_date": "2025-02-15",
        "business_unit": "PRINT",
        "lines": [
            {
                "line_no": 1,
                "sku": "WIDGET-A",
                "qty_ordered": "100",
                "qty_shipped": "0",
                "unit_price": "1.25",
                "due_date": "2025-03-10",
            }
        ],
    },
    "ScheduleProjectionChanged": {
        "so_number": "SO-42",
        "line_no": 1,
        "row_version": 3,
        "low_risk_qty": "60",
        "high_risk_qty": "12.5",
        "updated_by": "paula",
        "updated_at": T1,
    },
    "DowntimeRecorded": {
        "downtime_id": "DT-12",
        "line_code": "PRN-01",
        "facility_code": "PLANT-1",
        "reason_code": "MECH-NOZZLE",
        "planned": False,
        "started_at": T0,
        "ended_at": T1,
        "production_day": "2025-03-04",
        "shift_code": "A",
        "order_code": "MO-500",
        "notes": "clogged nozzle",
    },
    "JournalPosted": {
        "entry_number": "JE-000123",
        "entry_date": "2025-03-04",
        "entry_type": "auto",
        "memo": "Receipt RC-77 on PO-1001",
        "source_event_id": "6f1c1d7e-2f7b-4d51-9c55-0b8f2b0e9a10",
        "document_ref": "RC-77",
        "lines": [
            {"account_code": "1200", "debit": "191.63", "dimensions": {"sku": "PLA-BLK-1KG"}},
            {"account_code": "2000", "credit": "191.63", "dimensions": {"vendor": "V-ACME"}},
        ],
    },
    "FinishedGoodsReceived": {
        "order_code": "MO-500",
        "run_id": "RUN-1",
        "sku": "WIDGET-A",
        "qty_good": "96",
        "qty_bad": "4",
        "unit_cost": "0.4700",
        "value_good": "45.12",
        "value_bad": "1.88",
        "to_status": "pending_qc",
        "received_at": T1,
    },
    "FinishedGoodsInspected": {
        "qc_record_id": "QC-7",
        "order_code": "MO-500",
        "sku": "WIDGET-A",
        "qty_passed": "90",
        "qty_failed": "6",
        "unit_cost": "0.4700",
        "value_passed": "42.30",
        "value_failed": "2.82",
        "reason_code": "QC-SURFACE",
        "lot": "MO-500",
        "inspected_at": T1,
    },
    "MaterialReturned": {
        "order_code": "MO-500",
        "sku": "PLA-BLK-1KG",
        "qty": "1.5",
        "unit_cost": "18.25",
        "value": "27.375",
        "lot": "L-1",
        "to_location": "RAW",
        "returned_at": T1,
    },
    "ReprintCreated": {
        "order_code": "MO-501",
        "original_order_code": "MO-500",
        "root_order_code": "MO-500",
        "sku": "WIDGET-A",
        "qty": "2",
        "reason_code": "DIM",
        "qc_record_id": "QC-9",
        "created_at": T1,
    },
    "AuditRecorded": {
        "service": "purchasing",
        "actor": "maria",
        "actor_name": "María López",
        "ip": "10.0.4.17",
        "action": "purchasing.orders.submit",
        "entity_type": "purchase_order",
        "entity_id": "PO-2025-00001",
        "before": {"status": "draft", "total": "25.00"},
        "after": {"status": "submitted", "total": "25.00"},
        "request_id": "req-1",
        "correlation_id": "req-1",
        "at": T1,
    },
}

ALL_TYPES = sorted(CATALOGUE)
# AuditRecorded carries before/after as JSON, decimals already strings in them.
TYPES_WITHOUT_DECIMALS = {"DowntimeRecorded", "AuditRecorded"}


def _required_fields(event_type: str) -> list[str]:
    return [name for name, f in payload_model(event_type).model_fields.items() if f.is_required()]


def _error_locs(exc: ValidationError) -> list[tuple[int | str, ...]]:
    return [tuple(err["loc"]) for err in exc.errors()]


# --- the catalogue itself --------------------------------------------------------------------


def test_catalogue_holds_every_design_event_type() -> None:
    assert len(DESIGN_EVENT_TYPES) == len(set(DESIGN_EVENT_TYPES))
    assert set(CATALOGUE) == set(DESIGN_EVENT_TYPES)


def test_every_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(CATALOGUE)


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_model_declares_its_type_and_version(event_type: str) -> None:
    model = CATALOGUE[event_type]
    assert issubclass(model, EventPayload)
    assert model.event_type == event_type == model.__name__
    assert isinstance(model.version, int) and model.version >= 1
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("frozen") is True


def test_payload_model_lookup_and_unknown_type() -> None:
    assert payload_model("MaterialReceived") is MaterialReceived
    with pytest.raises(UnknownEventType) as info:
        payload_model("MaterialTeleported")
    assert isinstance(info.value, KeyError)
    assert "MaterialTeleported" in str(info.value)
    with pytest.raises(UnknownEventType):
        validate_payload("MaterialTeleported", {})


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_round_trip(event_type: str) -> None:
    model = payload_model(event_type)
    original = model.model_validate(SAMPLES[event_type])

    as_json_dict = validate_payload(event_type, SAMPLES[event_type])
    assert json.loads(json.dumps(as_json_dict)) == as_json_dict  # plain JSON types only
    assert model.model_validate(as_json_dict) == original
    assert model.model_validate_json(original.model_dump_json()) == original
    assert validate_payload(event_type, original) == as_json_dict
    assert validate_payload(event_type, as_json_dict) == as_json_dict  # idempotent


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_round_trip_through_envelope_bytes(event_type: str) -> None:
    payload = validate_payload(event_type, SAMPLES[event_type])
    model = payload_model(event_type)
    envelope = Envelope(
        type=event_type, version=model.version, producer="test", key="k", payload=payload
    )
    received = Envelope.from_bytes(envelope.to_bytes())
    assert received == envelope
    parsed = parse_payload(received.type, received.payload)
    assert parsed == model.model_validate(SAMPLES[event_type])


def test_parse_payload_refuses_an_instance_of_another_type() -> None:
    received = MaterialReceived.model_validate(SAMPLES["MaterialReceived"])
    with pytest.raises(TypeError):
        validate_payload("MaterialIssued", received)


def test_payloads_are_frozen() -> None:
    received = MaterialReceived.model_validate(SAMPLES["MaterialReceived"])
    with pytest.raises(ValidationError):
        received.qty = Decimal(1)  # type: ignore[misc]


# --- decimals --------------------------------------------------------------------------------


def _assert_decimals_are_strings(python: Any, as_json: Any, path: str) -> int:
    """Walk the python-mode and JSON-mode dumps together; count decimals found."""
    if isinstance(python, Decimal):
        assert isinstance(as_json, str), f"{path} serialized as {type(as_json).__name__}"
        assert Decimal(as_json) == python
        return 1
    assert not isinstance(as_json, float), f"{path} is a float"
    if isinstance(python, dict):
        return sum(
            _assert_decimals_are_strings(v, as_json[k], f"{path}.{k}") for k, v in python.items()
        )
    if isinstance(python, list | tuple):
        return sum(
            _assert_decimals_are_strings(v, j, f"{path}[{i}]")
            for i, (v, j) in enumerate(zip(python, as_json, strict=True))
        )
    return 0


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_decimals_serialize_as_strings(event_type: str) -> None:
    instance = payload_model(event_type).model_validate(SAMPLES[event_type])
    found = _assert_decimals_are_strings(
        instance.model_dump(), instance.model_dump(mode="json"), event_type
    )
    assert (found == 0) == (event_type in TYPES_WITHOUT_DECIMALS)

    def no_floats(text: str) -> float:
        raise AssertionError(f"float {text} in {event_type} JSON")

    json.loads(instance.model_dump_json(), parse_float=no_floats)


def test_decimal_strings_keep_exact_precision() -> None:
    # 0.1 + 0.2 == 0.3 exactly: the entry balances only if nothing went through a float.
    entry = JournalPosted.model_validate(
        {
            "entry_number": "JE-1",
            "entry_date": "2025-03-04",
            "entry_type": "manual",
            "lines": [
                {"account_code": "1200", "debit": "0.1"},
                {"account_code": "1210", "debit": "0.2"},
                {"account_code": "2000", "credit": "0.3"},
            ],
        }
    )
    debits = sum((line.debit for line in entry.lines), Decimal(0))
    assert debits == Decimal("0.3")
    assert [line["debit"] for line in entry.model_dump(mode="json")["lines"]] == ["0.1", "0.2", "0"]

    big = "12345678901234567890.123456789"
    received = MaterialReceived.model_validate(
        {**SAMPLES["MaterialReceived"], "qty": big, "unit_cost": "0.10"}
    )
    dumped = received.model_dump(mode="json")
    assert dumped["qty"] == big
    assert dumped["unit_cost"] == "0.10"  # trailing zero kept


def test_decimal_output_is_plain_notation() -> None:
    received = MaterialReceived.model_validate({**SAMPLES["MaterialReceived"], "qty": "1E+2"})
    assert received.model_dump(mode="json")["qty"] == "100"


def test_ints_and_decimals_are_accepted() -> None:
    dumped = validate_payload(
        "MaterialReceived",
        {**SAMPLES["MaterialReceived"], "qty": 10, "unit_cost": Decimal("2.5"), "value": "25"},
    )
    assert (dumped["qty"], dumped["unit_cost"], dumped["value"]) == ("10", "2.5", "25")


@pytest.mark.parametrize("bad", [0.1, 10.0, True, "NaN", "Infinity", "ten", ""])
def test_floats_and_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        MaterialReceived.model_validate({**SAMPLES["MaterialReceived"], "qty": bad})
    assert ("qty",) in _error_locs(info.value)


def test_json_number_with_fraction_is_refused() -> None:
    body = json.dumps({**SAMPLES["MaterialReceived"], "qty": "__QTY__"}).replace('"__QTY__"', "0.1")
    with pytest.raises(ValidationError) as info:
        MaterialReceived.model_validate_json(body)
    assert ("qty",) in _error_locs(info.value)
    assert "decimal string" in str(info.value)


# --- strictness ------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_extra_fields_are_refused(event_type: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_payload(event_type, {**SAMPLES[event_type], "surprise": "x"})
    errors = info.value.errors()
    assert [(e["type"], e["loc"]) for e in errors] == [("extra_forbidden", ("surprise",))]


def test_extra_fields_are_refused_in_nested_lines() -> None:
    sample = SAMPLES["PurchaseOrderChanged"]
    lines = [{**sample["lines"][0], "colour": "black"}, sample["lines"][1]]
    with pytest.raises(ValidationError) as info:
        validate_payload("PurchaseOrderChanged", {**sample, "lines": lines})
    assert ("lines", 0, "colour") in _error_locs(info.value)


@pytest.mark.parametrize(
    ("event_type", "field"),
    [(t, f) for t in ALL_TYPES for f in _required_fields(t)],
)
def test_missing_required_field_is_named(event_type: str, field: str) -> None:
    payload = {k: v for k, v in SAMPLES[event_type].items() if k != field}
    with pytest.raises(ValidationError) as info:
        validate_payload(event_type, payload)
    assert (field,) in _error_locs(info.value)
    assert field in str(info.value)


def test_material_received_rules() -> None:
    base = SAMPLES["MaterialReceived"]
    for field, bad in [("qty", "0"), ("qty", "-1"), ("unit_cost", "-0.01"), ("line_no", 0)]:
        with pytest.raises(ValidationError) as info:
            MaterialReceived.model_validate({**base, field: bad})
        assert (field,) in _error_locs(info.value)
    with pytest.raises(ValidationError) as info:
        MaterialReceived.model_validate({**base, "to_status": "available"})
    assert ("to_status",) in _error_locs(info.value)
    with pytest.raises(ValidationError):
        MaterialReceived.model_validate({**base, "sku": "  "})
    approved = MaterialReceived.model_validate({**base, "to_status": "approved", "lot": None})
    assert approved.lot is None


def test_timestamps_must_be_aware_and_become_utc() -> None:
    base = SAMPLES["MaterialReceived"]
    with pytest.raises(ValidationError) as info:
        MaterialReceived.model_validate({**base, "received_at": "2025-03-04T08:15:00"})
    assert ("received_at",) in _error_locs(info.value)

    plus_two = timezone(timedelta(hours=2))
    received = MaterialReceived.model_validate(
        {**base, "received_at": datetime(2025, 3, 4, 10, 15, tzinfo=plus_two)}
    )
    assert received.received_at == datetime(2025, 3, 4, 8, 15, tzinfo=UTC)
    assert received.received_at.utcoffset() == timedelta(0)
    assert received.model_dump(mode="json")["received_at"] == "2025-03-04T08:15:00Z"


def test_journal_must_balance_and_lines_are_one_sided() -> None:
    base = SAMPLES["JournalPosted"]
    unbalanced = [
        {"account_code": "1200", "debit": "10"},
        {"account_code": "2000", "credit": "9.99"},
    ]
    with pytest.raises(ValidationError, match="does not balance"):
        JournalPosted.model_validate({**base, "lines": unbalanced})
    two_sided = [
        {"account_code": "1200", "debit": "10", "credit": "10"},
        {"account_code": "2000", "credit": "0"},
    ]
    with pytest.raises(ValidationError, match="exactly one of debit or credit"):
        JournalPosted.model_validate({**base, "lines": two_sided})
    with pytest.raises(ValidationError) as info:
        JournalPosted.model_validate({**base, "lines": base["lines"][:1]})
    assert ("lines",) in _error_locs(info.value)


def test_print_completed_rules() -> None:
    base = SAMPLES["PrintCompleted"]
    with pytest.raises(ValidationError, match="scrap_reason_code"):
        PrintCompleted.model_validate({**base, "scrap_reason_code": None})
    with pytest.raises(ValidationError, match="both zero"):
        PrintCompleted.model_validate({**base, "qty_good": "0", "qty_bad": "0"})
    with pytest.raises(ValidationError, match="completed_at is before started_at"):
        PrintCompleted.model_validate({**base, "started_at": T1, "completed_at": T0})
    no_bad = PrintCompleted.model_validate({**base, "qty_bad": "0", "scrap_reason_code": None})
    assert no_bad.qty_bad == 0


def test_stock_adjustment_must_move_something() -> None:
    with pytest.raises(ValidationError) as info:
        validate_payload("StockAdjusted", {**SAMPLES["StockAdjusted"], "qty_delta": "0.000"})
    assert ("qty_delta",) in _error_locs(info.value)


def test_duplicate_line_numbers_are_refused() -> None:
    sample = SAMPLES["PurchaseOrderChanged"]
    lines = [sample["lines"][0], {**sample["lines"][1], "line_no": 1}]
    with pytest.raises(ValidationError, match="unique"):
        validate_payload("PurchaseOrderChanged", {**sample, "lines": lines})


# --- JSON Schema export ----------------------------------------------------------------------


def test_catalogue_json_schema_document() -> None:
    document = catalogue_json_schema()
    json.dumps(document)  # serializable as is
    assert set(document["events"]) == set(DESIGN_EVENT_TYPES)
    assert "payload" in document["envelope"]["properties"]
    for event_type, entry in document["events"].items():
        model = CATALOGUE[event_type]
        assert entry["version"] == model.version
        assert entry["schema"]["title"] == event_type
        assert entry["schema"]["additionalProperties"] is False


def test_write_json_schema_files(tmp_path: Path) -> None:
    out_dir = tmp_path / "schemas" / "events"  # created if missing
    paths = write_json_schema(out_dir)

    names = sorted(p.name for p in paths)
    expected = sorted(["envelope.json", *(f"{t}.v{m.version}.json" for t, m in CATALOGUE.items())])
    assert names == expected
    assert sorted(p.name for p in out_dir.iterdir()) == expected
    assert {p.name.split(".")[0] for p in paths} - {"envelope"} == set(DESIGN_EVENT_TYPES)

    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["$schema"].startswith("https://json-schema.org/")
        assert document["type"] == "object"
        if path.name == "envelope.json":
            assert {"id", "type", "version", "payload"} <= set(document["properties"])
            continue
        event_type = path.name.split(".")[0]
        assert document["x-event-type"] == event_type
        assert document["x-event-version"] == CATALOGUE[event_type].version
        # the sample is consistent with the exported contract
        assert set(document.get("required", [])) <= set(SAMPLES[event_type])
        assert set(SAMPLES[event_type]) <= set(document["properties"])

    # deterministic: writing again produces the same bytes
    before = {p.name: p.read_bytes() for p in paths}
    write_json_schema(out_dir)
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before


def test_decimal_fields_are_strings_in_the_schema() -> None:
    qty = catalogue_json_schema()["events"]["MaterialReceived"]["schema"]["properties"]["qty"]
    kinds = {option["type"] for option in qty["anyOf"]}
    assert kinds == {"string", "integer"}  # never "number"
