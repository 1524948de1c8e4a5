"""The QuickBooks feed's rules without I/O: the Standard Webhooks signature against the published
test vector, the QuickBooks Online body of an entry, IIF and CSV of two entries, the retry
schedule, secrets and URLs. Every figure below is worked out by hand."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from standardwebhooks import Webhook

from services.accounting.quickbooks import domain
from services.accounting.quickbooks.domain import DeliveryConfig, FeedEntry, FeedLine

D = Decimal

# The test vector of the Standard Webhooks reference library
# (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
# test_sign_function): secret, message id, timestamp and body -> the v1 signature.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def receipt() -> FeedEntry:
    """JE-2026-00001: 100 resin received at 2.50 on PO-2026-00001."""
    memo = "Receipt PO-2026-00001 line 1: 100 RESIN @ 2.5000"
    dims = {"item_sku": "RESIN", "location": "RAW", "purchase_order": "PO-2026-00001"}
    return FeedEntry(
        number="JE-2026-00001",
        entry_date=date(2026, 11, 26),
        entry_type="material_receipt",
        memo=memo,
        source_event_id="6f1c1f0e-2f1d-4d7e-9a55-0c6f3f1b2a01",
        source_event_type="MaterialReceived",
        document_type="purchase_order",
        document_ref="PO-2026-00001",
        lines=(
            FeedLine(1, "1200", "Raw materials inventory", None, D("250.0000"), D(0), None, dims),
            FeedLine(2, "2000", "Accounts payable", "33", D(0), D("250.0000"), None, dims),
        ),
    )


def output() -> FeedEntry:
    """JE-2026-00002, three lines: 40 good widgets (100.00) to finished goods, 5 bad
    (12.3456) to scrap, out of WIP (112.3456). 1220 is mapped to QuickBooks account 84."""
    order = {"item_sku": "WIDGET", "production_order": "PRD-2026-00007"}
    return FeedEntry(
        number="JE-2026-00002",
        entry_date=date(2026, 11, 27),
        entry_type="production_output",
        memo="Output of PRD-2026-00007, 40 good, 5 bad",
        source_event_id="0b7a9d52-5a0e-4c43-8f3e-3f7f4d9b1c02",
        source_event_type="FinishedGoodsReceived",
        document_type="production_order",
        document_ref="PRD-2026-00007",
        lines=(
            FeedLine(1, "1220", "Finished goods", "84", D("100.0000"), D(0), "40\tgood", order),
            FeedLine(2, "5400", "Scrap", None, D("12.3456"), D(0), "-5 bad units", order),
            FeedLine(3, "1210", "Work in progress", None, D(0), D("112.3456"), None, order),
        ),
    )


# --- signatures ---------------------------------------------------------------------------------


def test_the_published_standard_webhooks_vector_signs_to_its_signature() -> None:
    moment = datetime.fromtimestamp(VECTOR_TIMESTAMP, UTC)

    assert Webhook(VECTOR_SECRET).sign(VECTOR_MSG_ID, moment, VECTOR_BODY) == VECTOR_SIGNATURE
    assert domain.signed_headers(VECTOR_SECRET, VECTOR_MSG_ID, moment, VECTOR_BODY) == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": VECTOR_SIGNATURE,
        "content-type": "application/json",
    }


def test_a_signed_body_verifies_with_the_receivers_library_and_a_changed_one_does_not() -> None:
    secret = domain.new_secret()
    body = domain.webhook_body(receipt())
    headers = domain.signed_headers(secret, "msg_1", datetime.now(UTC), body)

    assert Webhook(secret).verify(body, headers)["DocNumber"] == "JE-2026-00001"
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(secret).verify(body.replace("250.0000", "250.0001"), headers)


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = domain.new_secret(), domain.new_secret()

    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert domain.secret_problem(first) is None


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "prefix"),
        ("whsec_not base64!", "base64"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "length"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "length"),
        ("whsec_" + base64.b64encode(b"x" * 24).decode(), None),
    ],
)
def test_a_secret_must_be_whsec_and_base64_of_24_to_64_bytes(
    secret: str, problem: str | None
) -> None:
    assert domain.secret_problem(secret) == problem


def test_webhook_ids_are_msg_and_unique() -> None:
    ids = {domain.new_webhook_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(i.startswith("msg_") and len(i) == 36 for i in ids)


@pytest.mark.parametrize(
    ("url", "web"),
    [
        ("https://example.com/hook", True),
        ("http://127.0.0.1:8080/qb?x=1", True),
        ("ftp://example.com/hook", False),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("example.com/hook", False),
        ("http://example.com:port/", False),
        ("https://exa mple.com/", False),
        ("https://example.com/" + "a" * 2000, False),
    ],
)
def test_only_http_and_https_urls_with_a_host_are_web_urls(url: str, web: bool) -> None:
    assert domain.is_web_url(url) is web


# --- the retry schedule -------------------------------------------------------------------------


def test_the_retry_schedule_spans_more_than_a_day() -> None:
    """30 s + 2 min + 10 min + 30 min + 1 h + 2 h + 4 h + 3 times 8 h = 31 h 42 min 30 s."""
    total = sum(domain.RETRY_DELAYS, timedelta())

    assert total == timedelta(hours=31, minutes=42, seconds=30)
    assert total >= timedelta(hours=24)
    assert list(domain.RETRY_DELAYS) == sorted(domain.RETRY_DELAYS)


def test_after_the_last_wait_a_delivery_gives_up() -> None:
    config = DeliveryConfig()

    assert config.retry_delay(0) == timedelta(seconds=30)
    assert config.retry_delay(1) == timedelta(minutes=2)
    assert config.retry_delay(9) == timedelta(hours=8)
    assert config.retry_delay(10) is None
    assert config.claim_seconds == 40.0


# --- the shapes an entry leaves in --------------------------------------------------------------


def test_a_three_line_entry_becomes_a_quickbooks_online_journal_entry() -> None:
    body = json.loads(domain.webhook_body(output()))

    assert body == {
        "DocNumber": "JE-2026-00002",
        "TxnDate": "2026-11-27",
        "PrivateNote": "Output of PRD-2026-00007, 40 good, 5 bad",
        "Line": [
            {
                "Id": "1",
                "Description": "40\tgood",
                "Amount": "100.0000",
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {
                    "PostingType": "Debit",
                    "AccountRef": {"value": "84", "name": "Finished goods"},
                },
            },
            {
                "Id": "2",
                "Description": "-5 bad units",
                "Amount": "12.3456",
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {
                    "PostingType": "Debit",
                    "AccountRef": {"value": "5400", "name": "Scrap"},
                },
            },
            {
                "Id": "3",
                "Description": "Output of PRD-2026-00007, 40 good, 5 bad",
                "Amount": "112.3456",
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {
                    "PostingType": "Credit",
                    "AccountRef": {"value": "1210", "name": "Work in progress"},
                },
            },
        ],
        "portal": {
            "entry_number": "JE-2026-00002",
            "entry_type": "production_output",
            "source_event_id": "0b7a9d52-5a0e-4c43-8f3e-3f7f4d9b1c02",
            "source_event_type": "FinishedGoodsReceived",
            "document_type": "production_order",
            "document_ref": "PRD-2026-00007",
            "reverses_number": None,
            "lines": [
                {
                    "line_no": n,
                    "account_code": code,
                    "debit": debit,
                    "credit": credit,
                    "item_sku": "WIDGET",
                    "location": None,
                    "production_order": "PRD-2026-00007",
                    "sales_order": None,
                    "purchase_order": None,
                }
                for n, code, debit, credit in (
                    (1, "1220", "100.0000", "0.0000"),
                    (2, "5400", "12.3456", "0.0000"),
                    (3, "1210", "0.0000", "112.3456"),
                )
            ],
        },
    }


def test_the_body_is_compact_json_with_amounts_as_exact_strings() -> None:
    text = domain.webhook_body(output())

    assert text.startswith('{"DocNumber":"JE-2026-00002","TxnDate":"2026-11-27",')
    assert '"Amount":"12.3456"' in text
    debits = sum(
        (D(line["Amount"]) for line in json.loads(text)["Line"] if line["Id"] != "3"), D(0)
    )
    assert debits == D("112.3456")


def test_two_entries_as_an_iif_file() -> None:
    memo1 = "Receipt PO-2026-00001 line 1: 100 RESIN @ 2.5000"
    expected = (
        "!TRNS\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO\r\n"
        "!SPL\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO\r\n"
        "!ENDTRNS\r\n"
        "TRNS\tGENERAL JOURNAL\t11/26/2026\tRaw materials inventory\t250.00\tJE-2026-00001\t"
        f"{memo1}\r\n"
        f"SPL\tGENERAL JOURNAL\t11/26/2026\tAccounts payable\t-250.00\tJE-2026-00001\t{memo1}\r\n"
        "ENDTRNS\r\n"
        "TRNS\tGENERAL JOURNAL\t11/27/2026\tFinished goods\t100.00\tJE-2026-00002\t40 good\r\n"
        "SPL\tGENERAL JOURNAL\t11/27/2026\tScrap\t12.3456\tJE-2026-00002\t-5 bad units\r\n"
        "SPL\tGENERAL JOURNAL\t11/27/2026\tWork in progress\t-112.3456\tJE-2026-00002\t"
        "Output of PRD-2026-00007, 40 good, 5 bad\r\n"
        "ENDTRNS\r\n"
    )

    assert domain.iif_text([receipt(), output()]) == expected


def test_iif_amounts_keep_every_decimal_the_ledger_has_and_at_least_two() -> None:
    assert [
        domain.plain_amount(D(x)) for x in ("250", "12.5", "0.3333", "-112.3456", "-0.0100")
    ] == ["250.00", "12.50", "0.3333", "-112.3456", "-0.01"]


def test_two_entries_as_csv_one_row_per_line() -> None:
    expected = (
        "entry_number,entry_date,entry_type,document_type,document_ref,line_no,account_code,"
        "account_name,debit,credit,memo,item_sku,location,production_order,sales_order,"
        "purchase_order\r\n"
        "JE-2026-00001,2026-11-26,material_receipt,purchase_order,PO-2026-00001,1,1200,"
        "Raw materials inventory,250.0000,,Receipt PO-2026-00001 line 1: 100 RESIN @ 2.5000,"
        "RESIN,RAW,,,PO-2026-00001\r\n"
        "JE-2026-00001,2026-11-26,material_receipt,purchase_order,PO-2026-00001,2,2000,"
        "Accounts payable,,250.0000,Receipt PO-2026-00001 line 1: 100 RESIN @ 2.5000,"
        "RESIN,RAW,,,PO-2026-00001\r\n"
        "JE-2026-00002,2026-11-27,production_output,production_order,PRD-2026-00007,1,1220,"
        "Finished goods,100.0000,,40\tgood,WIDGET,,PRD-2026-00007,,\r\n"
        "JE-2026-00002,2026-11-27,production_output,production_order,PRD-2026-00007,2,5400,"
        "Scrap,12.3456,,'-5 bad units,WIDGET,,PRD-2026-00007,,\r\n"
        "JE-2026-00002,2026-11-27,production_output,production_order,PRD-2026-00007,3,1210,"
        'Work in progress,,112.3456,"Output of PRD-2026-00007, 40 good, 5 bad",WIDGET,,'
        "PRD-2026-00007,,\r\n"
    )

    assert domain.csv_text([receipt(), output()]) == expected
