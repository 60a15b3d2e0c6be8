"""The delivery worker: claim due outbox rows, send each envelope, and settle it by its reply.

Claiming takes `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (several workers, several
machines), a plain update on SQLite (one worker). A claim is a lease (`claimed_until`): a worker
that dies mid-send leaves the row to be claimed again when the lease ends, and the receiver's
de-duplication answers the repeat with the original receipt. Only a valid signed reply ends a
delivery; anything else schedules a retry with exponential back-off and full jitter, and after
`EGOV_EXCHANGE_MAX_ATTEMPTS` the delivery is FAILED: the sender's clerks are notified (once per
failure, `services.do_notify_failed_deliveries`), see it in their to-do list and can retry it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from egov.core.acting import Acting
from egov.exchange.choices import DeliveryState, Transport
from egov.exchange.conf import setting_int
from egov.exchange.envelope import SPOOL_BYTES, EnvelopeError, package_file
from egov.exchange.models import Delivery, Node
from egov.exchange.receiving import fault, receive_package
from egov.exchange.services import (
    do_notify_failed_deliveries,
    do_process_reply,
    node_code,
    transport_for,
)
from egov.exchange.tls import node_session

logger = logging.getLogger("egov.exchange")
SYSTEM = Acting.system("exchange.worker")
# Tests may set this to a callable(point) that raises at a named point (a network cut).
fault_hook: Callable[[str], None] | None = None


def lease() -> timedelta:
    return timedelta(seconds=setting_int("EGOV_EXCHANGE_LEASE_SECONDS", 120))


def max_attempts() -> int:
    return setting_int("EGOV_EXCHANGE_MAX_ATTEMPTS", 8)


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential back-off with full jitter: uniform in [base·2^(n-1) / 2, base·2^(n-1)]."""
    base = float(setting_int("EGOV_EXCHANGE_RETRY_BASE_SECONDS", 5))
    cap = float(setting_int("EGOV_EXCHANGE_RETRY_MAX_SECONDS", 3600))
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    rng = rng or random.SystemRandom()
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


def _point(name: str) -> None:
    fault(name)
    if fault_hook is not None:
        fault_hook(name)


class SendError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RunStats:
    claimed: int = 0
    delivered: int = 0
    returned: int = 0
    retried: int = 0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def _bundle_nodes() -> list[str]:
    return list(Node.objects.filter(transport=Transport.BUNDLE).values_list("code", flat=True))


def pending_count() -> int:
    """Deliveries still to send by this worker (bundle-bound ones excluded)."""
    return (
        Delivery.objects.filter(state=DeliveryState.PENDING)
        .exclude(recipient_node__in=_bundle_nodes())
        .count()
    )


