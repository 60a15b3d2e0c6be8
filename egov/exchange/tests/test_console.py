"""The clerks' console and API: scope, filters, retry, timings, silent peers, query budgets,
bad input; and the message-log export and verification."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from egov.api.testing import ApiClient, bearer_for
from egov.exchange import services, worker
from egov.exchange.choices import DeliveryState
from egov.exchange.models import Delivery
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.factories import NodeFactory
from egov.exchange.tests.handlers import KIND
from egov.orgs.choices import Role
from egov.orgs.tests.factories import OrganisationFactory, make_member

pytestmark = pytest.mark.django_db


def send(office: Any, recipients: list[Any], title: str = "通知") -> list[Delivery]:
    return services.do_dispatch(
        kind=KIND,
        sender=office,
        recipients=recipients,
        payload={"title": title},
        title=title,
        acting=SYSTEM,
    )


@pytest.fixture
def clerk(office):
    return make_member(office, Role.CLERK)


@pytest.fixture
def failed(office, cities, handler, settings):
    NodeFactory(code="node-far", url="http://127.0.0.1:9")
    for city in cities[1:]:
        city.node_code = "node-far"
        city.save()
    settings.EGOV_EXCHANGE_MAX_ATTEMPTS = 1
    send(office, cities)
    worker.run_once()
    return Delivery.objects.filter(state=DeliveryState.FAILED)


def test_failures_on_this_node_do_not_flag_it_as_not_answering(
    client, clerk, office, handler, settings
):
    # A recipient on this node without a seal certificate cannot sign a receipt: the delivery
    # fails here, and this node is not a peer that stopped answering.
    settings.EGOV_EXCHANGE_MAX_ATTEMPTS = 1
    send(office, [OrganisationFactory(name="未配发印章的单位")])
    worker.run_once()
    assert Delivery.objects.get().state == DeliveryState.FAILED
    client.force_login(clerk)
    response = client.get(reverse("exchange:console"))
    [peer] = response.context["summary"].peers
    assert peer.node == "node-a" and peer.local and not peer.flagged
    assert b'data-testid="peer-local"' in response.content
    assert b'data-testid="peer-flagged"' not in response.content


def test_console_shows_states_peers_and_timing(client, clerk, failed):
    client.force_login(clerk)
    response = client.get(reverse("exchange:console"))
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.counts[DeliveryState.DELIVERED] == 1
    assert summary.counts[DeliveryState.FAILED] == 2
    assert summary.p50_seconds is not None and summary.sample == 1
    peers = {p.node: p for p in summary.peers}
    assert peers["node-far"].flagged and not peers["node-a"].flagged
    assert b'data-testid="peer-flagged"' in response.content
    filtered = client.get(reverse("exchange:console"), {"state": "failed", "peer": "node-far"})
    assert len(filtered.context["page"].object_list) == 2
    bad = client.get(reverse("exchange:console"), {"state": "nonsense", "page": "x" * 50})
    assert bad.status_code == 200


def test_console_retry_and_scope(client, clerk, failed, office):
    client.force_login(clerk)
    target = failed.first()
    response = client.post(reverse("exchange:retry", args=[target.envelope_id]))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.state == DeliveryState.PENDING
    # Retrying a pending one is refused with a message, nothing changes.
    client.post(reverse("exchange:retry", args=[target.envelope_id]))
    target.refresh_from_db()
    assert target.state == DeliveryState.PENDING and target.attempts == 0
    assert client.post(reverse("exchange:retry", args=["not-a-uuid"])).status_code == 404
    envelope = client.get(reverse("exchange:envelope", args=[target.envelope_id]))
    assert envelope.status_code == 200 and envelope["Content-Type"] == "application/zip"
    # A clerk of another unit sees nothing of this unit's.
    other = make_member(OrganisationFactory(), Role.CLERK)
    client.force_login(other)
    assert client.post(reverse("exchange:retry", args=[target.envelope_id])).status_code == 404
    page = client.get(reverse("exchange:console"))
    assert page.context["summary"].counts[DeliveryState.PENDING] == 0
    # Not a clerk at all: no console.
    client.force_login(make_member(office))
    assert client.get(reverse("exchange:console")).status_code == 404


def test_console_query_budget(client, clerk, office, cities, handler):
    client.force_login(clerk)
    send(office, cities[:1])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("exchange:console")).status_code == 200
        return len(ctx)

    small = queries()
    more = [OrganisationFactory() for _ in range(6)]
    from egov.pki import services as pki

    pki.do_issue_demo_seals(more, acting=SYSTEM)
    send(office, more)
    send(office, cities)
    assert queries() == small


def test_api_list_get_retry(clerk, failed):
    api = ApiClient(bearer_for(clerk))
    listing = api.get("/api/v1/exchange/deliveries", {"state": "failed"})
    assert listing.status_code == 200 and listing.json()["count"] == 2
    envelope_id = listing.json()["items"][0]["envelope_id"]
    one = api.get(f"/api/v1/exchange/deliveries/{envelope_id}")
    assert one.status_code == 200 and one.json()["state"] == "failed"
    retried = api.post(f"/api/v1/exchange/deliveries/{envelope_id}/retry")
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    again = api.post(f"/api/v1/exchange/deliveries/{envelope_id}/retry")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_api_bad_input_and_scope(clerk, failed):
    api = ApiClient(bearer_for(clerk))
    assert api.get("/api/v1/exchange/deliveries", {"state": "bogus"}).status_code == 422
    assert api.get("/api/v1/exchange/deliveries", {"page": "x"}).status_code == 422
    assert api.get("/api/v1/exchange/deliveries", {"peer": "p" * 51}).status_code == 422
    assert api.get("/api/v1/exchange/deliveries/not-a-uuid").status_code == 422
    stranger = ApiClient(bearer_for(make_member(OrganisationFactory(), Role.CLERK)))
    target = failed.first()
    assert stranger.get(f"/api/v1/exchange/deliveries/{target.envelope_id}").status_code == 404
    assert (
        stranger.post(f"/api/v1/exchange/deliveries/{target.envelope_id}/retry").status_code == 404
    )
    assert stranger.get("/api/v1/exchange/deliveries").json()["count"] == 0
    assert ApiClient().get("/api/v1/exchange/deliveries").status_code == 401


def test_inbox_endpoint(client, office, cities, handler, settings):
    [d] = send(office, cities[:1])
    from egov.exchange.envelope import package_bytes

    data = package_bytes(bytes(d.manifest), bytes(d.signature))
    url = reverse("exchange:inbox")
    ok = client.post(url, data, content_type="application/zip")
    assert ok.status_code == 200 and ok["X-Exchange-Reply"] == "RECEIPT"
    again = client.post(url, data, content_type="application/zip")
    assert again.content == ok.content and again["X-Exchange-Duplicate"] == "1"
    garbage = client.post(url, b"garbage", content_type="application/zip")
    assert garbage.status_code == 400 and garbage.json()["code"] == "malformed_package"
    assert client.get(url).status_code == 405
    settings.EGOV_EXCHANGE_MAX_ENVELOPE_BYTES = 100
    big = client.post(url, data, content_type="application/zip")
    assert big.status_code == 413 and big.json()["code"] == "too_large"


def test_log_export_and_verify(office, cities, handler, parts, tmp_path):
    services.do_dispatch(
        kind=KIND,
        sender=office,
        recipients=cities,
        payload={"title": "x"},
        parts=parts,
        acting=SYSTEM,
    )
    worker.run_once()
    out = io.StringIO()
    today = timezone.now().date()
    path = tmp_path / "log.zip"
    call_command(
        "exchange",
        "log-export",
        "--since",
        str(today),
        "--until",
        str(today + timedelta(days=1)),
        str(path),
        stdout=out,
    )
    assert json.loads(out.getvalue())["entries"] == 12
    out = io.StringIO()
    call_command("exchange", "verify", str(path), stdout=out)
    result = json.loads(out.getvalue())
    assert result["ok"] and result["rows"] == 12 and len(result["envelopes"]) == 12
    out = io.StringIO()
    call_command("exchange", "log-verify", stdout=out)
    assert json.loads(out.getvalue())["ok"]


def test_log_tampering_is_found(office, cities, handler):
    from django.core.management.base import CommandError

    from egov.exchange import log
    from egov.exchange.models import LogEntry

    send(office, cities[:1])
    log.chain_pending()  # the test's transaction never commits, so chain here
    assert LogEntry.objects.filter(seq=1).update(recipient_code="someone-else") == 1
    with pytest.raises(CommandError):
        call_command("exchange", "log-verify", stdout=io.StringIO())


def test_timing_percentiles(clerk, office, cities, handler):
    from egov.exchange.selectors import console_for

    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        send(office, cities)
        clock.shift(10)
        worker.run_once()
    summary = console_for(clerk, now=start + timedelta(seconds=20))
    assert summary.p50_seconds == pytest.approx(10, abs=0.5)
    assert summary.p95_seconds == pytest.approx(10, abs=0.5)
