"""What the accounting pages share: the service's name, reading forms and answers, the labels of
entry types and documents, refusals split by field, and the service's own workbooks passed on.

The accounting service owns every figure; the pages only arrange them. A workbook the service
serves beside a JSON report (`trial-balance.xlsx`, ...) is passed on as it came, so what the
page shows and what Excel holds are one query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.forms import idempotency_key, plain, refusal, text  # noqa: F401
from services.gateway.ui.frame import Page
from services.gateway.ui.upstream import UpstreamProblem
from shared.i18n import Text, _
from shared.web.problems import PortalError
from shared.web.xlsx import XLSX_MEDIA_TYPE

SERVICE = "accounting"
MAX_CODE = 64  # a code, number or reference typed in a form or a query; longer is none
MAX_FORM_LINES = 200

# The entry types of the posting rules (docs/accounting.md), named as the plant says them.
# A type the service adds later shows with the service's own label, or its code.
ENTRY_TYPE_LABELS: dict[str, Text] = {
    "material_receipt": _("Material receipt"),
    "material_issue": _("Material issue"),
    "material_return": _("Material return"),
    "production_output": _("Production output"),
    "qc_scrap": _("QC scrap"),
    "stock_adjustment": _("Stock adjustment"),
    "shipment": _("Shipment"),
    "customer_payment": _("Customer payment"),
    "vendor_payment": _("Vendor payment"),
    "manual": _("Manual entry"),
    "reversal": _("Reversal"),
}

DOCUMENT_TYPE_LABELS: dict[str, Text] = {
    "purchase_order": _("Purchase order"),
    "production_order": _("Production order"),
    "sales_order": _("Sales order"),
    "adjustment": _("Stock adjustment"),
    "vendor_bill": _("Vendor bill"),
}

ACCOUNT_TYPE_LABELS: dict[str, Text] = {
    "asset": _("Asset"),
    "liability": _("Liability"),
    "equity": _("Equity"),
    "revenue": _("Revenue"),
    "expense": _("Expense"),
}


def document_href(document_type: str | None, ref: str | None) -> str | None:
    """The gateway's page of a source document, where the gateway has one."""
    if not ref:
        return None
    pages = {"purchase_order": "/purchase-orders/", "production_order": "/production-orders/"}
    prefix = pages.get(document_type or "")
    return prefix + quote(ref, safe="") if prefix else None


def listed(result: Any, key: str = "items") -> list[dict[str, Any]]:
    """The rows of a list answer, paged ({items, total}) or plain."""
    if isinstance(result, Mapping):
        result = result.get(key, [])
    return [row for row in result or [] if isinstance(row, dict)]


def query_text(request: Request, name: str, limit: int = MAX_CODE) -> str:
    return text(request.query_params, name, limit)


def checked_on(form: FormData, name: str) -> bool:
    return text(form, name) in ("on", "true", "1")


def decimal_or_none(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def split_errors(
    problem: UpstreamProblem, fields: set[str], sent: Sequence[int] = ()
) -> tuple[dict[str, str], str | None]:
    """The problem's messages by form field, and the rest as one message for the whole form.

    A field path may come as 'body.memo' or 'query.as_of'; `lines.<i>.<name>` (the i-th line
    sent) becomes `lines.<row>.<name>` for the row of the form it came from.
    """
    errors: dict[str, str] = {}
    rest: list[str] = []
    for raw, message in problem.field_errors.items():
        name = raw.removeprefix("body.").removeprefix("query.").removeprefix("path.")
        parts = name.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
            i = int(parts[1])
            row = sent[i] if i < len(sent) else i
            errors.setdefault(f"lines.{row}.{parts[2]}", message)
            continue
        if name in fields:
            errors.setdefault(name, message)
            continue
        rest.append(message)
    general = " ".join(rest) if rest else None
    if not errors and general is None:
        general = str(problem.detail)
    return errors, general


async def optional(
    request: Request, page: Page, path: str, params: upstream.Params | None = None
) -> Any:
    """A side block's data, or None when the service cannot give it (the page still shows)."""
    try:
        return await upstream.get_json(request, page.user, SERVICE, path, params)
    except PortalError:
        return None


async def post(
    request: Request,
    page: Page,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
) -> Any:
    """A change to the accounting service as the page's user; its refusal raised as a problem."""
    answer = await upstream.call(
        request, page.user, SERVICE, method, path, json=body, idempotency_key=key
    )
    return upstream.checked(answer)


async def service_workbook(
    request: Request, page: Page, path: str, params: upstream.Params | None = None
) -> Response:
    """The service's own workbook of a list or report, passed on as it came."""
    answer = await upstream.call(request, page.user, SERVICE, "GET", path, params=params)
    if not answer.is_success:
        upstream.checked(answer)  # raises the service's problem, shown as a page
    headers = {"Cache-Control": "no-store"}
    if "content-disposition" in answer.headers:
        headers["Content-Disposition"] = answer.headers["content-disposition"]
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", XLSX_MEDIA_TYPE),
        headers=headers,
    )


async def entry_type_options(request: Request, page: Page) -> list[tuple[str, Text]]:
    """The entry types the service knows (GET /entry-types), each with its label."""
    found = await optional(request, page, "entry-types")
    options: list[tuple[str, Text]] = []
    for each in listed(found) if isinstance(found, Mapping) else (found or []):
        if isinstance(each, str):
            code, label = each, None
        elif isinstance(each, Mapping):
            code = str(each.get("code") or each.get("entry_type") or each.get("name") or "")
            label = each.get("label") or each.get("description")
        else:
            continue
        if code:
            options.append((code, ENTRY_TYPE_LABELS.get(code) or as_text(str(label or code))))
    if not options:
        options = list(ENTRY_TYPE_LABELS.items())
    return options


async def accounts(request: Request, page: Page) -> list[dict[str, Any]]:
    """The chart of accounts, by code; none when the service cannot say."""
    found = await optional(request, page, "accounts", {"limit": 1000})
    return sorted(listed(found), key=lambda account: str(account.get("code", "")))


def as_text(shown: str) -> Text:
    """A name from the data (an account's, a URL) where a label is expected: shown as it is."""
    return Text(shown, {})


def account_options(chart: Sequence[Mapping[str, Any]]) -> list[tuple[str, Text]]:
    """The active accounts as choices: '1200 Raw materials'."""
    return [
        (str(a["code"]), as_text(f"{a['code']} {a.get('name', '')}".strip()))
        for a in chart
        if a.get("active", True) and a.get("code")
    ]