def claim(limit: int, *, now: datetime | None = None) -> list[int]:
    """Lease up to `limit` due deliveries (not waiting for a bundle) and return their ids."""
    now = now or timezone.now()
    bundle_nodes = _bundle_nodes()
    due = (
        Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .exclude(recipient_node__in=bundle_nodes)
        .order_by("next_attempt_at", "id")
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            Delivery.objects.filter(id__in=ids).update(claimed_until=now + lease())
    return ids


def _large(delivery: Delivery) -> bool:
    parts = json.loads(bytes(delivery.manifest))["parts"]
    return sum(int(p["size"]) for p in parts) + 64 * 1024 > SPOOL_BYTES


def send(delivery: Delivery, nodes: dict[str, Node], session: requests.Session) -> bytes:
    """Hand the package to the recipient's node and return its reply package."""
    transport = transport_for(delivery.recipient_node, nodes)
    with package_file(bytes(delivery.manifest), bytes(delivery.signature)) as body:
        _point("before_send")
        if transport == Transport.LOCAL:
            outcome = receive_package(body)
            if outcome.reply is None:
                raise SendError(outcome.code, outcome.message)
            reply = outcome.reply
        elif transport == Transport.HTTP:
            node = nodes[delivery.recipient_node]
            url = node.url.rstrip("/") + "/exchange/inbox"
            # A package that fits the spool is in memory already: send it in one piece.
            payload: Any = body if _large(delivery) else body.read()
            try:
                response = session.post(
                    url,
                    data=payload,
                    headers={"Content-Type": "application/zip"},
                    timeout=(5, 60),
                )
            except requests.RequestException as exc:
                raise SendError("unreachable", str(exc)[:400]) from exc
            if response.status_code != 200:
                code = "http_" + str(response.status_code)
                with contextlib.suppress(ValueError):
                    code = str(response.json().get("code", code))
                raise SendError(code, response.text[:400])
            reply = response.content
        else:
            raise SendError("unknown_node", f"no route to node {delivery.recipient_node}")
    _point("after_send")
    return reply


def _settle(delivery_id: int, reply: bytes) -> str:
    _point("before_receipt_stored")
    return do_process_reply(delivery_id, reply, acting=SYSTEM).state


def _schedule_retry(delivery_id: int, code: str, message: str, stats: RunStats) -> None:
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.state != DeliveryState.PENDING:
            return
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_error_code = code[:50]
        delivery.last_error = message[:500]
        delivery.claimed_until = None
        if delivery.attempts >= max_attempts():
            delivery.state = DeliveryState.FAILED
            stats.failed += 1
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            stats.retried += 1
        delivery.save()
    stats.errors[code] = stats.errors.get(code, 0) + 1


def process(
    delivery: Delivery, nodes: dict[str, Node], session: requests.Session, stats: RunStats
) -> None:
    delivery_id = delivery.pk
    try:
        reply = send(delivery, nodes, session)
        state = _settle(delivery_id, reply)
    except SendError as exc:
        _schedule_retry(delivery_id, exc.code, exc.message, stats)
        return
    except EnvelopeError as exc:  # the reply did not verify: keep trying
        _schedule_retry(delivery_id, "bad_reply_" + exc.code, exc.message, stats)
        return
    except Exception as exc:  # a bug or a database hiccup: log it, keep the row, retry later
        logger.exception("exchange delivery %s failed", delivery_id)
        _schedule_retry(delivery_id, "internal_error", repr(exc)[:400], stats)
        return
    if state == DeliveryState.RETURNED:
        stats.returned += 1
    else:
        stats.delivered += 1


def run_once(*, limit: int = 100, threads: int = 1) -> RunStats:
    """Claim one batch and send it (in `threads` threads on PostgreSQL; one on SQLite)."""
    stats = RunStats()
    ids = claim(limit)
    stats.claimed = len(ids)
    if not ids:
        return stats
    nodes = {n.code: n for n in Node.objects.all()}
    nodes.setdefault(node_code(), Node(code=node_code(), transport=Transport.LOCAL))
    # What sending needs, for the whole batch in one query (settling locks each row again).
    rows = Delivery.objects.filter(id__in=ids).only("id", "recipient_node", "manifest", "signature")
    by_id = {d.pk: d for d in rows}
    batch = [by_id[i] for i in ids if i in by_id]
    if threads <= 1 or connection.vendor == "sqlite":
        with node_session() as session:
            for delivery in batch:
                process(delivery, nodes, session, stats)
    else:
        # The threads take the next delivery from one queue, so a slow recipient holds up one
        # thread rather than a fixed share of the batch.
        queue = iter(batch)
        take = threading.Lock()

        def work() -> None:
            try:
                with node_session() as session:
                    while True:
                        with take:
                            delivery = next(queue, None)
                        if delivery is None:
                            return
                        process(delivery, nodes, session, stats)
            finally:
                close_old_connections()
                connection.close()

        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(work) for _ in range(min(threads, len(batch)))]:
                future.result()
    if stats.failed:
        _notify_failures()
    return stats


def _notify_failures() -> None:
    # A failure to notify must not lose the batch's results: the periodic task sweeps again.
    try:
        do_notify_failed_deliveries(acting=SYSTEM)
    except Exception:
        logger.exception("exchange failure notification failed")
