"""Inventory pages: the item list and each item's page, the stock ledger, and the item forms.

The lists are `Table`s on inventory's list endpoints (filtered, sorted and paged by the service,
exported to XLSX, fetched again when items or stock change). The create and edit forms are plain
HTML forms posting here; the gateway sends them to inventory as the signed-in user with the
form's Idempotency-Key (a hidden uuid, so a double submit creates once), and on a problem shows
the form again with each message beside its field, in the user's language, nothing saved.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from services.gateway.ui.tables import Column, Filter, Table
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _, language_scope
from shared.web.problems import PortalError

router = APIRouter()

ITEM_TYPES: tuple[tuple[str, Text], ...] = (
    ("raw", _("Raw material")),
    ("component", _("Component")),
    ("finished", _("Finished good")),
    ("packaging", _("Packaging")),
)
MAKE_OR_BUY: tuple[tuple[str, Text], ...] = (("buy", _("Buy")), ("make", _("Make")))
LOCATIONS: tuple[tuple[str, Text], ...] = (
    ("RAW", _("Raw materials")),
    ("QC", _("Quality hold")),
    ("WIP", _("Work in progress")),
    ("FG", _("Finished goods")),
    ("SCRAP", _("Scrap")),
)
STOCK_STATUSES: dict[str, Text] = {"approved": _("Approved"), "pending_qc": _("Pending QC")}
TXN_TYPES: dict[str, Text] = {"receipt": _("Receipt")}

ITEMS = Table(
    name="items",
    title=_("Items"),
    service="inventory",
    path="items",
    columns=(
        Column("sku", _("SKU"), sort="sku", link="/items/{sku}"),
        Column("name", _("Name"), sort="name"),
        Column("item_type", _("Type"), kind="status", sort="item_type", labels=dict(ITEM_TYPES)),
        Column("uom", _("Unit"), sort="uom"),
        Column(
            "make_or_buy",
            _("Make or buy"),
            kind="status",
            sort="make_or_buy",
            labels=dict(MAKE_OR_BUY),
        ),
        Column("family", _("Product family"), sort="family"),
        Column("reorder_point", _("Reorder point"), kind="number", sort="reorder_point"),
        Column("average_cost", _("Average cost"), kind="money", sort="average_cost"),
    ),
    filters=(
        Filter("q", _("SKU or name")),
        Filter("item_type", _("Type"), kind="select", options=ITEM_TYPES),
        Filter("make_or_buy", _("Make or buy"), kind="select", options=MAKE_OR_BUY),
        Filter("family", _("Product family")),
    ),
    default_sort="sku",
    # The average cost moves with receipts (StockChanged), the rest with ItemUpserted.
    live="items,stock",
)

LEDGER = Table(
    name="stock",
    title=_("Stock ledger"),
    service="inventory",
    path="stock-transactions",
    columns=(
        Column("created_at", _("When"), kind="datetime", sort="created_at"),
        Column("txn_type", _("Transaction"), kind="status", sort="txn_type", labels=TXN_TYPES),
        Column("sku", _("SKU"), sort="sku", link="/items/{sku}"),
        Column("location", _("Location"), sort="location"),
        Column("lot", _("Lot"), sort="lot"),
        Column("status", _("Status"), kind="status", sort="status", labels=STOCK_STATUSES),
        Column("qty", _("Quantity"), kind="number", sort="qty"),
        Column("unit_cost", _("Unit cost"), kind="money", sort="unit_cost"),
        Column("value", _("Value"), kind="money", sort="value"),
        Column("reference", _("Reference"), sort="reference"),
    ),
    filters=(
        Filter("sku", _("SKU")),
        Filter("location", _("Location"), kind="select", options=LOCATIONS),
        Filter("date_from", _("From"), kind="date"),
        Filter("date_to", _("To"), kind="date"),
    ),
    default_sort="-created_at",
    live="stock",
)

LEDGER.mount(router, "/stock", Action.STOCK_READ, "inventory/stock.html")


ITEMS.mount(router, "/items", Action.ITEMS_READ, "inventory/items.html")


@router.get("/items/reorder-grid")
async def reorder_grid(request: Request) -> Response:
    """Reorder points and quantities of every item in one Excel-like grid (AG Grid): each edited
    cell is saved at once through the JSON API, and refused values go back with the reason."""
    page = await page_user(request, Action.ITEMS_WRITE)
    labels = {
        "sku": _("SKU"),
        "name": _("Name"),
        "item_type": _("Type"),
        "uom": _("Unit"),
        "reorder_point": _("Reorder point"),
        "reorder_qty": _("Reorder quantity"),
        "saved": _("Saved {sku}."),
        "loading": _("Loading…"),
        "no_rows": _("No items."),
    }
    with language_scope(page.language):
        texts = {key: label.render() for key, label in labels.items()}
    return render(request, page, "inventory/grid.html", {"grid_texts": json.dumps(texts)})


RECENT_TRANSACTIONS = 10
# The form's fields, as inventory's API names them.
TEXT_FIELDS = ("sku", "name", "uom", "item_type", "make_or_buy", "family")
NUMBER_FIELDS = ("reorder_point", "reorder_qty")
# An emptied family is sent as "", which takes the item's family away.
EDITABLE = ("name", "uom", "item_type", "make_or_buy", "family", "reorder_point", "reorder_qty")
KEY_PATTERN = re.compile(r"^[0-9a-f-]{36}$")


def _path_of(sku: str) -> str:
    return f"/items/{quote(sku, safe='')}"


# --- the item form -------------------------------------------------------------------------


def _form_values(form: FormData) -> dict[str, Any]:
    """What the user typed, as the form shows it again."""
    values: dict[str, Any] = {
        name: str(form.get(name) or "").strip() for name in TEXT_FIELDS + NUMBER_FIELDS
    }
    values["customer_supplied"] = form.get("customer_supplied") == "on"
    values["active"] = form.get("active") == "on"
    return values


def _create_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """An empty field is left out: the API names a missing required one, or uses its default."""
    body: dict[str, Any] = {
        name: values[name] for name in TEXT_FIELDS + NUMBER_FIELDS if values[name] != ""
    }
    body["customer_supplied"] = values["customer_supplied"]
    return body


def _update_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every editable field as typed: an emptied name or number is refused, never kept."""
    body: dict[str, Any] = {name: values[name] for name in EDITABLE}
    body["customer_supplied"] = values["customer_supplied"]
    body["active"] = values["active"]
    return body


