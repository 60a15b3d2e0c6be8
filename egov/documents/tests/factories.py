"""Factories and a ready-made world for the documents tests: rows made directly (for the
statistics and forms), and a province with its general office, a city government and one person
per role, with helpers that take a draft through the services to sign-off or dispatch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from egov.core.acting import Acting
from egov.documents import services
from egov.documents.choices import Direction, DocType, OutgoingState, RecipientRole, Urgency
from egov.documents.models import Assignment, IncomingDocument, OutgoingDocument
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, PositionFactory, UserFactory
from egov.pki import services as pki

SYSTEM = Acting.system("test")


class OutgoingDocumentFactory(DjangoModelFactory[OutgoingDocument]):
    class Meta:
        model = OutgoingDocument

    organisation = factory.SubFactory(OrganisationFactory)
    doc_type = DocType.NOTICE
    direction = Direction.DOWNWARD
    title = factory.Sequence(lambda n: f"关于做好第{n}项工作的通知")
    body = "<p>做好有关工作。</p>"
    drafted_by = factory.SubFactory(UserFactory)


class IncomingDocumentFactory(DjangoModelFactory[IncomingDocument]):
    class Meta:
        model = IncomingDocument

    organisation = factory.SubFactory(OrganisationFactory)
    envelope_id = factory.LazyFunction(uuid.uuid4)
    sender_code = "11130000DEM000022"
    sender_name = "河北省人民政府办公厅"
    role = RecipientRole.MAIN
    doc_type = DocType.NOTICE
    number = factory.Sequence(lambda n: f"冀政办发〔2026〕{n + 1}号")
    title = factory.Sequence(lambda n: f"关于开展第{n}项检查的通知")
    urgency = Urgency.NORMAL
    pdf_name = "document.pdf"
    pdf_sha256 = "0" * 64
    pdf_sm3 = "0" * 64
    received_at = factory.LazyFunction(timezone.now)


class AssignmentFactory(DjangoModelFactory[Assignment]):
    class Meta:
        model = Assignment

    document = factory.SubFactory(IncomingDocumentFactory)
    unit = factory.SubFactory(OrganisationFactory)
    is_lead = True


@dataclass
class World:
    province: Organisation
    office: Organisation
    city: Organisation
    city_unit: Organisation
    drafter: User
    reviewer1: User
    reviewer2: User
    signer: User
    clerk: User
    city_clerk: User
    city_leader: User
    handler: User
    outsider: User


def person(org: Organisation, *roles: str) -> User:
    return PositionFactory(organisation=org, roles=list(roles)).user  # type: ignore[no-any-return]


def acting(user: User) -> Acting:
    return Acting(user=user)


def make_world() -> World:
    """The general office of a province and a city government with an internal unit, seal
    certificates for both, and one person per role (plus an outsider in another province)."""
    province: Organisation = OrganisationFactory(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE, doc_code="冀政"
    )
    office: Organisation = OrganisationFactory(
        name="河北省人民政府办公厅",
        kind=OrgKind.GENERAL_OFFICE,
        level=OrgLevel.PROVINCE,
        parent=province,
        doc_code="冀政办发",
    )
    city: Organisation = OrganisationFactory(
        name="石家庄市人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY, parent=province
    )
    city_unit: Organisation = OrganisationFactory(
        name="石家庄市政府办公室秘书科",
        kind=OrgKind.INTERNAL_UNIT,
        level=OrgLevel.CITY,
        parent=city,
    )
    elsewhere = OrganisationFactory.create(name="山西省人民政府", kind=OrgKind.GOVERNMENT)
    pki.do_issue_demo_seals([office, city], acting=SYSTEM)
    return World(
        province=province,
        office=office,
        city=city,
        city_unit=city_unit,
        drafter=person(office, Role.DRAFTER),
        reviewer1=person(office, Role.REVIEWER),
        reviewer2=person(office, Role.REVIEWER),
        signer=person(office, Role.SIGNER),
        clerk=person(office, Role.CLERK),
        city_clerk=person(city, Role.CLERK),
        city_leader=person(city, Role.SIGNER),
        handler=person(city_unit, Role.HANDLER),
        outsider=person(elsewhere, Role.CLERK, Role.DRAFTER, Role.REVIEWER, Role.SIGNER),
    )


def draft(w: World, **overrides: Any) -> OutgoingDocument:
    data = services.DraftData(
        doc_type=DocType.NOTICE,
        direction=Direction.DOWNWARD,
        title="关于做好2026年冬季安全生产工作的通知",
        body="<p>各市人民政府：</p><h2>一、提高认识</h2><p>做好冬季安全生产工作。</p>",
        recipients=[(w.city, RecipientRole.MAIN)],
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return services.do_create_draft(w.office, data, acting=acting(w.drafter))


def to_signed_off(w: World, doc: OutgoingDocument) -> OutgoingDocument:
    doc = services.do_submit(doc, [w.reviewer1, w.reviewer2], acting=acting(w.drafter))
    doc = services.do_review(doc, approve=True, acting=acting(w.reviewer1))
    doc = services.do_review(doc, approve=True, comment="同意", acting=acting(w.reviewer2))
    assert doc.state == OutgoingState.AWAITING_SIGN_OFF
    return services.do_sign_off(doc, approve=True, comment="同意印发", acting=acting(w.signer))


def to_dispatched(w: World, doc: OutgoingDocument) -> OutgoingDocument:
    doc = to_signed_off(w, doc)
    doc = services.do_recheck(doc, acting=acting(w.clerk))
    doc = services.do_register(doc, acting=acting(w.clerk))
    doc = services.do_render(doc, acting=acting(w.clerk))
    doc = services.do_seal(doc, acting=acting(w.clerk))
    return services.do_dispatch(doc, acting=acting(w.clerk))
