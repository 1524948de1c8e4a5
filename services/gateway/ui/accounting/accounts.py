"""The chart of accounts (list, add, edit, deactivate, the QuickBooks account id of each) and the
posting accounts (which account each role of the posting rules uses).

Everyone who reads the books sees both; changing them needs `accounting.accounts.manage`
(accountant, admin). The service refuses what must not happen (deactivating an account with a
balance or one a posting role uses: 409) and the page says why beside the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway.ui import upstream
from services.gateway.ui.accounting.common import (
    ACCOUNT_TYPE_LABELS,
    MAX_CODE,
    account_options,
    accounts,
    listed,
    optional,
    post,
    query_text,
    refusal,
    split_errors,
    text,
)
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _, language_scope
from shared.web.xlsx import workbook_response

router = APIRouter()

# The roles of the posting rules (docs/accounting.md), as the accountant knows them.
ROLE_LABELS: dict[str, Text] = {
    "cash": _("Cash"),
    "accounts_receivable": _("Accounts receivable"),
    "raw_materials": _("Raw materials inventory"),
    "work_in_progress": _("Work in progress"),
    "finished_goods": _("Finished goods inventory"),
    "accounts_payable": _("Accounts payable"),
    "revenue": _("Revenue"),
    "cost_of_goods_sold": _("Cost of goods sold"),
    "scrap": _("Scrap"),
    "inventory_adjustments": _("Inventory adjustments"),
    "opening_balance_equity": _("Opening balance equity"),
}
NEW_FIELDS = ("code", "name", "account_type", "subtype")
EDIT_FIELDS = ("name", "subtype", "quickbooks_account_id")


def posting_roles(answer: Any) -> list[dict[str, Any]]:
    """[{role, account_code}] from a list of rows or a {role: code} mapping."""
    if isinstance(answer, Mapping) and "items" not in answer:
        return [{"role": role, "account_code": code} for role, code in answer.items()]
    return listed(answer)


async def _accounts_page(
    request: Request, page: Page, context: Mapping[str, Any], status_code: int = 200
) -> Response:
    chart = await accounts(request, page)
    roles = posting_roles(await optional(request, page, "posting-accounts"))
    used = {row.get("account_code") for row in roles}
    values: dict[str, Any] = {
        "chart": chart,
        "roles": roles,
        "used": used,
        "role_labels": ROLE_LABELS,
        "type_labels": ACCOUNT_TYPE_LABELS,
        "account_types": [("", _("Choose a type")), *ACCOUNT_TYPE_LABELS.items()],
        "account_choices": account_options(chart),
        "can_manage": allowed(page.user.roles, Action.BOOKS_ACCOUNTS),
        "done": query_text(request, "done", 20),
        "code": query_text(request, "code"),
        "values": {},
        "errors": {},
        "error": None,
        "row_error": None,
        "role_error": None,
        **context,
    }
    return render(request, page, "accounting/accounts.html", values, status_code=status_code)


@router.get("/accounting/accounts")
async def chart_of_accounts(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _accounts_page(request, page, {})


@router.get("/accounting/accounts.xlsx")
async def chart_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    chart = await accounts(request, page)
    with language_scope(page.language):
        headers = [
            str(label)
            for label in (
                _("Account"),
                _("Name"),
                _("Type"),
                _("Subtype"),
                _("Active"),
                _("QuickBooks account id"),
            )
        ]
        title = _("Chart of accounts").render()
        yes, no = _("Yes").render(), _("No").render()
        kinds = {key: label.render() for key, label in ACCOUNT_TYPE_LABELS.items()}
    rows = [
        [
            a.get("code"),
            a.get("name"),
            kinds.get(a.get("account_type", ""), a.get("account_type")),
            a.get("subtype"),
            yes if a.get("active", True) else no,
            a.get("quickbooks_account_id"),
        ]
        for a in chart
    ]
    return workbook_response("chart-of-accounts", title, headers, rows, timezone=page.timezone)


@router.post("/accounting/accounts/new")
async def add_account(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_ACCOUNTS)
    form = await request.form()
    values = {name: text(form, name, 100) for name in NEW_FIELDS}
    body = {name: values[name] or None for name in NEW_FIELDS}
    try:
        await post(request, page, "POST", "accounts", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(NEW_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        return await _accounts_page(request, page, context, upstream.form_status(request, problem))
    return RedirectResponse(
        f"/accounting/accounts?done=added&code={quote(values['code'])}", status_code=303
    )


@router.post("/accounting/accounts/{code}/active")
async def set_account_active(code: str, request: Request) -> Response:
    """Deactivate (active=false) or reactivate (active=true) one account."""
    page = await page_user(request, Action.BOOKS_ACCOUNTS)
    form = await request.form()
    active = text(form, "active") == "true"
    path = f"accounts/{quote(code[:MAX_CODE], safe='')}"
    try:
        await post(request, page, "PATCH", path, {"active": active})
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        context = {"row_error": (code, str(problem.detail))}
        return await _accounts_page(request, page, context, upstream.form_status(request, problem))
    done = "reactivated" if active else "deactivated"
    return RedirectResponse(f"/accounting/accounts?done={done}&code={quote(code)}", 303)


@router.post("/accounting/posting-accounts/{role}")
async def set_posting_account(role: str, request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_ACCOUNTS)
    form = await request.form()
    account_code = text(form, "account_code", MAX_CODE)
    path = f"posting-accounts/{quote(role[:MAX_CODE], safe='')}"
    try:
        await post(request, page, "PUT", path, {"account_code": account_code or None})
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        context = {"role_error": (role, str(problem.detail))}
        return await _accounts_page(request, page, context, upstream.form_status(request, problem))
    return RedirectResponse(f"/accounting/accounts?done=role&code={quote(role)}#posting", 303)


# --- one account ----------------------------------------------------------------------------


async def _account(request: Request, page: Page, code: str) -> dict[str, Any]:
    """The account `code` of the chart (the service lists them; there is no GET of one)."""
    for account in await accounts(request, page):
        if account.get("code") == code:
            return account
    raise UpstreamProblem(
        404,
        {
            "title": _("Not found").render(page.language),
            "detail": _("There is no account {code}.", code=code).render(page.language),
        },
    )


@router.get("/accounting/accounts/{code}")
async def account_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_ACCOUNTS)
    account = await _account(request, page, code[:MAX_CODE])
    values = {name: account.get(name) or "" for name in EDIT_FIELDS}
    return _edit_page(request, page, account, values, {}, None)


@router.post("/accounting/accounts/{code}")
async def edit_account(code: str, request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_ACCOUNTS)
    account = await _account(request, page, code[:MAX_CODE])
    form = await request.form()
    values = {name: text(form, name, 100) for name in EDIT_FIELDS}
    body = {
        "name": values["name"] or None,
        "subtype": values["subtype"] or None,
        # An empty QuickBooks id removes the mapping (the feed then sends our code alone).
        "quickbooks_account_id": values["quickbooks_account_id"] or None,
    }
    path = f"accounts/{quote(account['code'], safe='')}"
    try:
        await post(request, page, "PATCH", path, body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(EDIT_FIELDS))
        return _edit_page(
            request, page, account, values, errors, general, upstream.form_status(request, problem)
        )
    return RedirectResponse(
        f"/accounting/accounts?done=saved&code={quote(account['code'])}", status_code=303
    )


def _edit_page(
    request: Request,
    page: Page,
    account: Mapping[str, Any],
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    error: str | None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        page,
        "accounting/account.html",
        {
            "account": account,
            "values": values,
            "errors": errors,
            "error": error,
            "type_labels": ACCOUNT_TYPE_LABELS,
        },
        status_code=status_code,
    )
