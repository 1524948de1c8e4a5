"""Purchasing pages: vendors, purchase orders, and receiving at the dock.

Every change goes to the purchasing service through `upstream.call` as the signed-in user, so
the service checks the permission and the input, and answers problems in the user's language;
a refused form is drawn again with each message beside its field, and nothing is saved.

The receiving page is for the tablet at the dock: scan (or type) a PO number, see its open
lines with the open quantity filled in, and receive them with one button. The receipt carries
an Idempotency-Key drawn when the form is, so a double tap (or a retry after a lost answer)
receives once.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, cast
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.forms import idempotency_key, plain
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from services.gateway.ui.purchasing import vendor_items
from services.gateway.ui.tables import Column, Filter, Table
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _
from shared.web.problems import PortalError

router = APIRouter()

SERVICE = "purchasing"
MAX_FORM_LINES = 500

# A PO's status as the pages show it (coloured by the `status-<value>` CSS class).
STATUS_LABELS: dict[str, Text] = {
    "draft": _("Draft"),
    "submitted": _("Submitted"),
    "partial": _("Partly received"),
    "received": _("Received"),
    "cancelled": _("Cancelled"),
}
RECEIVABLE = ("submitted", "partial")
# Where received material goes: the service's `to_status` values.
TO_STATUS_LABELS: dict[str, Text] = {
    "approved": _("Available"),
    "pending_qc": _("Quality hold"),
}

VENDORS = Table(
    name="vendors",
    title=_("Vendors"),
    service=SERVICE,
    path="vendors",
    columns=(
        Column("code", _("Code"), sort="code", link="/vendors/{code}"),
        Column("name", _("Name"), sort="name"),
        Column("email", _("Email")),
        Column("phone", _("Phone")),
    ),
    filters=(Filter("q", _("Search code or name")),),
    default_sort="code",
)

PURCHASE_ORDERS = Table(
    name="purchase-orders",
    title=_("Purchase orders"),
    service=SERVICE,
    path="purchase-orders",
    columns=(
        Column("number", _("PO number"), sort="number", link="/purchase-orders/{number}"),
        Column("vendor_name", _("Vendor"), sort="vendor"),
        Column("status", _("Status"), kind="status", sort="status", labels=STATUS_LABELS),
        Column("order_date", _("Order date"), kind="date", sort="order_date"),
        Column("expected_date", _("Expected"), kind="date", sort="expected_date"),
        Column("total", _("Total"), kind="money", sort="total"),
    ),
    filters=(
        Filter("q", _("PO number")),
        Filter("status", _("Status"), kind="select", options=tuple(STATUS_LABELS.items())),
        # The options (the vendors) are filled in per request: see `_with_vendor_options`.
        Filter("vendor_code", _("Vendor"), kind="select"),
    ),
    live="purchase-orders",
)


# --- vendors --------------------------------------------------------------------------------


VENDORS.mount(router, "/vendors", Action.VENDORS_READ, "purchasing/vendors.html")


@router.get("/vendors/new")
async def new_vendor(request: Request) -> Response:
    page = await page_user(request, Action.VENDORS_WRITE)
    return render(request, page, "purchasing/vendor_new.html", {"values": {}, "errors": {}})


@router.post("/vendors/new")
async def create_vendor(request: Request) -> Response:
    page = await page_user(request, Action.VENDORS_WRITE)
    form = await request.form()
    values = {name: _text(form, name) for name in ("code", "name", "email", "phone")}
    body: dict[str, Any] = {
        "code": values["code"],
        "name": values["name"],
        "email": values["email"] or None,
        "phone": values["phone"] or None,
    }
    try:
        upstream.checked(
            await upstream.call(request, page.user, SERVICE, "POST", "vendors", json=body)
        )
    except UpstreamProblem as problem:
        errors, general = _split_errors(problem, set(values))
        return render(
            request,
            page,
            "purchasing/vendor_new.html",
            {"values": values, "errors": errors, "error": general},
            status_code=upstream.form_status(request, problem),
        )
    return RedirectResponse(f"/vendors?q={quote(values['code'])}&created=1", status_code=303)


# --- purchase orders ------------------------------------------------------------------------


async def _vendor_options(request: Request, page: Page) -> list[tuple[str, str]]:
    """(code, name) of every vendor, for the filter and the PO form; none if the call fails."""
    try:
        result = await upstream.get_json(
            request, page.user, SERVICE, "vendors", {"limit": 1000, "sort": "name"}
        )
    except PortalError:
        return []
    return [(v["code"], f"{v['name']} ({v['code']})") for v in result["items"] if v["active"]]


async def _with_vendor_options(request: Request, page: Page) -> Table:
    # Vendor names are shown as they are: the template's `text` filter passes plain strings.
    options = cast(Sequence[tuple[str, Text]], tuple(await _vendor_options(request, page)))
    filters = [
        dataclasses.replace(f, options=options) if f.name == "vendor_code" else f
        for f in PURCHASE_ORDERS.filters
    ]
    return dataclasses.replace(PURCHASE_ORDERS, filters=filters)


@router.get("/purchase-orders")
async def purchase_orders(request: Request) -> Response:
    page = await page_user(request, Action.PURCHASE_ORDERS_READ)
    table = await _with_vendor_options(request, page)
    return await table.respond(request, page, "purchasing/purchase_orders.html", "/purchase-orders")


@router.get("/purchase-orders.xlsx")
async def purchase_orders_export(request: Request) -> Response:
    page = await page_user(request, Action.PURCHASE_ORDERS_READ)
    return await PURCHASE_ORDERS.export(request, page)


@router.get("/purchase-orders/new")
async def new_purchase_order(request: Request) -> Response:
    page = await page_user(request, Action.PURCHASE_ORDERS_WRITE)
    return await _po_form(request, page, {}, [{}], {}, None)


@router.post("/purchase-orders/new")
async def create_purchase_order(request: Request) -> Response:
    page = await page_user(request, Action.PURCHASE_ORDERS_WRITE)
    form = await request.form()
    values = {name: _text(form, name) for name in ("vendor_code", "expected_date", "notes")}
    rows = _rows(form, ("sku", "qty", "unit_cost"))
    # Rows left wholly blank (the spare one at the end) are not lines; `sent` maps each line
    # sent to the service back to its row on the form, for the messages beside its fields.
    sent = [index for index, row in enumerate(rows) if any(row.values())]
    body: dict[str, Any] = {
        "vendor_code": values["vendor_code"],
        "expected_date": values["expected_date"] or None,
        "notes": values["notes"] or None,
        "lines": [rows[index] for index in sent],
    }
    try:
        created = upstream.checked(
            await upstream.call(request, page.user, SERVICE, "POST", "purchase-orders", json=body)
        )
    except UpstreamProblem as problem:
        errors, general = _split_errors(problem, set(values) | {"lines"}, sent)
        return await _po_form(
            request,
            page,
            values,
            rows or [{}],
            errors,
            general,
            upstream.form_status(request, problem),
        )
    return RedirectResponse(f"/purchase-orders/{quote(created['number'])}", status_code=303)


async def _po_form(
    request: Request,
    page: Page,
    values: Mapping[str, str],
    rows: Sequence[Mapping[str, str]],
    errors: Mapping[str, str],
    error: str | Text | None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        page,
        "purchasing/po_new.html",
        {
            "vendors": await _vendor_options(request, page),
            "known_items": await _known_items(request, page),
            "values": values,
            "rows": rows,
            "errors": errors,
            "error": error,
        },
        status_code=status_code,
    )


async def _known_items(request: Request, page: Page) -> list[dict[str, Any]]:
    """The items purchasing can order, for the SKU field's suggestions; none if refused."""
    try:
        result = await upstream.get_json(request, page.user, SERVICE, "items", {"limit": 1000})
    except PortalError:
        return []
    items: list[dict[str, Any]] = result["items"]
    return items


