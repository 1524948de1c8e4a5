"""The QuickBooks feed: webhook subscriptions (create, edit), the delivery log with each
delivery's attempts, a replay of one delivery, and a replay of a date range.

Everything here needs `accounting.webhooks.manage` (accountant, admin). The service signs and
sends; these pages only show what it did and ask it to do it again.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.accounting.common import (
    MAX_CODE,
    SERVICE,
    as_text,
    checked_on,
    entry_type_options,
    idempotency_key,
    listed,
    optional,
    post,
    query_text,
    refusal,
    split_errors,
    text,
)
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.tables import Column, Filter, Table
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import Text, _, language_scope
from shared.web.xlsx import workbook_response

router = APIRouter()

MANAGE = Action.BOOKS_WEBHOOKS
DELIVERY_STATUS_LABELS: dict[str, Text] = {
    "pending": _("Pending"),
    "delivered": _("Delivered"),
    "failed": _("Failed"),
}
SUBSCRIPTION_FIELDS = ("name", "url", "secret")

DELIVERIES = Table(
    name="deliveries",
    title=_("Delivery log"),
    service=SERVICE,
    path="webhooks/deliveries",
    columns=(
        Column("id", _("Delivery"), sort="id", link="/accounting/webhooks/deliveries/{id}"),
        Column("entry_number", _("Entry"), sort="entry_number", link="/journal/{entry_number}"),
        Column("subscription_id", _("Subscription")),
        Column("status", _("Status"), kind="status", sort="status", labels=DELIVERY_STATUS_LABELS),
        Column("attempts", _("Attempts"), kind="number", sort="attempts"),
        Column("last_status_code", _("Status code")),
        Column("last_response_excerpt", _("Response")),
        Column("last_error", _("Error"), on_page=False),
        Column("last_attempt_at", _("Last try"), kind="datetime", sort="last_attempt_at"),
        Column("next_attempt_at", _("Next try"), kind="datetime", sort="next_attempt_at"),
        Column("created_at", _("Queued"), kind="datetime", sort="created_at", on_page=False),
        Column("delivered_at", _("Delivered at"), kind="datetime", on_page=False),
        Column("webhook_id", _("Webhook id"), on_page=False),
    ),
    filters=(
        Filter("subscription_id", _("Subscription"), kind="select"),
        Filter("status", _("Status"), kind="select", options=tuple(DELIVERY_STATUS_LABELS.items())),
        Filter("entry_number", _("Entry")),
    ),
    default_sort="-id",
    live="journal",
)


async def _subscriptions(request: Request, page: Page) -> list[dict[str, Any]]:
    found = await upstream.get_json(request, page.user, SERVICE, "webhooks/subscriptions")
    return listed(found)


async def _deliveries_table(request: Request, page: Page) -> Table:
    subscriptions = await _subscriptions(request, page)
    options = tuple((str(s["id"]), as_text(str(s.get("name") or s["id"]))) for s in subscriptions)
    filters = tuple(
        dataclasses.replace(f, options=options) if f.name == "subscription_id" else f
        for f in DELIVERIES.filters
    )
    return dataclasses.replace(DELIVERIES, filters=filters)


# --- subscriptions --------------------------------------------------------------------------


@router.get("/accounting/webhooks")
async def subscriptions(request: Request) -> Response:
    page = await page_user(request, MANAGE)
    return await _subscriptions_page(request, page, {})


async def _subscriptions_page(
    request: Request, page: Page, context: Mapping[str, Any], status_code: int = 200
) -> Response:
    values: dict[str, Any] = {
        "subscriptions": await _subscriptions(request, page),
        "entry_types": await entry_type_options(request, page),
        "values": {"active": "on"},
        "chosen": [],
        "key": str(uuid.uuid4()),
        "errors": {},
        "error": None,
        **context,
    }
    return render(request, page, "accounting/webhooks.html", values, status_code=status_code)


@router.get("/accounting/webhooks.xlsx")
async def subscriptions_xlsx(request: Request) -> Response:
    page = await page_user(request, MANAGE)
    found = await _subscriptions(request, page)
    with language_scope(page.language):
        headers = [
            str(label) for label in (_("Subscription"), _("URL"), _("Active"), _("Entry types"))
        ]
        title = _("Webhook subscriptions").render()
        yes, no, every = _("Yes").render(), _("No").render(), _("All").render()
    rows = [
        [
            s.get("id"),
            s.get("name"),
            s.get("url"),
            yes if s.get("active") else no,
            ", ".join(s.get("entry_types") or []) or every,
            s.get("pending"),
            s.get("failed"),
        ]
        for s in found
    ]
    return workbook_response("webhook-subscriptions", title, headers, rows, timezone=page.timezone)


def _subscription_body(form: FormData) -> tuple[dict[str, str], list[str], dict[str, Any]]:
    values = {name: text(form, name, 2000) for name in SUBSCRIPTION_FIELDS}
    values["active"] = "on" if checked_on(form, "active") else ""
    chosen = [t for t in form.getlist("entry_types") if isinstance(t, str) and t][:50]
    body: dict[str, Any] = {
        "name": values["name"] or None,
        "url": values["url"] or None,
        "active": bool(values["active"]),
        "entry_types": chosen,  # none chosen: every entry type is sent
    }
    if values["secret"]:  # left empty: one is made (a new subscription) or kept (an edit)
        body["secret"] = values["secret"]
    return values, chosen, body


@router.post("/accounting/webhooks/new")
async def create_subscription(request: Request) -> Response:
    page = await page_user(request, MANAGE)
    form = await request.form()
    values, chosen, body = _subscription_body(form)
    key = idempotency_key(form)
    try:
        created = await post(request, page, "POST", "webhooks/subscriptions", body, key=key)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(SUBSCRIPTION_FIELDS) | {"entry_types"})
        context = {
            "values": values,
            "chosen": chosen,
            "errors": errors,
            "error": general,
            "key": key,
        }
        return await _subscriptions_page(
            request, page, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(
        f"/accounting/webhooks/{quote(str(created['id']), safe='')}?done=created", 303
    )


# --- the delivery log (before /{id}, which would take "deliveries" for an id) ---------------


@router.get("/accounting/webhooks/deliveries")
async def deliveries(request: Request) -> Response:
    page = await page_user(request, MANAGE)
    table = await _deliveries_table(request, page)
    context = {
        "replay": {
            "subscription_id": query_text(request, "subscription_id"),
            "date_from": "",
            "date_to": "",
        },
        "replay_errors": {},
        "replay_error": None,
        "replayed": query_text(request, "replayed", 10),
        "subscription_options": table.filters[0].options,
    }
    return await table.respond(
        request, page, "accounting/deliveries.html", "/accounting/webhooks/deliveries", context
    )


@router.get("/accounting/webhooks/deliveries.xlsx")
async def deliveries_xlsx(request: Request) -> Response:
    page = await page_user(request, MANAGE)
    return await DELIVERIES.export(request, page)


REPLAY_FIELDS = ("subscription_id", "date_from", "date_to")


@router.post("/accounting/webhooks/replay")
async def replay_range(request: Request) -> Response:
    """Send again every entry of a date range to one subscription."""
    page = await page_user(request, MANAGE)
    form = await request.form()
    values = {name: text(form, name, MAX_CODE) for name in REPLAY_FIELDS}
    body = {name: values[name] or None for name in REPLAY_FIELDS}
    try:
        answer = await post(request, page, "POST", "webhooks/replay", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(REPLAY_FIELDS))
        table = await _deliveries_table(request, page)
        context = {
            "replay": values,
            "replay_errors": errors,
            "replay_error": general,
            "replayed": "",
            "subscription_options": table.filters[0].options,
        }
        return await table.respond(
            request,
            page,
            "accounting/deliveries.html",
            "/accounting/webhooks/deliveries",
            context,
        )
    count = _count(answer)
    query = urlencode({"subscription_id": values["subscription_id"], "replayed": count})
    return RedirectResponse(f"/accounting/webhooks/deliveries?{query}", status_code=303)


def _count(answer: Any) -> str:
    """How many deliveries a replay queued (new ones and ones sent again)."""
    if isinstance(answer, Mapping):
        return str(int(answer.get("queued") or 0) + int(answer.get("requeued") or 0))
    return "0"


@router.get("/accounting/webhooks/deliveries/{delivery_id}")
async def delivery(delivery_id: str, request: Request) -> Response:
    page = await page_user(request, MANAGE)
    return await _delivery_page(request, page, delivery_id, {})


async def _delivery_page(
    request: Request,
    page: Page,
    delivery_id: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    path = f"webhooks/deliveries/{quote(delivery_id[:MAX_CODE], safe='')}"
    found = await upstream.get_json(request, page.user, SERVICE, path)
    values = {
        "delivery": found,
        "attempts": listed(found.get("attempt_log") or []),
        "status_labels": DELIVERY_STATUS_LABELS,
        "done": query_text(request, "done", 10),
        "error": None,
        **context,
    }
    return render(request, page, "accounting/delivery.html", values, status_code=status_code)


@router.post("/accounting/webhooks/deliveries/{delivery_id}/replay")
async def replay_delivery(delivery_id: str, request: Request) -> Response:
    page = await page_user(request, MANAGE)
    path = f"webhooks/deliveries/{quote(delivery_id[:MAX_CODE], safe='')}/replay"
    try:
        answer = await post(request, page, "POST", path)
    except UpstreamProblem as problem:
        if not refusal(problem) or problem.status == 404:
            raise
        return await _delivery_page(
            request,
            page,
            delivery_id,
            {"error": str(problem.detail)},
            upstream.form_status(request, problem),
        )
    target = quote(str(answer.get("id") or delivery_id), safe="")
    return RedirectResponse(f"/accounting/webhooks/deliveries/{target}?done=replayed", 303)


# --- one subscription -----------------------------------------------------------------------


@router.get("/accounting/webhooks/{subscription_id}")
async def subscription(subscription_id: str, request: Request) -> Response:
    page = await page_user(request, MANAGE)
    return await _subscription_page(request, page, subscription_id, {})


async def _subscription_page(
    request: Request,
    page: Page,
    subscription_id: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    code = quote(subscription_id[:MAX_CODE], safe="")
    found = await upstream.get_json(request, page.user, SERVICE, f"webhooks/subscriptions/{code}")
    recent = await optional(
        request, page, "webhooks/deliveries", {"subscription_id": subscription_id, "limit": 25}
    )
    values: dict[str, Any] = {
        "subscription": found,
        "entry_types": await entry_type_options(request, page),
        "values": {
            "name": found.get("name", ""),
            "url": found.get("url", ""),
            "active": "on" if found.get("active") else "",
        },
        "chosen": list(found.get("entry_types") or []),
        "deliveries": listed(recent),
        "deliveries_total": recent.get("total") if isinstance(recent, Mapping) else None,
        "status_labels": DELIVERY_STATUS_LABELS,
        "done": query_text(request, "done", 10),
        "errors": {},
        "error": None,
        **context,
    }
    return render(request, page, "accounting/webhook.html", values, status_code=status_code)


@router.post("/accounting/webhooks/{subscription_id}")
async def edit_subscription(subscription_id: str, request: Request) -> Response:
    page = await page_user(request, MANAGE)
    values, chosen, body = _subscription_body(await request.form())
    code = quote(subscription_id[:MAX_CODE], safe="")
    try:
        await post(request, page, "PATCH", f"webhooks/subscriptions/{code}", body)
    except UpstreamProblem as problem:
        if not refusal(problem) or problem.status == 404:
            raise
        errors, general = split_errors(problem, set(SUBSCRIPTION_FIELDS) | {"entry_types"})
        context = {"values": values, "chosen": chosen, "errors": errors, "error": general}
        return await _subscription_page(
            request, page, subscription_id, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(f"/accounting/webhooks/{code}?done=saved", status_code=303)
