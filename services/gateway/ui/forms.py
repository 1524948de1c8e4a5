"""What every feature's forms do with the services' answers, written once: whether a refusal is
the user's to correct beside the form, its messages by field, the key that makes a form's post
idempotent, a typed value read safely, and a stored quantity shown the way a person types
it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import FormData

from services.gateway.ui.upstream import UpstreamProblem


def text(form: FormData | Mapping[str, Any], name: str, limit: int = 1000) -> str:
    """A typed value, trimmed; what no field can hold (a NUL, a novel) is nothing."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return value if len(value) <= limit and "\x00" not in value else ""


def refusal(problem: UpstreamProblem) -> bool:
    """A 4xx the page can show beside its form (not a missing session or a forbidden role)."""
    return 400 <= problem.status < 500 and problem.status not in (401, 403)


def split_errors(problem: UpstreamProblem, fields: set[str]) -> tuple[dict[str, str], str | None]:
    """The problem's messages by form field, and the rest as one message for the whole form.

    A field path may come as 'body.amount' or 'query.date_from'; a refusal naming no field of
    the form (a 409 about an order's status, an overlap naming the other shift) is the form's
    message.
    """
    errors: dict[str, str] = {}
    rest: list[str] = []
    for raw, message in problem.field_errors.items():
        name = raw.removeprefix("body.").removeprefix("query.").removeprefix("path.")
        if name in fields:
            errors.setdefault(name, message)
        else:
            rest.append(message)
    general = " ".join(rest) if rest else None
    if not errors and general is None:
        general = str(problem.detail)
    return errors, general


def idempotency_key(form: FormData) -> str:
    """The form's own key (a uuid drawn with the form), or a new one for a hand-made post."""
    try:
        return str(uuid.UUID(text(form, "idempotency_key")))
    except ValueError:
        return str(uuid.uuid4())


def plain(value: Any) -> str:
    """'8.0000' -> '8', '1.2500' -> '1.25': what a person types."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    return format(number, "f")