def _idempotency_key(form: FormData) -> str:
    """The form's own key (made when the form was drawn), or a new one for a hand-made post."""
    sent = str(form.get("idempotency_key") or "")
    return sent if KEY_PATTERN.match(sent) else str(uuid.uuid4())


def _form_page(
    request: Request,
    page: Page,
    *,
    item: Mapping[str, Any],
    key: str,
    editing: bool,
    errors: Mapping[str, str] | None = None,
    error: str | Text | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        page,
        "inventory/item_form.html",
        {
            "item": item,
            "key": key,
            "editing": editing,
            "errors": errors or {},
            "error": error,
            "item_types": ITEM_TYPES,
            "make_or_buy": MAKE_OR_BUY,
        },
        status_code=status_code,
    )


def _refused(problem: upstream.UpstreamProblem) -> tuple[dict[str, str], str | None]:
    """The messages by field, and the problem's detail when no field carries it."""
    errors = problem.field_errors
    return errors, (None if errors else str(problem.detail))


NEW_ITEM = {
    "sku": "",
    "name": "",
    "uom": "ea",
    "item_type": "raw",
    "make_or_buy": "buy",
    "family": "",
    "customer_supplied": False,
    "reorder_point": "0",
    "reorder_qty": "0",
    "active": True,
}


@router.get("/items/new")
async def new_item(request: Request) -> Response:
    page = await page_user(request, Action.ITEMS_WRITE)
    return _form_page(request, page, item=NEW_ITEM, key=str(uuid.uuid4()), editing=False)


