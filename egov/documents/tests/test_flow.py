"""The sending and receiving flows end to end through the services: one notice from the general
office to a city government, through the exchange (same node), to closure; out-of-turn actions,
direction rules and returns refused with a reason and nothing changed."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.utils import translation

from egov.core.errors import DomainError, InvalidTransition, NotPermitted
from egov.documents import services
from egov.documents.choices import (
    Classification,
    Direction,
    DistributionState,
    DocType,
    IncomingState,
    OutgoingState,
    RecipientRole,
)
from egov.documents.models import DocumentEvent, IncomingDocument, OutgoingDocument
from egov.documents.tests.factories import (
    SYSTEM,
    World,
    acting,
    draft,
    person,
    to_dispatched,
    to_signed_off,
)
from egov.documents.uploads import store_upload
from egov.exchange import worker
from egov.orgs.choices import OrgKind, Role
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import OrganisationFactory
from egov.pki import services as pki

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The refusals are checked by their English source text."""
    with translation.override("en"):
        yield


def test_notice_goes_from_draft_to_closure(world: World) -> None:
    w = world
    attachment = store_upload("附件1.txt", io.BytesIO("冬季安全生产检查表".encode()))
    doc = services.do_create_draft(
        w.office,
        services.DraftData(
            doc_type=DocType.NOTICE,
            direction=Direction.DOWNWARD,
            title="关于做好2026年冬季安全生产工作的通知",
            body="<p>做好冬季安全生产工作。</p>",
            recipients=[(w.city, RecipientRole.MAIN)],
        ),
        attachments=[attachment],
        acting=acting(w.drafter),
    )
    doc = to_dispatched(w, doc)
    year = doc.year
    assert doc.number == f"冀政办发〔{year}〕1号"
    assert doc.state == OutgoingState.DISPATCHED
    assert doc.document_date is not None and doc.signed_off_by == w.signer
    assert worker.run_once().delivered == 1

    incoming = IncomingDocument.objects.get(organisation=w.city)
    assert incoming.number == doc.number and incoming.state == IncomingState.RECEIVED
    assert incoming.pdf_sha256 == doc.sealed_sha256
    assert [a.name for a in incoming.attachments.all()] == ["附件1.txt"]

    incoming = services.do_sign_for(incoming, acting=acting(w.city_clerk))
    assert worker.run_once().delivered == 1  # the signed-for notice travels back
    row = doc.distribution.get()
    assert row.state == DistributionState.SIGNED_FOR and row.signed_for_at is not None

    incoming = services.do_register_incoming(incoming, acting=acting(w.city_clerk))
    assert incoming.register_number.endswith(f"〔{year}〕1号")
    incoming = services.do_screen(incoming, accept=True, acting=acting(w.city_clerk))
    incoming = services.do_propose(incoming, text="请秘书科办理。", acting=acting(w.city_clerk))
    incoming = services.do_instruct(incoming, text="同意，抓好落实。", acting=acting(w.city_leader))
    incoming = services.do_assign(
        incoming, lead=w.city_unit, readers=[w.city_leader], acting=acting(w.city_clerk)
    )
    assert incoming.state == IncomingState.IN_HANDLING
    assert services.do_mark_read(incoming, acting=acting(w.city_leader))
    assert not services.do_mark_read(incoming, acting=acting(w.city_leader))
    with pytest.raises(InvalidTransition):
        services.do_close(incoming, acting=acting(w.city_clerk))
    assignment = incoming.assignments.get()
    services.do_handle(assignment, result="已部署检查。", acting=acting(w.handler))
    incoming = services.do_answer(incoming, note="已落实。", acting=acting(w.city_clerk))
    incoming = services.do_close(incoming, acting=acting(w.city_clerk))
    incoming = services.do_archive(incoming, acting=acting(w.city_clerk))
    assert incoming.state == IncomingState.ARCHIVED
    kinds = list(DocumentEvent.objects.filter(incoming=incoming).values_list("kind", flat=True))
    assert kinds[0] == "received" and kinds[-1] == "archived"
    out_kinds = set(DocumentEvent.objects.filter(outgoing=doc).values_list("kind", flat=True))
    assert {"created", "submitted", "approved", "signed_off", "registered", "sealed"} <= out_kinds
    assert "signed_for" in out_kinds


