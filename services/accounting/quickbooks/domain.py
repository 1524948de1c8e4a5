"""The feed's rules on plain values: secrets and message ids as Standard Webhooks write them, the
retry schedule, the signed headers, and the three shapes an entry leaves in (the QuickBooks
Online JournalEntry of a webhook, a QuickBooks Desktop IIF transaction, CSV rows).

No database and no network here. Amounts stay `Decimal` to the last character: the JSON body
carries them as decimal strings of four places (DESIGN §3: money in payloads is never a float),
IIF and CSV as plain decimal text.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from shared.values import FOUR_PLACES, four_places

SECRET_PREFIX = "whsec_"
# Standard Webhooks: a symmetric key of 24 to 64 random bytes; ours are 32.
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
MESSAGE_ID_PREFIX = "msg_"
MAX_URL_LENGTH = 2000

# After the n-th failure of a delivery in a row the next try waits RETRY_DELAYS[n-1]; after
# the last delay has been waited and that try failed too, the delivery is `failed`. The waits
# add up to 31 h 42 min 30 s, so a receiver down for a day still gets every entry.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
    timedelta(hours=8),
)

IIF_TRANSACTION_TYPE = "GENERAL JOURNAL"
IIF_COLUMNS = ("TRNSTYPE", "DATE", "ACCNT", "AMOUNT", "DOCNUM", "MEMO")
CSV_COLUMNS = (
    "entry_number",
    "entry_date",
    "entry_type",
    "document_type",
    "document_ref",
    "line_no",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "memo",
    "item_sku",
    "location",
    "production_order",
    "sales_order",
    "purchase_order",
)
DIMENSIONS = ("item_sku", "location", "production_order", "sales_order", "purchase_order")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- secrets, ids, signatures -------------------------------------------------------------------


def new_secret() -> str:
    """A fresh signing secret: 'whsec_' and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_problem(secret: str) -> str | None:
    """Why `secret` is not a Standard Webhooks secret we accept, or None when it is one."""
    if not secret.startswith(SECRET_PREFIX):
        return "prefix"
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return "base64"
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        return "length"
    return None


def new_webhook_id() -> str:
    """The message id of one delivery ('msg_' + 32 hex digits), kept for all its attempts."""
    return MESSAGE_ID_PREFIX + uuid.uuid4().hex


