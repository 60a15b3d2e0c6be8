"""The processing forms as PDF (发文稿纸, 收文处理单): made by WeasyPrint from a document taken
through the real services, read back with pdftotext; the views give them only in scope."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from egov.core.acting import Acting
from egov.documents import processing_form, services
from egov.documents.choices import Direction, DocType, IncomingState, RecipientRole, Urgency
from egov.documents.models import IncomingDocument, OutgoingDocument
from egov.documents.tests.factories import IncomingDocumentFactory
from egov.documents.tests.test_stats import URLCONF
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, make_member

pytestmark = pytest.mark.django_db

PDFTOTEXT = shutil.which("pdftotext")
PDFINFO = shutil.which("pdfinfo")
needs_poppler = pytest.mark.skipif(
    PDFTOTEXT is None or PDFINFO is None, reason="poppler-utils (pdftotext) is not installed"
)


def as_(user: User) -> Acting:
    return Acting(user=user)


@dataclass
class World:
    office: Organisation
    city: Organisation
    city_unit: Organisation
    drafter: User
    reviewer: User
    signer: User
    clerk: User
    city_clerk: User
    city_leader: User
    handler: User
    reader: User


@pytest.fixture
def world(db: Any) -> World:
    province = OrganisationFactory(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE
    )
    office = OrganisationFactory(
        name="河北省人民政府办公厅",
        kind=OrgKind.GENERAL_OFFICE,
        level=OrgLevel.PROVINCE,
        parent=province,
        doc_code="冀政办发",
    )
    city = OrganisationFactory(
        name="石家庄市人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY, parent=province
    )
    city_unit = OrganisationFactory(
        name="石家庄市政府办公室秘书科",
        kind=OrgKind.INTERNAL_UNIT,
        level=OrgLevel.CITY,
        parent=city,
    )
    return World(
        office=office,
        city=city,
        city_unit=city_unit,
        drafter=make_member(office, Role.DRAFTER, full_name="陈拟文"),
        reviewer=make_member(office, Role.REVIEWER, full_name="王核稿"),
        signer=make_member(office, Role.SIGNER, full_name="赵签发"),
        clerk=make_member(office, Role.CLERK, full_name="刘文收"),
        city_clerk=make_member(city, Role.CLERK, full_name="韩石收"),
        city_leader=make_member(city, Role.SIGNER, full_name="李市长"),
        handler=make_member(city_unit, Role.HANDLER, full_name="孙承办"),
        reader=make_member(city, full_name="周阅文"),
    )


def signed_off(w: World) -> OutgoingDocument:
    doc = services.do_create_draft(
        w.office,
        services.DraftData(
            doc_type=DocType.NOTICE,
            direction=Direction.DOWNWARD,
            title="关于做好冬季安全生产工作的通知",
            body="<p>做好冬季安全生产工作。</p>",
            urgency=Urgency.URGENT,
            recipients=[(w.city, RecipientRole.MAIN)],
        ),
        acting=as_(w.drafter),
    )
    doc = services.do_submit(doc, [w.reviewer], acting=as_(w.drafter))
    doc = services.do_review(
        doc, approve=True, comment="文字已核，请审签。", acting=as_(w.reviewer)
    )
    return services.do_sign_off(doc, approve=True, comment="同意印发。", acting=as_(w.signer))


def handled(w: World) -> IncomingDocument:
    doc: IncomingDocument = IncomingDocumentFactory(
        organisation=w.city,
        title="关于开展安全生产大检查的通知",
        number="冀政办发〔2026〕12号",
        urgency=Urgency.EXTRA_URGENT,
    )
    doc = services.do_sign_for(doc, acting=as_(w.city_clerk))
    doc = services.do_register_incoming(doc, acting=as_(w.city_clerk))
    doc = services.do_screen(doc, accept=True, acting=as_(w.city_clerk))
    doc = services.do_propose(doc, text="拟请秘书科牵头办理。", acting=as_(w.city_clerk))
    doc = services.do_instruct(doc, text="同意，请抓紧落实并按期报告。", acting=as_(w.city_leader))
    doc = services.do_assign(
        doc, lead=w.city_unit, readers=[w.city_leader, w.reader], acting=as_(w.city_clerk)
    )
    services.do_mark_read(doc, acting=as_(w.city_leader))
    services.do_handle(doc.assignments.get(), result="已部署全面检查。", acting=as_(w.handler))
    return services.do_answer(doc, note="检查情况已书面报告。", acting=as_(w.city_clerk))


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    assert PDFTOTEXT is not None and PDFINFO is not None
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(
        [PDFINFO, str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "595.276 x 841.89 pts (A4)" in info
    done = subprocess.run(
        [PDFTOTEXT, "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return "".join(done.stdout.split())  # CJK text may be split by spaces across cells


@needs_poppler
def test_outgoing_form(world: World, tmp_path: Path) -> None:
    doc = signed_off(world)
    pdf = processing_form.outgoing_form_pdf(doc, printed_by="刘文收")
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    assert "河北省人民政府办公厅" in text
    assert "关于做好冬季安全生产工作的通知" in text  # the title
    assert "同意印发。" in text and "赵签发" in text  # the signing leader's comment and name
    assert "文字已核，请审签。" in text and "王核稿" in text  # the reviewer's
    assert "陈拟文" in text and "石家庄市人民政府" in text  # drafter and main recipient
    assert doc.document_date is not None
    assert f"{doc.document_date.year}年{doc.document_date.month}月{doc.document_date.day}日" in text


@needs_poppler
def test_incoming_form(world: World, tmp_path: Path) -> None:
    doc = handled(world)
    assert doc.state == IncomingState.ANSWERED
    text = pdf_text(processing_form.incoming_form_pdf(doc), tmp_path)
    assert "关于开展安全生产大检查的通知" in text and "冀政办发〔2026〕12号" in text
    assert doc.register_number and doc.register_number in text
    assert "拟请秘书科牵头办理。" in text  # 拟办
    assert "同意，请抓紧落实并按期报告。" in text and "李市长" in text  # 批示 and the leader
    assert "石家庄市政府办公室秘书科" in text and "已部署全面检查。" in text  # handling
    assert "周阅文" in text and "检查情况已书面报告。" in text  # circulation, answer


def test_form_context_runs_a_fixed_number_of_queries(world: World) -> None:
    doc = handled(world)
    with CaptureQueriesContext(connection) as first:
        processing_form.incoming_form_context(IncomingDocument.objects.get(pk=doc.pk))
    for _ in range(5):
        services.do_circulate(doc, [make_member(world.city)], acting=as_(world.city_clerk))
    with CaptureQueriesContext(connection) as second:
        context = processing_form.incoming_form_context(IncomingDocument.objects.get(pk=doc.pk))
    assert len(context["circulation"]) == 7 and context["read_count"] == 1
    assert len(second.captured_queries) == len(first.captured_queries)


def test_text_in_a_document_cannot_fetch_anything(world: World, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    doc: IncomingDocument = IncomingDocumentFactory(
        organisation=world.city, title=f'<img src="file://{secret}"><b>粗体</b>'
    )
    html = render_to_string(
        processing_form.INCOMING_TEMPLATE, {**processing_form.incoming_form_context(doc), "css": ""}
    )
    assert "<img" not in html and "&lt;img" in html  # escaped, never markup
    assert processing_form.incoming_form_pdf(doc).startswith(b"%PDF-")


@pytest.mark.urls(URLCONF)
def test_the_views_give_the_forms_in_scope_only(world: World, client: Client) -> None:
    out_doc = signed_off(world)
    in_doc = handled(world)
    out_url = reverse("documents:outgoing_form_pdf", args=[out_doc.uuid])
    in_url = reverse("documents:incoming_form_pdf", args=[in_doc.uuid])
    assert out_url == f"/documents/out/{out_doc.uuid}/form.pdf"
    assert in_url == f"/documents/in/{in_doc.uuid}/form.pdf"
    assert client.get(out_url).status_code == 302  # log in first

    client.force_login(world.clerk)
    response = client.get(out_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert client.get(in_url).status_code == 404  # the city's document: not the office's

    client.force_login(world.city_clerk)
    assert client.get(in_url).status_code == 200
    assert client.get(out_url).status_code == 404
    client.force_login(world.handler)  # a handling unit sees the document it handles
    assert client.get(in_url).status_code == 200
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "1" * 300):
        assert client.get(f"/documents/in/{bad}/form.pdf").status_code == 404
    assert client.post(in_url).status_code == 405
