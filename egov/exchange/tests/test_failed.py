"""Failed deliveries reach the sender's clerks (收发员): a notification when a delivery turns
FAILED (each failure once), a to-do linking to the console filtered on failed deliveries, and
the console's retry (one, or all those shown) that the worker then delivers."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from egov.core.models import AuditEvent, Notification
from egov.core.todos import todos_for
from egov.exchange import services, worker
from egov.exchange.choices import DeliveryState
from egov.exchange.models import Delivery
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.factories import NodeFactory
from egov.exchange.tests.handlers import KIND
from egov.exchange.todos import FailedDeliveriesProvider
from egov.orgs.choices import OrgKind, Role
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import OrganisationFactory, make_member
from egov.pki import services as pki

pytestmark = pytest.mark.django_db
CONSOLE_FAILED = "/exchange/?state=failed"


def send(office: Any, recipients: list[Any], title: str = "关于春节值班的通知") -> list[Delivery]:
    return services.do_dispatch(
        kind=KIND,
        sender=office,
        recipients=recipients,
        payload={"title": title},
        title=title,
        acting=SYSTEM,
    )


@pytest.fixture
def people(office):
    """A clerk of the office, a clerk of the government above it, and people who see nothing."""
    government = OrganisationFactory(name="河北省人民政府", kind=OrgKind.GOVERNMENT)
    office.parent = government
    office.save()
    return {
        "clerk": make_member(office, Role.CLERK),
        "upper_clerk": make_member(government, Role.CLERK),
        "drafter": make_member(office, Role.DRAFTER),
        "stranger": make_member(OrganisationFactory(), Role.CLERK),
    }


@pytest.fixture
def unreachable(settings, cities):
    """cities[1:] on a node nobody answers at; one attempt before FAILED."""
    NodeFactory(code="node-far", url="http://127.0.0.1:9")
    for city in cities[1:]:
        city.node_code = "node-far"
        city.save()
    settings.EGOV_EXCHANGE_MAX_ATTEMPTS = 1
    return cities[1:]


def failure_notes(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=services.FAILED_KIND))


def test_clerks_are_told_once_per_failure(office, cities, handler, people, unreachable):
    send(office, cities)
    stats = worker.run_once()
    assert (stats.delivered, stats.failed) == (1, 2)
    for who in ("clerk", "upper_clerk"):
        [note] = failure_notes(people[who])
        assert note.url == CONSOLE_FAILED
        assert "2" in note.title and office.name in note.title
    for who in ("drafter", "stranger"):
        assert failure_notes(people[who]) == []
    assert not Delivery.objects.filter(
        state=DeliveryState.FAILED, failure_notified_at__isnull=True
    ).exists()
    # Sweeping again (the periodic task) tells nobody twice.
    assert services.do_notify_failed_deliveries(acting=SYSTEM) == 0
    assert len(failure_notes(people["clerk"])) == 1
    # A retry that fails again is a new failure: told once more, with its title.
    failed = Delivery.objects.filter(state=DeliveryState.FAILED).first()
    services.do_retry_delivery(failed, acting=SYSTEM)
    assert worker.run_once().failed == 1
    notes = failure_notes(people["clerk"])
    assert len(notes) == 2
    assert sum("关于春节值班的通知" in n.title for n in notes) == 1


def test_a_worker_that_dies_before_telling_is_caught_up_by_the_task(
    office, cities, handler, people, unreachable
):
    from egov.exchange.tasks import deliver_due

    send(office, unreachable)
    worker.run_once()
    # As if the worker died between marking FAILED and notifying.
    Notification.objects.all().delete()
    Delivery.objects.update(failure_notified_at=None)
    deliver_due.call()
    assert len(failure_notes(people["clerk"])) == 1


def test_todo_counts_one_item_linking_to_failed_deliveries(
    office, cities, handler, people, unreachable
):
    provider = FailedDeliveriesProvider()
    assert provider.count_for(people["clerk"]) == 0
    assert provider.items_for(people["clerk"], 10) == []
    send(office, cities)
    worker.run_once()
    for who in ("clerk", "upper_clerk"):
        items, summaries = todos_for(people[who])
        [item] = [i for i in items if i.subsystem == "exchange"]
        assert item.url == CONSOLE_FAILED and item.extra == {"count": "2"}
        assert "2" in item.title
        assert {s.subsystem: s.count for s in summaries}["exchange"] == 1
    for who in ("drafter", "stranger"):
        assert provider.count_for(people[who]) == 0
        assert provider.items_for(people[who], 10) == []

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            provider.count_for(people["clerk"])
            provider.items_for(people["clerk"], 10)
        return len(ctx)

    few = queries()
    send(office, unreachable)
    worker.run_once()
    assert queries() == few
    services.do_retry_failed(Delivery.objects.all(), acting=SYSTEM)
    assert provider.count_for(people["clerk"]) == 0


def test_console_retry_then_worker_delivers(client, office, ca, handler, people, settings):
    """The recipient had no seal certificate, so it could not sign a receipt: FAILED. Its seal
    is issued; the clerk retries from the console; the worker delivers."""
    settings.EGOV_EXCHANGE_MAX_ATTEMPTS = 1
    city: Organisation = OrganisationFactory(name="唐山市人民政府")
    [delivery] = send(office, [city])
    worker.run_once()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_error_code == "no_seal_certificate"
    pki.do_issue_demo_seals([city], acting=SYSTEM)
    client.force_login(people["clerk"])
    page = client.get(CONSOLE_FAILED)
    assert page.status_code == 200
    assert [d.envelope_id for d in page.context["page"].object_list] == [delivery.envelope_id]
    response = client.post(reverse("exchange:retry", args=[delivery.envelope_id]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 0)
    assert delivery.failure_notified_at is None
    assert worker.run_once().delivered == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.done_at is not None
    assert AuditEvent.objects.filter(action="exchange.retried").count() == 1


def test_retry_all_failed_follows_the_filters_and_the_scope(
    client, office, cities, handler, people, unreachable
):
    NodeFactory(code="node-gone", url="http://127.0.0.1:9")
    cities[0].node_code = "node-gone"
    cities[0].save()
    send(office, cities)
    worker.run_once()
    assert Delivery.objects.filter(state=DeliveryState.FAILED).count() == 3
    # Someone else's clerk retries nothing of ours.
    client.force_login(people["stranger"])
    client.post(reverse("exchange:retry_failed"))
    assert Delivery.objects.filter(state=DeliveryState.FAILED).count() == 3
    client.force_login(people["drafter"])
    assert client.post(reverse("exchange:retry_failed")).status_code == 404
    # Only the peer shown.
    client.force_login(people["clerk"])
    response = client.post(reverse("exchange:retry_failed"), {"peer": "node-far"})
    assert response.status_code == 302
    pending = Delivery.objects.filter(state=DeliveryState.PENDING)
    assert {d.recipient_node for d in pending} == {"node-far"} and pending.count() == 2
    assert AuditEvent.objects.get(action="exchange.retried_failed").details == {"count": 2}
    client.post(reverse("exchange:retry_failed"), {"recipient": cities[0].code})
    assert not Delivery.objects.filter(state=DeliveryState.FAILED).exists()
    # Nothing left: a message, no error.
    assert client.post(reverse("exchange:retry_failed")).status_code == 302
    assert client.get(reverse("exchange:retry_failed")).status_code == 405


def test_console_by_recipient(client, office, cities, handler, people, unreachable):
    send(office, cities)
    worker.run_once()
    send(office, cities[1:2], title="第二份")
    client.force_login(people["clerk"])
    response = client.get(reverse("exchange:console"))
    rows = response.context["summary"].recipients
    # Only recipients with deliveries in flight or failed, most failures first.
    assert [r.code for r in rows] == [cities[1].code, cities[2].code]
    first = rows[0]
    assert first.counts == {"pending": 1, "delivered": 0, "returned": 0, "failed": 1}
    assert first.node == "node-far"
    assert b'data-testid="recipient-table"' in response.content
    assert b'data-testid="retry-failed"' in response.content
    peers = {p.node: p for p in response.context["summary"].peers}
    assert peers["node-far"].flagged and peers["node-far"].counts["failed"] == 2