def test_out_of_turn_actions_are_refused_and_change_nothing(world: World) -> None:
    w = world
    doc = draft(w)
    with pytest.raises(InvalidTransition):
        services.do_sign_off(doc, approve=True, acting=acting(w.signer))
    with pytest.raises(InvalidTransition):
        services.do_register(doc, acting=acting(w.clerk))
    doc = services.do_submit(doc, [w.reviewer1, w.reviewer2], acting=acting(w.drafter))
    with pytest.raises(NotPermitted):  # reviewer 2 is not yet at their turn
        services.do_review(doc, approve=True, acting=acting(w.reviewer2))
    with pytest.raises(DomainError, match="reason"):
        services.do_review(doc, approve=False, comment="  ", acting=acting(w.reviewer1))
    doc.refresh_from_db()
    assert doc.state == OutgoingState.IN_REVIEW
    doc = services.do_review(doc, approve=False, comment="标题不准确", acting=acting(w.reviewer1))
    assert doc.state == OutgoingState.DRAFT
    doc = to_dispatched(w, doc)
    with pytest.raises(InvalidTransition):
        services.do_dispatch(doc, acting=acting(w.clerk))
    assert doc.distribution.count() == 1


def test_recheck_with_an_edit_goes_back_to_sign_off(world: World) -> None:
    w = world
    doc = to_signed_off(w, draft(w))
    with pytest.raises(InvalidTransition, match="Re-check"):
        services.do_register(doc, acting=acting(w.clerk))
    doc = services.do_recheck(
        doc, body="<p>改正后的正文。</p>", reason="改正错字", acting=acting(w.clerk)
    )
    assert doc.state == OutgoingState.AWAITING_SIGN_OFF and doc.signed_off_by is None
    doc = services.do_sign_off(doc, approve=True, acting=acting(w.signer))
    doc = services.do_recheck(doc, acting=acting(w.clerk))
    doc = services.do_register(doc, acting=acting(w.clerk))
    assert doc.state == OutgoingState.REGISTERED


def test_only_a_signer_signs_off(world: World) -> None:
    w = world
    doc = draft(w)
    doc = services.do_submit(doc, [w.reviewer1], acting=acting(w.drafter))
    doc = services.do_review(doc, approve=True, acting=acting(w.reviewer1))
    with pytest.raises(NotPermitted):
        services.do_sign_off(doc, approve=True, acting=acting(w.clerk))


def test_registration_numbers_follow_on(world: World) -> None:
    w = world
    numbers = []
    for _ in range(3):
        doc = to_signed_off(w, draft(w))
        doc = services.do_recheck(doc, acting=acting(w.clerk))
        numbers.append(services.do_register(doc, acting=acting(w.clerk)).serial)
    assert numbers == [1, 2, 3]


def test_direction_rules(world: World) -> None:
    w = world
    ministry = OrganisationFactory(name="国务院办公厅", kind=OrgKind.GENERAL_OFFICE)
    other = OrganisationFactory(name="河北省发展和改革委员会", kind=OrgKind.DEPARTMENT)
    with pytest.raises(DomainError, match="one main recipient"):
        services.do_submit(
            draft(
                w,
                doc_type=DocType.REQUEST,
                direction=Direction.UPWARD,
                recipients=[(ministry, RecipientRole.MAIN), (other, RecipientRole.MAIN)],
            ),
            [w.reviewer1],
            acting=acting(w.drafter),
        )
    with pytest.raises(DomainError, match="not copied to subordinate"):
        services.do_submit(
            draft(
                w,
                doc_type=DocType.REQUEST,
                direction=Direction.UPWARD,
                recipients=[(ministry, RecipientRole.MAIN), (w.city, RecipientRole.COPY)],
            ),
            [w.reviewer1],
            acting=acting(w.drafter),
        )
    department = OrganisationFactory(
        name="河北省应急管理厅", kind=OrgKind.DEPARTMENT, parent=w.province
    )
    dept_drafter = person(department, Role.DRAFTER, Role.REVIEWER)
    doc = services.do_create_draft(
        department,
        services.DraftData(
            doc_type=DocType.NOTICE,
            direction=Direction.DOWNWARD,
            title="关于开展检查的通知",
            body="<p>正文</p>",
            recipients=[(w.city, RecipientRole.MAIN)],
        ),
        acting=acting(dept_drafter),
    )
    with pytest.raises(DomainError, match="lower government"):
        services.do_submit(doc, [dept_drafter], acting=acting(dept_drafter))
    doc.refresh_from_db()
    assert doc.state == OutgoingState.DRAFT


