"""API for the clerks (收发员): their units' deliveries, one delivery, retry a failed one.

`/exchange/deliveries…` under /api/v1. The node-to-node inbox is not part of this API (it is
`POST /exchange/inbox`, authenticated by the envelope's signature).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from egov.api.errors import READ_ERRORS, WRITE_ERRORS, errors
from egov.api.pagination import Page, PageQuery, paginate
from egov.core.acting import Acting
from egov.exchange import selectors, services
from egov.exchange.choices import DeliveryState
from egov.exchange.models import Delivery

router = Router(tags=["exchange"])


class OrgRef(Schema):
    uuid: UUID
    code: str
    name: str


class DeliveryOut(Schema):
    envelope_id: UUID
    batch_id: UUID
    kind: str
    title: str
    in_reply_to: UUID | None
    sender: OrgRef
    recipient: OrgRef
    recipient_node: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error_code: str
    reply_kind: str
    return_reason: str
    manifest_sha256: str
    created_at: datetime
    done_at: datetime | None


class DeliveryFilters(Schema):
    state: DeliveryState | None = None
    peer: str = Field("", max_length=50, description="recipient node code")
    recipient: str = Field("", max_length=100, description="recipient code or part of its name")


@router.get(
    "/exchange/deliveries",
    response={200: Page[DeliveryOut], **errors(*READ_ERRORS)},
    summary="Deliveries sent by the clerk's units",
)
def list_deliveries(
    request: HttpRequest, filters: Query[DeliveryFilters], paging: Query[PageQuery]
) -> Any:
    rows = selectors.list_deliveries_for(
        request.user,  # type: ignore[arg-type]
        state=filters.state.value if filters.state else "",
        peer=filters.peer,
        recipient=filters.recipient,
    )
    return paginate(rows, paging)


@router.get(
    "/exchange/deliveries/{envelope_id}",
    response={200: DeliveryOut, **errors(*READ_ERRORS)},
    summary="One delivery",
)
def get_delivery(request: HttpRequest, envelope_id: UUID) -> Delivery:
    return selectors.access_delivery_by_id(request.user, envelope_id)  # type: ignore[arg-type]


@router.post(
    "/exchange/deliveries/{envelope_id}/retry",
    response={200: DeliveryOut, **errors(*WRITE_ERRORS)},
    summary="Queue a failed delivery again",
)
def retry_delivery(request: HttpRequest, envelope_id: UUID) -> Delivery:
    delivery = selectors.access_delivery_by_id(request.user, envelope_id)  # type: ignore[arg-type]
    services.do_retry_delivery(delivery, acting=Acting.from_request(request))
    return selectors.access_delivery_by_id(request.user, envelope_id)  # type: ignore[arg-type]