@router.get("/purchase-orders/{number}")
async def purchase_order(number: str, request: Request) -> Response:
    page = await page_user(request, Action.PURCHASE_ORDERS_READ)
    return await _po_detail(request, page, number)


async def _po_detail(
    request: Request,
    page: Page,
    number: str,
    error: str | Text | None = None,
    status_code: int = 200,
) -> Response:
    po = await upstream.get_json(
        request, page.user, SERVICE, f"purchase-orders/{quote(number, safe='')}"
    )
    receipts = await upstream.get_json(
        request, page.user, SERVICE, f"purchase-orders/{quote(number, safe='')}/receipts"
    )
    roles = page.user.roles
    return render(
        request,
        page,
        "purchasing/po_detail.html",
        {
            "po": po,
            "receipts": receipts,
            "status_labels": STATUS_LABELS,
            "to_status_labels": TO_STATUS_LABELS,
            "can_submit": po["status"] == "draft" and allowed(roles, Action.PURCHASE_ORDERS_WRITE),
            "can_receive": po["status"] in RECEIVABLE and allowed(roles, Action.RECEIPTS_WRITE),
            "error": error,
            "submitted": request.query_params.get("submitted") == "1",
        },
        status_code=status_code,
    )


@router.post("/purchase-orders/{number}/submit")
async def submit_purchase_order(number: str, request: Request) -> Response:
    page = await page_user(request, Action.PURCHASE_ORDERS_WRITE)
    try:
        upstream.checked(
            await upstream.call(
                request,
                page.user,
                SERVICE,
                "POST",
                f"purchase-orders/{quote(number, safe='')}/submit",
            )
        )
    except UpstreamProblem as problem:
        return await _po_detail(
            request, page, number, problem.detail, upstream.form_status(request, problem)
        )
    return RedirectResponse(
        f"/purchase-orders/{quote(number, safe='')}?submitted=1", status_code=303
    )