@router.post("/items/new")
async def create_item(request: Request) -> Response:
    page = await page_user(request, Action.ITEMS_WRITE)
    form = await request.form()
    values = _form_values(form)
    key = _idempotency_key(form)
    answer = await upstream.call(
        request,
        page.user,
        "inventory",
        "POST",
        "items",
        json=_create_body(values),
        idempotency_key=key,
    )
    try:
        created = upstream.checked(answer)
    except upstream.UpstreamProblem as problem:
        errors, error = _refused(problem)
        return _form_page(
            request,
            page,
            item=values,
            key=key,
            editing=False,
            errors=errors,
            error=error,
            status_code=problem.status,
        )
    return RedirectResponse(_path_of(created["sku"]) + "?saved=created", status_code=303)


@router.get("/items/{sku}/edit")
async def edit_item(sku: str, request: Request) -> Response:
    page = await page_user(request, Action.ITEMS_WRITE)
    item = await upstream.get_json(request, page.user, "inventory", f"items/{quote(sku, safe='')}")
    return _form_page(request, page, item=item, key=str(uuid.uuid4()), editing=True)


@router.post("/items/{sku}/edit")
async def update_item(sku: str, request: Request) -> Response:
    page = await page_user(request, Action.ITEMS_WRITE)
    form = await request.form()
    values = {**_form_values(form), "sku": sku}
    key = _idempotency_key(form)
    answer = await upstream.call(
        request,
        page.user,
        "inventory",
        "PATCH",
        f"items/{quote(sku, safe='')}",
        json=_update_body(values),
        idempotency_key=key,
    )
    try:
        upstream.checked(answer)
    except upstream.UpstreamProblem as problem:
        if problem.status == 404:
            raise
        errors, error = _refused(problem)
        return _form_page(
            request,
            page,
            item=values,
            key=key,
            editing=True,
            errors=errors,
            error=error,
            status_code=problem.status,
        )
    return RedirectResponse(_path_of(sku) + "?saved=updated", status_code=303)


# --- one item ------------------------------------------------------------------------------


@router.get("/items/{sku}")
async def item_page(sku: str, request: Request) -> Response:
    page = await page_user(request, Action.ITEMS_READ)
    try:
        item = await upstream.get_json(
            request, page.user, "inventory", f"items/{quote(sku, safe='')}"
        )
    except upstream.UpstreamProblem as problem:
        if problem.status != 404:
            raise
        return render(request, page, "inventory/no_item.html", {"sku": sku}, status_code=404)
    return render(
        request,
        page,
        "inventory/item.html",
        {
            "item": item,
            "can_edit": allowed(page.user.roles, Action.ITEMS_WRITE),
            "item_types": dict(ITEM_TYPES),
            "make_or_buy": dict(MAKE_OR_BUY),
            "saved": request.query_params.get("saved"),
            **(await _stock_of(request, page, sku)),
        },
    )


@router.get("/items/{sku}/stock-panel")
async def stock_panel(sku: str, request: Request) -> Response:
    """The item page's stock and ledger, fetched again by htmx when stock moves."""
    page = await page_user(request, Action.ITEMS_READ)
    values = await _stock_of(request, page, sku)
    return render(request, page, "inventory/item_stock.html", {"sku": sku, **values})


async def _stock_of(request: Request, page: Page, sku: str) -> dict[str, Any]:
    """The item's balances and latest transactions; a role without stock access sees neither,
    and a service that does not answer is said so while the rest of the page still shows."""
    values: dict[str, Any] = {
        "sku": sku,
        "stock": None,
        "transactions": None,
        "stock_error": None,
        "statuses": STOCK_STATUSES,
        "txn_types": TXN_TYPES,
        "ledger_href": "/stock?" + urlencode({"sku": sku}),
    }
    if not allowed(page.user.roles, Action.STOCK_READ):
        return values
    try:
        values["stock"] = await upstream.get_json(
            request, page.user, "inventory", f"items/{quote(sku, safe='')}/stock"
        )
        values["transactions"] = await upstream.get_json(
            request,
            page.user,
            "inventory",
            "stock-transactions",
            {"sku": sku, "limit": RECENT_TRANSACTIONS, "sort": "-created_at"},
        )
    except PortalError as problem:
        values["stock_error"] = problem.detail
    return values


feature = Feature(
    name="inventory",
    router=router,
    order=10,
    nav=(
        NavLink(_("Items"), "/items", Action.ITEMS_READ),
        NavLink(_("Stock"), "/stock", Action.STOCK_READ),
    ),
)
