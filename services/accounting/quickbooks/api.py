"""HTTP API of the QuickBooks feed under /api/v1: webhook subscriptions, the delivery log and
replays (manage: `accounting.webhooks.manage`; read: `accounting.books.read`), and the IIF and
CSV exports of the journal (read)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.accounting.quickbooks import domain, service
from services.accounting.quickbooks.domain import FeedEntry
from services.accounting.quickbooks.schemas import (
    MAX_ID,
    DeliveryStatus,
    ReplayOut,
    ReplayRange,
    WebhookDeliveryDetailOut,
    WebhookDeliveryOut,
    WebhookSubscriptionCreate,
    WebhookSubscriptionOut,
    WebhookSubscriptionUpdate,
)
from services.accounting.quickbooks.service import DeliveryFilters
from shared.auth.permissions import Action, allowed
from shared.auth.tokens import TokenClaims
from shared.events.envelope import utc_now
from shared.web.commands import new_uow, run_command
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["quickbooks"])

Manager = Annotated[TokenClaims, Depends(require_permission(Action.BOOKS_WEBHOOKS))]
Reader = Annotated[TokenClaims, Depends(require_permission(Action.BOOKS_READ))]
Pages = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID)]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID)]
DateFrom = Annotated[date | None, Query(description="First entry date (included)")]
DateTo = Annotated[date | None, Query(description="Last entry date (included)")]

IIF_MEDIA_TYPE = "text/plain"
CSV_MEDIA_TYPE = "text/csv"


def _file_response(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string"}}},
        }
    }


def _may_manage(claims: TokenClaims) -> bool:
    return allowed(claims.roles, Action.BOOKS_WEBHOOKS)


# --- subscriptions ----------------------------------------------------------------------------


@router.get("/webhooks/subscriptions", response_model=list[WebhookSubscriptionOut])
def list_subscriptions(request: Request, claims: Reader) -> list[WebhookSubscriptionOut]:
    """Every subscription with its pending and failed deliveries; the secrets only to those who
    manage webhooks."""
    with new_uow(request) as uow:
        return service.list_subscriptions(uow, show_secret=_may_manage(claims))


@router.post("/webhooks/subscriptions", status_code=201, response_model=WebhookSubscriptionOut)
def create_subscription(
    body: WebhookSubscriptionCreate, request: Request, user: Manager
) -> JSONResponse:
    """Add a receiver of the feed. It gets the entries posted from now on (older ones by
    `POST /webhooks/replay`); the answer shows the signing secret. Send an Idempotency-Key."""
    return run_command(
        request,
        lambda uow: service.create_subscription(uow, body, user.user, utc_now()),
        status_code=201,
    )


@router.get("/webhooks/subscriptions/{subscription_id}", response_model=WebhookSubscriptionOut)
def get_subscription(
    subscription_id: SubscriptionId, request: Request, claims: Reader
) -> WebhookSubscriptionOut:
    with new_uow(request) as uow:
        return service.get_subscription(uow, subscription_id, show_secret=_may_manage(claims))


@router.patch("/webhooks/subscriptions/{subscription_id}", response_model=WebhookSubscriptionOut)
def update_subscription(
    subscription_id: SubscriptionId,
    body: WebhookSubscriptionUpdate,
    request: Request,
    user: Manager,
) -> JSONResponse:
    """Change the name, URL, secret, entry types; `active: false` pauses the feed."""
    return run_command(
        request,
        lambda uow: service.update_subscription(uow, subscription_id, body, user.user, utc_now()),
    )


# --- deliveries -------------------------------------------------------------------------------


def delivery_filters(
    subscription_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: DeliveryStatus | None = None,
    entry_number: Annotated[str | None, Query(max_length=20)] = None,
) -> DeliveryFilters:
    return DeliveryFilters(subscription_id, status, entry_number)


@router.get("/webhooks/deliveries", response_model=Page[WebhookDeliveryOut])
def list_deliveries(
    request: Request,
    _reader: Reader,
    page: Pages,
    sort: Sort,
    filters: Annotated[DeliveryFilters, Depends(delivery_filters)],
) -> Page[WebhookDeliveryOut]:
    """The delivery log, newest first; `sort` is id, created_at, entry_number, status,
    attempts, next_attempt_at or last_attempt_at ('-' for descending)."""
    with new_uow(request) as uow:
        return service.list_deliveries(uow, page, filters, sort)


@router.get("/webhooks/deliveries/{delivery_id}", response_model=WebhookDeliveryDetailOut)
def get_delivery(
    delivery_id: DeliveryId, request: Request, _reader: Reader
) -> WebhookDeliveryDetailOut:
    """One delivery with every attempt: when, status code, time taken, answer or error."""
    with new_uow(request) as uow:
        return service.get_delivery(uow, delivery_id)


@router.post("/webhooks/deliveries/{delivery_id}/replay", response_model=WebhookDeliveryOut)
def replay_delivery(delivery_id: DeliveryId, request: Request, _user: Manager) -> JSONResponse:
    """Send the delivery again now, with the same webhook-id, from the start of the schedule."""
    return run_command(request, lambda uow: service.replay_delivery(uow, delivery_id, utc_now()))


@router.post("/webhooks/replay", response_model=ReplayOut)
def replay_range(body: ReplayRange, request: Request, _user: Manager) -> JSONResponse:
    """Send every entry dated in the range again (or for the first time) to a subscription."""
    return run_command(request, lambda uow: service.replay_range(uow, body, utc_now()))


# --- exports ----------------------------------------------------------------------------------


def _export(
    request: Request,
    date_from: date | None,
    date_to: date | None,
    render: Callable[[Iterable[FeedEntry]], str],
    media_type: str,
    extension: str,
) -> Response:
    with new_uow(request) as uow:
        text = service.journal_export(uow, date_from, date_to, render)
    span = "-".join(str(day) for day in (date_from, date_to) if day is not None) or "all"
    return Response(
        text,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="journal-{span}.{extension}"'},
    )


@router.get(
    "/exports/journal.iif",
    response_class=Response,
    responses=_file_response(IIF_MEDIA_TYPE, "The journal as a QuickBooks Desktop IIF file"),
)
def export_iif(
    request: Request, _reader: Reader, date_from: DateFrom = None, date_to: DateTo = None
) -> Response:
    """The entries dated in the range as QuickBooks Desktop general journal transactions."""
    return _export(request, date_from, date_to, domain.iif_text, IIF_MEDIA_TYPE, "iif")


@router.get(
    "/exports/journal.csv",
    response_class=Response,
    responses=_file_response(CSV_MEDIA_TYPE, "The journal lines as CSV"),
)
def export_csv(
    request: Request, _reader: Reader, date_from: DateFrom = None, date_to: DateTo = None
) -> Response:
    """One row per journal line of the entries dated in the range."""
    return _export(request, date_from, date_to, domain.csv_text, CSV_MEDIA_TYPE, "csv")
