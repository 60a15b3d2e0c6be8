"""The documents demo: needs seed_demo; without seal certificates it stops the dispatched document
after sign-off and says why; after `pki init --demo` it carries it on to the cities, where it
waits to be signed for; a second run changes nothing; the demo people have their to-dos."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from egov.core.acting import Acting
from egov.core.models import AuditEvent, Notification
from egov.documents import processing_form
from egov.documents.choices import DistributionState, IncomingState, OutgoingState
from egov.documents.demo import DEMO_DOCUMENTS, ORG_KEYS, demo_organisations
from egov.documents.models import DocumentEvent, IncomingDocument, OutgoingDocument
from egov.documents.todos import DocumentTodoProvider
from egov.exchange.models import Delivery
from egov.orgs.models import User
from egov.pki import services as pki

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The refusals are checked by their English source text."""
    with translation.override("en"):
        yield


DISPATCHED = next(d.title for d in DEMO_DOCUMENTS if d.stage == OutgoingState.DISPATCHED)


def run() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("seed_documents_demo", "--quiet-logins", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "outgoing": OutgoingDocument.objects.count(),
        "incoming": IncomingDocument.objects.count(),
        "events": DocumentEvent.objects.count(),
        "deliveries": Delivery.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def states() -> dict[str, str]:
    return dict(OutgoingDocument.objects.values_list("title", "state"))


@pytest.fixture
def orgs_demo() -> None:
    call_command("seed_demo", "--quiet-logins", stdout=StringIO())


def seals_for_the_demo() -> None:
    """What `pki init --demo` does, for the organisations of this demo only (quicker)."""
    pki.do_init_hierarchy(acting=Acting.system("test"))
    orgs = demo_organisations()
    pki.do_issue_demo_seals([orgs[key] for key in ORG_KEYS], acting=Acting.system("test"))


def test_without_seals_then_with_them_then_again(orgs_demo: None) -> None:
    out, err = run()
    assert "4 documents created" in out
    assert "pki init --demo" in err and DISPATCHED in err  # said clearly, not a failure
    assert states() == {
        "关于进一步规范政务信息报送工作的通知": OutgoingState.DRAFT,
        "关于商请提供2025年度教育领域政务公开工作情况的函": OutgoingState.IN_REVIEW,
        "关于做好冬春季森林草原防灭火工作的通知": OutgoingState.AWAITING_SIGN_OFF,
        DISPATCHED: OutgoingState.SIGNED_OFF,  # stopped before a number is taken
    }
    assert IncomingDocument.objects.count() == 0

    seals_for_the_demo()
    out, err = run()
    assert err == "" and "0 documents created" in out and "2 copies delivered" in out
    doc = OutgoingDocument.objects.get(title=DISPATCHED)
    assert doc.state == OutgoingState.DISPATCHED and doc.number.startswith("冀政办〔")
    received = IncomingDocument.objects.filter(source_uuid=doc.uuid).select_related("organisation")
    assert {(d.organisation.name, d.state) for d in received} == {
        ("石家庄市人民政府", IncomingState.RECEIVED),
        ("唐山市人民政府", IncomingState.RECEIVED),
    }
    assert all(d.reply_due is not None for d in received)
    # the 发文稿纸 shows each copy delivered (the exchange's state until it is signed for)
    rows = processing_form.outgoing_form_context(doc)["distribution"]
    assert [label for _row, label in rows] == [str(DistributionState.DELIVERED.label)] * 2

    before = counts()
    out, err = run()
    assert counts() == before and err == ""
    assert "0 documents created, 0 steps taken, 0 copies delivered" in out


def test_demo_people_have_todos(orgs_demo: None) -> None:
    seals_for_the_demo()
    run()
    provider = DocumentTodoProvider()
    expected = {
        "reviewer": "review",
        "signer": "sign_off",
        "sjz_doc_clerk": "clerk_in",
        "ts_doc_clerk": "clerk_in",
    }
    for username, kind in expected.items():
        items = provider.items_for(User.objects.get(username=username), 20)
        assert kind in {item.kind for item in items}, username


def test_needs_seed_demo() -> None:
    with pytest.raises(CommandError, match="seed_demo"):
        run()
    assert OutgoingDocument.objects.count() == 0


def test_refused_with_production_settings(settings: Any) -> None:
    settings.SETTINGS_MODULE = "egov.settings.prod"
    with pytest.raises(CommandError, match="production"):
        run()
