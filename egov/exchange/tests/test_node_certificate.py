"""A RETURN signed by the recipient node's operator (not the recipient) settles a delivery only
if the operator's certificate is the one the directory names for that node."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.utils import timezone

from egov.exchange import services, worker
from egov.exchange.choices import DeliveryState, Kind
from egov.exchange.envelope import EnvelopeError, package_bytes, parse_package
from egov.exchange.models import Delivery, Node
from egov.exchange.sealing import seal_for
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.factories import NodeFactory
from egov.exchange.tests.handlers import KIND
from egov.pki import services as pki


@pytest.fixture
def far(db, office, cities):
    """cities[0] is served by node-far, operated by cities[1]; office sends it a notice."""
    NodeFactory(code="node-far", url="http://127.0.0.1:9", operator=cities[1])
    cities[0].node_code = "node-far"
    cities[0].save()
    [delivery] = services.do_dispatch(
        kind=KIND,
        sender=office,
        recipients=[cities[0]],
        payload={"title": "通知"},
        acting=SYSTEM,
    )
    return delivery


def operator_return(delivery: Delivery, signer: Any) -> bytes:
    """The RETURN node-far's operator signs when the recipient is not served there."""
    parsed = parse_package(
        io.BytesIO(package_bytes(bytes(delivery.manifest), bytes(delivery.signature)))
    )
    return services.build_reply(
        kind=Kind.RETURN,
        to=parsed,
        signer=signer,
        status="returned",
        reason="misaddressed",
        message="not served here",
        received_at=timezone.now(),
    )


@pytest.mark.django_db
def test_operator_return_with_the_directory_certificate_settles(far, cities):
    Node.objects.filter(code="node-far").update(
        certificate_sha256=seal_for(cities[1]).fingerprint_sha256
    )
    delivery = services.do_process_reply(far.pk, operator_return(far, cities[1]), acting=SYSTEM)
    assert delivery.state == DeliveryState.RETURNED and delivery.return_reason == "misaddressed"


@pytest.mark.django_db
def test_operator_return_with_another_certificate_is_refused(far, cities):
    pinned = seal_for(cities[1]).fingerprint_sha256
    Node.objects.filter(code="node-far").update(certificate_sha256=pinned)
    # The operator got a new seal the directory does not name yet (or someone else holds it).
    newer = pki.do_issue_with_server_key(cities[1], acting=SYSTEM)
    assert newer.fingerprint_sha256 != pinned and seal_for(cities[1]) == newer
    with pytest.raises(EnvelopeError) as exc:
        services.do_process_reply(far.pk, operator_return(far, cities[1]), acting=SYSTEM)
    assert exc.value.code == "node_certificate_mismatch"
    far.refresh_from_db()
    assert far.state == DeliveryState.PENDING and not far.reply
    # Once the directory names the new certificate, the same RETURN settles.
    Node.objects.filter(code="node-far").update(certificate_sha256=newer.fingerprint_sha256)
    delivery = services.do_process_reply(far.pk, operator_return(far, cities[1]), acting=SYSTEM)
    assert delivery.state == DeliveryState.RETURNED


@pytest.mark.django_db
def test_without_a_certificate_in_the_directory_the_operator_is_enough(far, cities):
    assert Node.objects.get(code="node-far").certificate_sha256 == ""
    delivery = services.do_process_reply(far.pk, operator_return(far, cities[1]), acting=SYSTEM)
    assert delivery.state == DeliveryState.RETURNED


@pytest.mark.django_db
def test_nobody_but_the_recipient_or_operator_answers(far, cities, office):
    with pytest.raises(EnvelopeError) as exc:
        services.do_process_reply(far.pk, operator_return(far, cities[2]), acting=SYSTEM)
    assert exc.value.code == "reply_mismatch"


@pytest.mark.django_db(transaction=True)
def test_worker_keeps_retrying_a_return_with_the_wrong_certificate(
    live_server, settings, office, cities, handler
):
    """The live server plays node-far (operated by cities[1]): it RETURNs the envelope as
    misaddressed; with a wrong certificate in the directory the sender does not accept it."""
    NodeFactory(code="node-a", operator=cities[1])  # the live server's own operator
    NodeFactory(
        code="node-far",
        url=live_server.url,
        operator=cities[1],
        certificate_sha256="0" * 64,
    )
    cities[0].node_code = "node-far"
    cities[0].save()
    services.do_dispatch(
        kind=KIND, sender=office, recipients=[cities[0]], payload={"title": "t"}, acting=SYSTEM
    )
    stats = worker.run_once()
    assert stats.errors == {"bad_reply_node_certificate_mismatch": 1}
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.last_error_code == "bad_reply_node_certificate_mismatch"
    Node.objects.filter(code="node-far").update(
        certificate_sha256=seal_for(cities[1]).fingerprint_sha256
    )
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert worker.run_once().returned == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.return_reason) == (DeliveryState.RETURNED, "misaddressed")
