"""Same-node delivery through the one code path: dispatch, worker, receive, receipt, log."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
import time_machine

from egov.exchange import log, services, worker
from egov.exchange.choices import DeliveryState, Kind
from egov.exchange.envelope import package_bytes, parse_package
from egov.exchange.models import Delivery, InboxEntry, LogEntry
from egov.exchange.receiving import receive_bytes
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.handlers import KIND

pytestmark = pytest.mark.django_db


def dispatch(office: Any, recipients: list[Any], parts: list[Any], **payload: Any) -> list[Any]:
    return services.do_dispatch(
        kind=KIND,
        sender=office,
        recipients=recipients,
        payload={"title": "关于做好2026年政务工作的通知", **payload},
        parts=parts,
        title="notice",
        acting=SYSTEM,
    )


def test_dispatch_delivers_once_with_receipts(office, cities, parts, handler):
    deliveries = dispatch(office, cities, parts)
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 3
    stats = worker.run_once()
    assert stats.delivered == 3
    assert sorted(handler.accepted) == sorted(str(d.envelope_id) for d in deliveries)
    for d in Delivery.objects.all():
        assert d.state == DeliveryState.DELIVERED
        assert d.reply_kind == Kind.RECEIPT
        reply = parse_package(io.BytesIO(bytes(d.reply)))
        assert reply.manifest["in_reply_to"] == str(d.envelope_id)
        assert reply.manifest["sender"]["org"] == d.recipient.code
        assert reply.manifest["payload"]["manifest_sha256"] == d.manifest_sha256
    assert InboxEntry.objects.count() == 3
    # 3 sent + 3 received + 3 receipts sent + 3 receipts received
    assert LogEntry.objects.count() == 12
    assert list(log.verify_log()) == []
    assert worker.run_once().claimed == 0


def test_repeat_gets_original_receipt_and_creates_nothing(office, cities, parts, handler):
    [d] = dispatch(office, cities[:1], parts)
    data = package_bytes(bytes(d.manifest), bytes(d.signature))
    first = receive_bytes(data)
    second = receive_bytes(data)
    assert first.reply is not None and second.reply == first.reply
    assert second.duplicate
    assert len(handler.accepted) == 1
    assert InboxEntry.objects.count() == 1
    services.do_process_reply(d.pk, second.reply, acting=SYSTEM)
    services.do_process_reply(d.pk, second.reply, acting=SYSTEM)
    assert Delivery.objects.get(pk=d.pk).state == DeliveryState.DELIVERED


def test_payload_refusal_is_a_signed_return(office, cities, parts, handler):
    dispatch(office, cities[:1], parts, classification="secret")
    worker.run_once()
    d = Delivery.objects.get()
    assert d.state == DeliveryState.RETURNED
    assert d.reply_kind == Kind.RETURN
    assert d.return_reason == "classified"
    assert handler.accepted == []


def test_unknown_kind_is_returned(office, cities, parts):
    services.do_dispatch(
        kind="NO_SUCH_KIND", sender=office, recipients=cities[:1], payload={}, acting=SYSTEM
    )
    worker.run_once()
    d = Delivery.objects.get()
    assert (d.state, d.return_reason) == (DeliveryState.RETURNED, "unknown_kind")


def test_unreachable_peer_backs_off_then_fails_and_clerk_retries(
    office, cities, parts, handler, settings
):
    from egov.exchange.tests.factories import NodeFactory

    NodeFactory(code="node-far", url="http://127.0.0.1:9")
    cities[0].node_code = "node-far"
    cities[0].save()
    settings.EGOV_EXCHANGE_MAX_ATTEMPTS = 3
    dispatch(office, cities[:1], parts)
    with time_machine.travel("2030-01-01 00:00:00+00:00", tick=False) as clock:
        first = worker.run_once()
        assert first.retried == 1 and first.errors == {"unreachable": 1}
        d = Delivery.objects.get()
        assert d.state == DeliveryState.PENDING and d.attempts == 1
        assert worker.run_once().claimed == 0  # not due yet
        for _ in range(2):
            clock.shift(3600)
            worker.run_once()
        d.refresh_from_db()
        assert d.state == DeliveryState.FAILED and d.attempts == 3
    services.do_retry_delivery(d, acting=SYSTEM)
    d.refresh_from_db()
    assert d.state == DeliveryState.PENDING and d.attempts == 0


def test_backoff_grows_with_jitter():
    import random

    rng = random.Random(1)
    values = [worker.backoff(n, rng=rng).total_seconds() for n in range(1, 8)]
    assert values[0] <= 5 and values[-1] >= 5 * 2**6 / 2
    assert all(b > a / 2 for a, b in itertools.pairwise(values))


def test_recall_travels_as_an_envelope(office, cities, parts, handler):
    [d] = dispatch(office, cities[:1], parts)
    worker.run_once()
    d.refresh_from_db()
    recall = services.do_recall(d, acting=SYSTEM)
    worker.run_once()
    recall.refresh_from_db()
    assert recall.state == DeliveryState.DELIVERED and recall.reply_kind == Kind.RECALL_ACK
    reply = parse_package(io.BytesIO(bytes(recall.reply)))
    assert reply.manifest["payload"]["status"] == "recalled"
    assert InboxEntry.objects.get(envelope_id=d.envelope_id).recalled_at is not None


def test_periodic_task_delivers(office, cities, handler):
    from egov.exchange.tasks import deliver_due

    dispatch(office, cities, [])
    assert deliver_due.call() == 3
    assert Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == 3