# --- receiving at the dock ------------------------------------------------------------------


@router.get("/receiving")
async def receiving(request: Request) -> Response:
    page = await page_user(request, Action.RECEIPTS_WRITE)
    number = (request.query_params.get("po") or "").strip()
    context: dict[str, Any] = {"number": number}
    if number:
        context.update(await _receivable(request, page, number))
    return _receiving_response(request, page, context)


@router.post("/receiving/{number}")
async def receive(number: str, request: Request) -> Response:
    page = await page_user(request, Action.RECEIPTS_WRITE)
    form = await request.form()
    key = idempotency_key(form)
    rows = _rows(form, ("line_no", "qty", "lot", "to_status"))
    sent = [index for index, row in enumerate(rows) if not _skipped(row["qty"])]
    context: dict[str, Any] = {"number": number, "key": key, "typed": rows}
    if not sent:
        context.update(await _receivable(request, page, number))
        context["error"] = _("Enter a quantity to receive on at least one line.")
        return _receiving_response(request, page, context, 422)
    body = {
        "lines": [
            {
                "line_no": rows[index]["line_no"],
                "qty": rows[index]["qty"],
                "lot": rows[index]["lot"] or None,
                "to_status": rows[index]["to_status"] or "approved",
            }
            for index in sent
        ]
    }
    try:
        receipt = upstream.checked(
            await upstream.call(
                request,
                page.user,
                SERVICE,
                "POST",
                f"purchase-orders/{quote(number, safe='')}/receipts",
                json=body,
                idempotency_key=key,
            )
        )
    except UpstreamProblem as problem:
        fields = {"line_no", "qty", "lot", "to_status"}
        errors, general = _split_errors(problem, set(), sent, rows=True, row_fields=fields)
        context.update(await _receivable(request, page, number))
        # By PO line number, as the form draws its rows from the PO's open lines.
        by_line = {rows[row]["line_no"]: messages for row, messages in errors.items()}
        context.update({"row_errors": by_line, "error": general})
        return _receiving_response(request, page, context, upstream.form_status(request, problem))
    context["receipt"] = receipt
    context["skus"] = _skus(receipt)
    context["stock"] = await _stock_of(request, page, context["skus"])
    context["refresh_once"] = True  # inventory books the receipt a moment later, from its event
    return _receiving_response(request, page, context)


@router.get("/receiving/stock")
async def receiving_stock(request: Request) -> Response:
    """The stock of the SKUs just received; the page fetches it again when stock moves."""
    page = await page_user(request, Action.RECEIPTS_WRITE)
    skus = [sku for sku in request.query_params.getlist("sku") if sku][:MAX_FORM_LINES]
    return render(
        request,
        page,
        "purchasing/receiving_stock.html",
        {"stock": await _stock_of(request, page, skus), "skus": skus},
    )


async def _receivable(request: Request, page: Page, number: str) -> dict[str, Any]:
    """The PO's open lines, or why it cannot be received against (beside the scan field)."""
    try:
        po = await upstream.get_json(
            request, page.user, SERVICE, f"purchase-orders/{quote(number, safe='')}"
        )
    except UpstreamProblem as problem:
        if problem.status == 404:
            return {"scan_error": _("There is no purchase order {number}.", number=number)}
        return {"scan_error": problem.detail}
    if po["status"] not in RECEIVABLE:
        message = (
            _("Purchase order {number} is a draft: it must be submitted first.", number=number)
            if po["status"] == "draft"
            else _(
                "Purchase order {number} is {status}: nothing is left to receive.",
                number=number,
                status=STATUS_LABELS.get(po["status"], po["status"]),
            )
        )
        return {"po": po, "scan_error": message}
    return {"po": po, "open_lines": [line for line in po["lines"] if Decimal(line["qty_open"]) > 0]}


