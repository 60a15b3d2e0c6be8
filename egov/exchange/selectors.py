"""Protected reads of the exchange: the clerks (收发员) see their units' deliveries."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from egov.exchange.choices import DeliveryState
from egov.exchange.models import Delivery
from egov.exchange.services import node_code
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User
from egov.orgs.selectors import managed_organisations

SILENT_AFTER = timedelta(minutes=15)
STUCK_ATTEMPTS = 3
TIMING_SAMPLE = 5000
RECIPIENT_ROWS = 20


def clerk_organisations(user: User) -> QuerySet[Organisation]:
    """The units where the user is a clerk (and the units below them)."""
    if not getattr(user, "is_authenticated", False):
        return Organisation.objects.none()
    return managed_organisations(user, roles={Role.CLERK})


def is_clerk(user: User) -> bool:
    return clerk_organisations(user).exists()


def visible_deliveries(user: User) -> QuerySet[Delivery]:
    return Delivery.objects.filter(sender__in=clerk_organisations(user).values("pk"))


def list_deliveries_for(
    user: User, *, state: str = "", peer: str = "", recipient: str = ""
) -> QuerySet[Delivery]:
    rows = visible_deliveries(user).select_related("sender", "recipient")
    if state:
        rows = rows.filter(state=state)
    if peer:
        rows = rows.filter(recipient_node=peer)
    if recipient:
        rows = rows.filter(Q(recipient__code=recipient) | Q(recipient__name__contains=recipient))
    return rows.order_by("-created_at", "-id")


def access_delivery_by_id(user: User, envelope_id: Any) -> Delivery:
    import uuid

    try:
        key = uuid.UUID(str(envelope_id))
    except ValueError:
        raise Http404("No such delivery.") from None
    delivery = (
        visible_deliveries(user)
        .select_related("sender", "recipient")
        .filter(envelope_id=key)
        .first()
    )
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery


@dataclass
class PeerRow:
    node: str
    counts: dict[str, int] = field(default_factory=dict)
    last_receipt: datetime | None = None
    oldest_pending: datetime | None = None
    stuck: int = 0
    flagged: bool = False
    local: bool = False  # this node: its deliveries fail for local reasons, never "not answering"


@dataclass
class RecipientRow:
    """A recipient with deliveries in flight or failed (the ones worth a look)."""

    code: str
    name: str
    node: str
    counts: dict[str, int]


@dataclass
class Console:
    counts: dict[str, int]
    peers: list[PeerRow]
    recipients: list[RecipientRow]
    p50_seconds: float | None
    p95_seconds: float | None
    sample: int


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def console_for(user: User, *, now: datetime | None = None) -> Console:
    """Counts by state, by peer and by recipient (those with deliveries in flight or failed,
    most failures first), dispatch-to-receipt p50/p95, silent peers (5 queries)."""
    now = now or timezone.now()
    own_node = node_code()
    rows = visible_deliveries(user)
    counts = {s: 0 for s in DeliveryState.values}
    for item in rows.values("state").annotate(n=Count("id")):
        counts[item["state"]] = item["n"]
    peers: dict[str, PeerRow] = {}
    for item in rows.values("recipient_node", "state").annotate(n=Count("id")):
        peer = peers.setdefault(item["recipient_node"], PeerRow(item["recipient_node"]))
        peer.counts[item["state"]] = item["n"]
    for row in rows.values("recipient_node").annotate(
        last=Max("done_at", filter=Q(state=DeliveryState.DELIVERED)),
        oldest=Min("created_at", filter=Q(state=DeliveryState.PENDING)),
        stuck=Count("id", filter=Q(state=DeliveryState.PENDING, attempts__gte=STUCK_ATTEMPTS)),
    ):
        peer = peers.setdefault(row["recipient_node"], PeerRow(row["recipient_node"]))
        peer.last_receipt = row["last"]
        peer.oldest_pending = row["oldest"]
        peer.stuck = row["stuck"]
        silent = peer.last_receipt is None or peer.last_receipt < now - SILENT_AFTER
        waiting = peer.oldest_pending is not None and peer.oldest_pending < now - SILENT_AFTER
        peer.flagged = bool(peer.stuck or peer.counts.get(DeliveryState.FAILED)) and silent
        peer.flagged = peer.flagged or (waiting and silent)
        peer.local = peer.node == own_node
        peer.flagged = peer.flagged and not peer.local
    by_recipient = (
        rows.values("recipient_id", "recipient__code", "recipient__name", "recipient_node")
        .annotate(
            n_pending=Count("id", filter=Q(state=DeliveryState.PENDING)),
            n_delivered=Count("id", filter=Q(state=DeliveryState.DELIVERED)),
            n_returned=Count("id", filter=Q(state=DeliveryState.RETURNED)),
            n_failed=Count("id", filter=Q(state=DeliveryState.FAILED)),
        )
        .filter(Q(n_failed__gt=0) | Q(n_pending__gt=0))
        .order_by("-n_failed", "-n_pending", "recipient__name", "recipient_id")
    )
    recipients = [
        RecipientRow(
            code=row["recipient__code"],
            name=row["recipient__name"],
            node=row["recipient_node"],
            counts={
                DeliveryState.PENDING: row["n_pending"],
                DeliveryState.DELIVERED: row["n_delivered"],
                DeliveryState.RETURNED: row["n_returned"],
                DeliveryState.FAILED: row["n_failed"],
            },
        )
        for row in by_recipient[:RECIPIENT_ROWS]
    ]
    done = rows.filter(state=DeliveryState.DELIVERED, done_at__isnull=False).order_by("-done_at")
    durations = [
        (d - c).total_seconds()
        for c, d in done.values_list("created_at", "done_at")[:TIMING_SAMPLE]
        if d is not None
    ]
    durations.sort()
    return Console(
        counts=counts,
        peers=sorted(peers.values(), key=lambda p: p.node),
        recipients=recipients,
        p50_seconds=percentile(durations, 50),
        p95_seconds=percentile(durations, 95),
        sample=len(durations),
    )
