"""Traceability pages: stock by item, location, lot and status; the stock ledger with every
filter; and a lot's genealogy (what went into it, where it went).

The lists are `Table`s on inventory's list endpoints, so the service filters, sorts, pages and
the export holds the same rows. Each stock row links to the ledger of that item and lot, and to
the lot's genealogy. The genealogy page asks inventory's two genealogy calls at once (one call
each: a recall is answered in seconds) and draws the sources as an indented tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response

from services.gateway.ui import upstream
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from services.gateway.ui.tables import Column, Filter, Table
from services.gateway.ui.traceability.lineage import source_tree, use_tree
from shared.auth.permissions import Action
from shared.i18n import Text, _, language_scope

router = APIRouter()

SERVICE = "inventory"
MAX_CODE = 64  # a SKU or a lot code: longer is not one

LOCATIONS: tuple[tuple[str, Text], ...] = (
    ("RAW", _("Raw materials")),
    ("QC", _("Quality hold")),
    ("WIP", _("Work in progress")),
    ("FG", _("Finished goods")),
    ("SCRAP", _("Scrap")),
)
STOCK_STATUSES: dict[str, Text] = {
    "approved": _("Approved"),
    "pending_qc": _("Pending QC"),
}
ITEM_TYPES: dict[str, Text] = {
    "raw": _("Raw material"),
    "component": _("Component"),
    "finished": _("Finished good"),
    "packaging": _("Packaging"),
}
# The ledger's transaction types as inventory writes them; an unknown one is shown as it is.
TXN_TYPES: dict[str, Text] = {
    "receipt": _("Receipt"),
    "qc_release": _("QC release"),
    "issue": _("Issue to production"),
    "return": _("Return from production"),
    "consume": _("Consumed by production"),
    "production_receipt": _("Production receipt"),
    "scrap": _("Scrap"),
    "qc_pass": _("QC passed"),
    "qc_fail": _("QC failed"),
    "transfer": _("Transfer"),
    "adjustment": _("Adjustment"),
    "shipment": _("Shipment"),
}
REFERENCE_TYPES: dict[str, Text] = {
    "purchase_order": _("Purchase order"),
    "production_order": _("Production order"),
    "sales_order": _("Sales order"),
    "shipment": _("Shipment"),
    "release": _("QC release"),
    "transfer": _("Transfer"),
    "adjustment": _("Adjustment"),
}


# Where a ledger row's reference is shown: its order's page (its certificate for production).
REFERENCE_PAGES = {
    "production_order": "/reports/coc?order=",
    "purchase_order": "/purchase-orders/",
}


def ledger_href(sku: str, lot: str | None = None) -> str:
    params = {"sku": sku, **({"lot": lot} if lot else {})}
    return "/ledger?" + urlencode(params)


def genealogy_href(sku: str, lot: str) -> str:
    return "/genealogy?" + urlencode({"sku": sku, "lot": lot})


def _with_links(row: Mapping[str, Any], ledger_text: str) -> dict[str, Any]:
    """A row with the hrefs its cells link to (quoted here: a lot code may hold any
    character); a row without a lot has no genealogy to show."""
    linked = {**row, "ledger": ledger_text, "ledger_href": ledger_href(row["sku"], row.get("lot"))}
    linked["item_href"] = f"/items/{quote(str(row['sku']), safe='')}"
    if row.get("lot"):
        linked["genealogy_href"] = genealogy_href(row["sku"], row["lot"])
    page_of_reference = REFERENCE_PAGES.get(str(row.get("reference_type")))
    if page_of_reference and row.get("reference"):
        linked["reference_href"] = page_of_reference + quote(str(row["reference"]), safe="")
    return linked


async def _linked_rows(
    request: Request, page: Page, path: str, params: dict[str, Any]
) -> dict[str, Any]:
    result: dict[str, Any] = await upstream.get_json(request, page.user, SERVICE, path, params)
    with language_scope(page.language):
        ledger_text = _("Ledger").render()
    result["items"] = [_with_links(row, ledger_text) for row in result.get("items", [])]
    return result


async def _stock_rows(request: Request, page: Page, params: dict[str, Any]) -> dict[str, Any]:
    return await _linked_rows(request, page, "stock", params)


async def _ledger_rows(request: Request, page: Page, params: dict[str, Any]) -> dict[str, Any]:
    return await _linked_rows(request, page, "transactions", params)


STOCK = Table(
    name="stock-balances",
    title=_("Stock on hand"),
    service=SERVICE,
    path="stock",
    columns=(
        Column("sku", _("SKU"), sort="sku", link="{item_href}"),
        Column("name", _("Name"), sort="name"),
        # The type, unit cost and last movement go to Excel; the page keeps to what a
        # storekeeper reads on the tablet without scrolling sideways.
        Column(
            "item_type",
            _("Type"),
            kind="status",
            sort="item_type",
            labels=ITEM_TYPES,
            on_page=False,
        ),
        Column("location", _("Location"), sort="location"),
        Column("lot", _("Lot"), sort="lot", link="{genealogy_href}"),
        Column("status", _("Status"), kind="status", sort="status", labels=STOCK_STATUSES),
        Column("qty", _("Quantity"), kind="number", sort="qty"),
        Column("uom", _("Unit")),
        Column("unit_cost", _("Unit cost"), kind="money", on_page=False),
        Column("value", _("Value"), kind="money", sort="value"),
        Column("updated_at", _("Last movement"), kind="datetime", sort="updated_at", on_page=False),
        Column("ledger", _("Transactions"), link="{ledger_href}", in_export=False),
    ),
    filters=(
        Filter("sku", _("SKU")),
        Filter("lot", _("Lot")),
        Filter("location", _("Location"), kind="select", options=LOCATIONS),
        Filter("status", _("Status"), kind="select", options=tuple(STOCK_STATUSES.items())),
        Filter("item_type", _("Type"), kind="select", options=tuple(ITEM_TYPES.items())),
    ),
    default_sort="sku",
    live="stock",
    loader=_stock_rows,
)

LEDGER = Table(
    name="ledger",
    title=_("Stock ledger"),
    service=SERVICE,
    path="transactions",
    columns=(
        Column("created_at", _("When"), kind="datetime", sort="created_at"),
        Column("txn_type", _("Transaction"), kind="status", sort="txn_type", labels=TXN_TYPES),
        Column("sku", _("SKU"), sort="sku", link="{item_href}"),
        Column("location", _("Location"), sort="location"),
        Column("lot", _("Lot"), sort="lot", link="{genealogy_href}"),
        Column("status", _("Status"), kind="status", sort="status", labels=STOCK_STATUSES),
        Column("qty", _("Quantity"), kind="number", sort="qty"),
        Column("unit_cost", _("Unit cost"), kind="money", sort="unit_cost"),
        Column("value", _("Value"), kind="money", sort="value"),
        Column(
            "reference_type",
            _("Reference type"),
            kind="status",
            sort="reference_type",
            labels=REFERENCE_TYPES,
            on_page=False,  # the reference's code says it (PO-, PRD-, SO-); Excel has both
        ),
        Column("reference", _("Reference"), sort="reference", link="{reference_href}"),
        Column("reason_code", _("Reason"), sort="reason_code"),
        Column("notes", _("Notes")),
    ),
    filters=(
        Filter("sku", _("SKU")),
        Filter("lot", _("Lot")),
        Filter("location", _("Location"), kind="select", options=LOCATIONS),
        Filter("txn_type", _("Transaction"), kind="select", options=tuple(TXN_TYPES.items())),
        Filter(
            "reference_type",
            _("Reference type"),
            kind="select",
            options=tuple(REFERENCE_TYPES.items()),
        ),
        Filter("reference", _("Reference")),
        Filter("reason_code", _("Reason")),
        Filter("date_from", _("From"), kind="date"),
        Filter("date_to", _("To"), kind="date"),
    ),
    default_sort="-created_at",
    live="stock",
    loader=_ledger_rows,
)

STOCK.mount(router, "/stock-on-hand", Action.STOCK_READ, "traceability/balances.html")
LEDGER.mount(router, "/ledger", Action.STOCK_READ, "traceability/ledger.html")


# --- lot genealogy -------------------------------------------------------------------------


def _code(request: Request, name: str) -> str:
    return (request.query_params.get(name) or "").strip()


def _checked_codes(sku: str, lot: str) -> dict[str, str]:
    """What is wrong with the SKU and lot typed, by field (nothing asked of the service)."""
    errors: dict[str, str] = {}
    for name, value in (("sku", sku), ("lot", lot)):
        if not value:
            errors[name] = str(_("Enter the {what}.", what=_("SKU") if name == "sku" else _("lot")))
        elif len(value) > MAX_CODE or "\x00" in value:
            errors[name] = str(_("This is not a code the plant uses."))
    return errors


async def _genealogy(
    request: Request, page: Page, sku: str, lot: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    base = f"genealogy/lots/{quote(sku, safe='')}/{quote(lot, safe='')}"
    sources, uses = await asyncio.gather(
        upstream.get_json(request, page.user, SERVICE, f"{base}/sources"),
        upstream.get_json(request, page.user, SERVICE, f"{base}/uses"),
    )
    return sources, uses


@router.get("/genealogy")
async def genealogy(request: Request) -> Response:
    """Enter a SKU and a lot (or arrive from a stock row): what went into the lot, and where
    it went. A lot the plant does not know is said so beside the form, not as an error page."""
    page = await page_user(request, Action.STOCK_READ)
    sku, lot = _code(request, "sku"), _code(request, "lot")
    values: dict[str, Any] = {
        "sku": sku,
        "lot": lot,
        "errors": {},
        "error": None,
        "sources": None,
        "uses": None,
        "txn_types": TXN_TYPES,
        "statuses": STOCK_STATUSES,
    }
    status_code = 200
    if sku or lot:
        with language_scope(page.language):
            values["errors"] = _checked_codes(sku, lot)
        if values["errors"]:
            status_code = 422
        else:
            try:
                sources, uses = await _genealogy(request, page, sku, lot)
                values.update(
                    sources=sources,
                    uses=uses,
                    source_tree=source_tree(sources),
                    use_tree=use_tree(uses),
                )
            except upstream.UpstreamProblem as problem:
                if not 400 <= problem.status < 500 or problem.status in (401, 403):
                    raise
                status_code = problem.status
                values["errors"] = {
                    name.removeprefix("path."): message
                    for name, message in problem.field_errors.items()
                    if name.removeprefix("path.") in ("sku", "lot")
                }
                values["error"] = None if values["errors"] else str(problem.detail)
            values["ledger_href"] = ledger_href(sku, lot)
    return render(request, page, "traceability/genealogy.html", values, status_code=status_code)


feature = Feature(
    name="traceability",
    router=router,
    order=12,
    nav=(
        # Stock on hand, the ledger and lot genealogy, in the feature's own tabs.
        NavLink(_("Traceability"), "/stock-on-hand", Action.STOCK_READ),
    ),
)