def _receiving_response(
    request: Request, page: Page, context: dict[str, Any], status_code: int = 200
) -> Response:
    context.setdefault("key", str(uuid.uuid4()))
    context.setdefault("row_errors", {})
    context["status_labels"] = STATUS_LABELS
    context["to_status_labels"] = TO_STATUS_LABELS
    context["rows"] = _receiving_rows(context)
    htmx = request.headers.get("hx-target") == "receiving-po"
    # htmx swaps only a 2xx answer in: a refused receipt is drawn with its messages, as a 200.
    return render(
        request,
        page,
        "purchasing/receiving_po.html" if htmx else "purchasing/receiving.html",
        context,
        status_code=200 if htmx else status_code,
    )


def _receiving_rows(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each open line with what the form shows: the typed values, else the open quantity."""
    typed = {row["line_no"]: row for row in context.get("typed", [])}
    rows = []
    for index, line in enumerate(context.get("open_lines", [])):
        given = typed.get(str(line["line_no"]))
        rows.append(
            {
                "line": line,
                "index": index,
                "qty": given["qty"] if given else plain(line["qty_open"]),
                "lot": given["lot"] if given else "",
                "to_status": given["to_status"] if given else "approved",
            }
        )
    return rows


async def _stock_of(request: Request, page: Page, skus: Sequence[str]) -> dict[str, Any]:
    """sku -> inventory's stock of it, or None where inventory could not say."""
    stock: dict[str, Any] = {}
    for sku in skus:
        try:
            stock[sku] = await upstream.get_json(
                request, page.user, "inventory", f"items/{quote(sku, safe='')}/stock"
            )
        except PortalError:
            stock[sku] = None
    return stock


def _skus(receipt: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys(line["sku"] for line in receipt["lines"]))


# --- form helpers ---------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _rows(form: FormData, names: Sequence[str]) -> list[dict[str, str]]:
    """Rows of repeated inputs (`sku`, `qty`, … once per row), in the order of the form."""
    columns = {
        name: [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)]
        for name in names
    }
    count = min(max((len(values) for values in columns.values()), default=0), MAX_FORM_LINES)
    return [
        {name: values[i] if i < len(values) else "" for name, values in columns.items()}
        for i in range(count)
    ]


def _skipped(qty: str) -> bool:
    """A line left blank or at 0 is not received."""
    if not qty:
        return True
    try:
        return Decimal(qty) == 0
    except InvalidOperation:
        return False


def _split_errors(
    problem: UpstreamProblem,
    fields: set[str],
    sent: Sequence[int] = (),
    *,
    rows: bool = False,
    row_fields: set[str] | None = None,
) -> tuple[dict[Any, Any], str | None]:
    """The problem's messages by form field, and the rest as one message for the whole form.

    `lines.<i>.<name>` (the i-th line sent) becomes `lines.<row>.<name>` for the form's row,
    or, with `rows=True`, {row: {name: message}}.
    """
    errors: dict[Any, Any] = {}
    rest: list[str] = []
    for name, message in problem.field_errors.items():
        parts = name.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
            i = int(parts[1])
            row = sent[i] if i < len(sent) else i
            if rows and (row_fields is None or parts[2] in row_fields):
                errors.setdefault(row, {})[parts[2]] = message
                continue
            if not rows:
                errors[f"lines.{row}.{parts[2]}"] = message
                continue
        if name in fields:
            errors[name] = message
            continue
        rest.append(message)
    general = " ".join(rest) if rest else None
    if not errors and general is None:
        general = str(problem.detail)
    return errors, general


# The vendor page and its items: after /vendors/new, which /vendors/{code} would otherwise take.
router.include_router(vendor_items.router)

feature = Feature(
    name="purchasing",
    router=router,
    nav=[
        NavLink(_("Receiving"), "/receiving", Action.RECEIPTS_WRITE, floor=True),
        NavLink(_("Purchase orders"), "/purchase-orders", Action.PURCHASE_ORDERS_READ),
        NavLink(_("Vendors"), "/vendors", Action.VENDORS_READ),
    ],
    order=20,
)