def test_classified_documents_need_a_copy_number_and_never_enter_the_exchange(world: World) -> None:
    w = world
    with pytest.raises(DomainError, match="copy number"):
        draft(w, classification=Classification.SECRET)
    assert not OutgoingDocument.objects.exists()
    doc = draft(w, classification=Classification.SECRET, copy_number="000001")
    doc = to_signed_off(w, doc)
    doc = services.do_recheck(doc, acting=acting(w.clerk))
    doc = services.do_register(doc, acting=acting(w.clerk))
    doc = services.do_render(doc, acting=acting(w.clerk))
    doc = services.do_seal(doc, acting=acting(w.clerk))
    with pytest.raises(DomainError, match="classified"):
        services.do_dispatch(doc, acting=acting(w.clerk))
    doc.refresh_from_db()
    assert doc.state == OutgoingState.SEALED


def test_script_in_the_body_is_never_kept(world: World) -> None:
    doc = draft(world, body='<p>正文<script>alert(1)</script><img src=x onerror="alert(2)"></p>')
    assert "<script" not in doc.body and "onerror" not in doc.body and "正文" in doc.body


def test_screening_returns_to_the_issuer_with_the_reason(world: World) -> None:
    w = world
    doc = to_dispatched(w, draft(w))
    worker.run_once()
    incoming = IncomingDocument.objects.get(organisation=w.city)
    incoming = services.do_sign_for(incoming, acting=acting(w.city_clerk))
    incoming = services.do_register_incoming(incoming, acting=acting(w.city_clerk))
    with pytest.raises(DomainError, match="reason"):
        services.do_screen(incoming, accept=False, acting=acting(w.city_clerk))
    incoming = services.do_screen(
        incoming, accept=False, reason="不属于本单位职责", acting=acting(w.city_clerk)
    )
    assert incoming.state == IncomingState.RETURNED
    worker.run_once()
    row = doc.distribution.get()
    assert row.state == DistributionState.RETURNED and row.returned_reason == "不属于本单位职责"


def copy_state(doc: OutgoingDocument) -> str:
    from egov.documents.selectors import distribution_states

    [copy] = distribution_states(doc)
    return copy.state


def test_recall_before_sign_for(world: World) -> None:
    w = world
    doc = to_dispatched(w, draft(w))
    row = doc.distribution.get()
    with pytest.raises(InvalidTransition, match="not reached the recipient"):
        services.do_recall(row, acting=acting(w.clerk))  # it would overtake its document
    worker.run_once()
    services.do_recall(row, acting=acting(w.clerk))
    assert copy_state(doc) == DistributionState.RECALL_REQUESTED
    with pytest.raises(InvalidTransition, match="already"):
        services.do_recall(row, acting=acting(w.clerk))
    worker.run_once()
    incoming = IncomingDocument.objects.get(organisation=w.city)
    assert incoming.state == IncomingState.RECALLED
    assert copy_state(doc) == DistributionState.RECALLED  # the recipient's signed answer
    with pytest.raises(InvalidTransition):
        services.do_sign_for(incoming, acting=acting(w.city_clerk))


def test_recall_after_the_recipient_signed_for_it_is_refused(world: World) -> None:
    w = world
    doc = to_dispatched(w, draft(w))
    worker.run_once()
    incoming = IncomingDocument.objects.get(organisation=w.city)
    # The recipient signs for it; the issuer recalls before the signed-for notice arrives.
    services.do_sign_for(incoming, acting=acting(w.city_clerk))
    services.do_recall(doc.distribution.get(), acting=acting(w.clerk))
    worker.run_once()  # both the signed-for notice and the recall travel
    worker.run_once()
    incoming.refresh_from_db()
    assert incoming.state == IncomingState.SIGNED_FOR
    assert copy_state(doc) == DistributionState.SIGNED_FOR