def is_web_url(url: str) -> bool:
    """An absolute http:// or https:// URL with a host."""
    if len(url) > MAX_URL_LENGTH or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def signed_headers(secret: str, webhook_id: str, moment: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: id, Unix timestamp, v1 signature of
    '<id>.<timestamp>.<body>' (HMAC-SHA256, base64), signed by the `standardwebhooks` package."""
    signature = Webhook(secret).sign(webhook_id, moment, body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def is_accepted(status_code: int) -> bool:
    """A receiver accepts a delivery with any 2xx; anything else is tried again."""
    return 200 <= status_code < 300


def excerpt(text: str | None, length: int = 500) -> str | None:
    return None if text is None else text[:length]


# --- an entry as it leaves ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedLine:
    line_no: int
    account_code: str
    account_name: str
    quickbooks_account_id: str | None
    debit: Decimal
    credit: Decimal
    memo: str | None = None
    dimensions: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def posting_type(self) -> str:
        return "Debit" if self.debit > 0 else "Credit"

    @property
    def amount(self) -> Decimal:
        return self.debit if self.debit > 0 else self.credit

    @property
    def signed_amount(self) -> Decimal:
        """Debits positive, credits negative (IIF)."""
        return self.debit if self.debit > 0 else -self.credit


@dataclass(frozen=True)
class FeedEntry:
    number: str
    entry_date: date
    entry_type: str
    memo: str
    lines: tuple[FeedLine, ...]
    source_event_id: str | None = None
    source_event_type: str | None = None
    document_type: str | None = None
    document_ref: str | None = None
    reverses_number: str | None = None


def quickbooks_journal_entry(entry: FeedEntry) -> dict[str, Any]:
    """The entry as a QuickBooks Online JournalEntry, plus our own ids under "portal".

    AccountRef.value is the account's QuickBooks id when the accountant mapped it
    (`accounts.quickbooks_account_id`), else our account code.
    """
    return {
        "DocNumber": entry.number,
        "TxnDate": entry.entry_date.isoformat(),
        "PrivateNote": entry.memo,
        "Line": [
            {
                "Id": str(line.line_no),
                "Description": line.memo or entry.memo,
                "Amount": four_places(line.amount),
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {
                    "PostingType": line.posting_type,
                    "AccountRef": {
                        "value": line.quickbooks_account_id or line.account_code,
                        "name": line.account_name,
                    },
                },
            }
            for line in entry.lines
        ],
        "portal": {
            "entry_number": entry.number,
            "entry_type": entry.entry_type,
            "source_event_id": entry.source_event_id,
            "source_event_type": entry.source_event_type,
            "document_type": entry.document_type,
            "document_ref": entry.document_ref,
            "reverses_number": entry.reverses_number,
            "lines": [
                {
                    "line_no": line.line_no,
                    "account_code": line.account_code,
                    "debit": four_places(line.debit),
                    "credit": four_places(line.credit),
                    **{name: line.dimensions.get(name) for name in DIMENSIONS},
                }
                for line in entry.lines
            ],
        },
    }


def webhook_body(entry: FeedEntry) -> str:
    """The JSON text that is signed and sent: compact, key order as built, UTF-8 kept."""
    return json.dumps(quickbooks_journal_entry(entry), separators=(",", ":"), ensure_ascii=False)


def plain_amount(value: Decimal) -> str:
    """At least two decimals, at most the ledger's four, nothing rounded: 250.00, 0.3333."""
    text = format(value.quantize(FOUR_PLACES), "f")
    whole, _dot, decimals = text.partition(".")
    decimals = decimals.rstrip("0").ljust(2, "0")
    return f"{whole}.{decimals}"


def _iif_field(text: str | None) -> str:
    """IIF is tab-separated lines: a tab or line break inside a value would split it, and a
    double quote opens a quoted field in QuickBooks' reader."""
    if not text:
        return ""
    return " ".join(text.replace('"', "'").split())


def iif_text(entries: Iterable[FeedEntry]) -> str:
    """QuickBooks Desktop import file: the header rows, then per entry a TRNS row (its first
    line), an SPL row for each other line, and ENDTRNS. Debits are positive amounts, credits
    negative; accounts are named as in the chart (QuickBooks Desktop matches accounts by name).
    """
    header = "\t".join(IIF_COLUMNS)
    rows = [f"!TRNS\t{header}", f"!SPL\t{header}", "!ENDTRNS"]
    for entry in entries:
        day = entry.entry_date.strftime("%m/%d/%Y")
        for index, line in enumerate(entry.lines):
            kind = "TRNS" if index == 0 else "SPL"
            values = (
                IIF_TRANSACTION_TYPE,
                day,
                _iif_field(line.account_name),
                plain_amount(line.signed_amount),
                entry.number,
                _iif_field(line.memo or entry.memo),
            )
            rows.append("\t".join((kind, *values)))
        rows.append("ENDTRNS")
    return "\r\n".join(rows) + "\r\n"


def _csv_cell(text: str | None) -> str:
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(entries: Iterable[FeedEntry]) -> str:
    """One row per journal line (RFC 4180, CRLF). Debit and credit as four-place decimals, the
    side a line does not use left empty. A text cell a spreadsheet would run as a formula is
    quoted with a leading apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        for line in entry.lines:
            writer.writerow(
                (
                    entry.number,
                    entry.entry_date.isoformat(),
                    entry.entry_type,
                    entry.document_type or "",
                    _csv_cell(entry.document_ref),
                    line.line_no,
                    line.account_code,
                    _csv_cell(line.account_name),
                    four_places(line.debit) if line.debit > 0 else "",
                    four_places(line.credit) if line.credit > 0 else "",
                    _csv_cell(line.memo or entry.memo),
                    *(_csv_cell(line.dimensions.get(name)) for name in DIMENSIONS),
                )
            )
    return buffer.getvalue()


# --- how the worker runs ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryConfig:
    """The delivery worker's figures; tests shorten them, a deployment keeps the defaults.

    A claimed delivery is due again `timeout_seconds + claim_margin_seconds` after its claim, so
    one whose process died during the POST is sent again (and never twice by live workers).
    An entry is counted as settled `settle_seconds` after it was posted: the queueing cursor
    never passes an entry younger than that, so one whose transaction commits after a later
    numbered entry's is still queued.
    """

    timeout_seconds: float = 10.0
    poll_seconds: float = 1.0
    claim_margin_seconds: float = 30.0
    settle_seconds: float = 60.0
    batch_size: int = 20
    queue_batch_size: int = 500
    retry_delays: tuple[timedelta, ...] = RETRY_DELAYS

    @property
    def claim_seconds(self) -> float:
        return self.timeout_seconds + self.claim_margin_seconds

    def retry_delay(self, backoff_step: int) -> timedelta | None:
        """How long to wait after a failure at `backoff_step` of the schedule; None: give up."""
        if 0 <= backoff_step < len(self.retry_delays):
            return self.retry_delays[backoff_step]
        return None