def test_answers_only_move_forward(world: World) -> None:
    """A signed-for notice that arrives after a return (retries, bundles) changes nothing."""
    from egov.documents.handlers import SignedForHandler
    from egov.exchange.registry import ReceivedEnvelope

    w = world
    doc = to_dispatched(w, draft(w))
    row = doc.distribution.get()
    row.state = DistributionState.RETURNED
    row.save()
    SignedForHandler().accept(
        ReceivedEnvelope(
            envelope_id="00000000-0000-0000-0000-000000000001",
            kind=services.SIGNED_FOR_KIND,
            manifest={"payload": {"envelope_id": str(row.envelope_id), "by": "x"}},
            parts=[],
            sender_code=w.city.code,
            recipient=w.office,
            inbox_entry=None,
        )
    )
    row.refresh_from_db()
    assert row.state == DistributionState.RETURNED


def test_the_receiver_checks_the_seal_on_the_pdf(world: World) -> None:
    """Check 9: the sealed PDF validates against the province root and is sealed by the
    envelope's signer; one changed byte, or another agency's seal, is returned with a reason."""
    from egov.documents.handlers import DocumentHandler
    from egov.documents.services import exchange_payload
    from egov.exchange.envelope import PartSpec, PartStore
    from egov.exchange.sealing import seal_for

    w = world
    doc = to_signed_off(w, draft(w))
    for step in (services.do_recheck, services.do_register, services.do_render, services.do_seal):
        doc = step(doc, acting=acting(w.clerk))
    store = PartStore()
    sealed = store.path(doc.sealed_sha256).read_bytes()
    handler = DocumentHandler()

    def check(data: bytes, signer: Organisation) -> str | None:
        sha, sm3, size = store.put_stream(io.BytesIO(data))
        manifest = {
            "payload": exchange_payload(doc),
            "sender": {"certificate": seal_for(signer).fingerprint_sha256},
        }
        refusal = handler.validate(
            manifest, [PartSpec("document.pdf", "application/pdf", size, sha, sm3)]
        )
        return refusal.reason if refusal else None

    assert check(sealed, w.office) is None
    assert check(sealed, w.city) == "seal_not_sender"
    middle = len(sealed) // 3
    tampered = sealed[:middle] + bytes([sealed[middle] ^ 0x01]) + sealed[middle + 1 :]
    assert check(tampered, w.office) == "seal_invalid"
    assert check(sealed + b"%% appended\n", w.office) == "seal_invalid"
    unsealed = store.path(doc.pdf_sha256).read_bytes()
    assert check(unsealed, w.office) == "seal_missing"


def test_joint_issue_needs_every_leader_and_carries_every_seal(world: World) -> None:
    from egov.documents.pdfseal import validate_sealed_pdf
    from egov.exchange.envelope import PartStore

    w = world
    finance = OrganisationFactory.create(
        name="河北省财政厅", kind=OrgKind.DEPARTMENT, parent=w.province
    )
    pki.do_issue_demo_seals([finance], acting=SYSTEM)
    finance_signer = person(finance, Role.SIGNER)
    doc = draft(w, joint=[finance])
    doc = services.do_submit(doc, [w.reviewer1], acting=acting(w.drafter))
    doc = services.do_review(doc, approve=True, acting=acting(w.reviewer1))
    doc = services.do_sign_off(doc, approve=True, acting=acting(w.signer))
    assert doc.state == OutgoingState.AWAITING_SIGN_OFF  # the co-issuer has not signed yet
    # The co-issuer returns it: every signature is void, the lead's leader signs again.
    doc = services.do_sign_off(
        doc, approve=False, comment="请补充资金安排", acting=acting(finance_signer)
    )
    assert doc.state == OutgoingState.DRAFT and doc.signed_off_by is None
    doc = services.do_submit(doc, [w.reviewer1], acting=acting(w.drafter))
    doc = services.do_review(doc, approve=True, acting=acting(w.reviewer1))
    doc = services.do_sign_off(doc, approve=True, acting=acting(finance_signer))
    assert doc.state == OutgoingState.AWAITING_SIGN_OFF
    doc = services.do_sign_off(doc, approve=True, acting=acting(w.signer))
    assert doc.state == OutgoingState.SIGNED_OFF
    for step in (services.do_recheck, services.do_register, services.do_render, services.do_seal):
        doc = step(doc, acting=acting(w.clerk))
    with PartStore().open(doc.sealed_sha256) as sealed:
        checks = validate_sealed_pdf(sealed)  # type: ignore[arg-type]
    assert len(checks) == 2 and all(c.ok for c in checks)
    assert doc.number.startswith("冀政办发〔")  # the lead agency's number
