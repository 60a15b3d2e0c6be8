"""The documents API as a mobile client uses it: both flows end to end (draft → dispatch, the
exchange, sign for → archive), steps out of turn, scope, bad references and search. Every JSON
response is checked against the OpenAPI document by `ApiClient`."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from egov.api.testing import ApiClient, bearer_for, openapi_document
from egov.core.acting import Acting
from egov.documents import services
from egov.documents.choices import Direction, DocType, RecipientRole
from egov.documents.models import IncomingDocument, OutgoingDocument
from egov.documents.tests.factories import World
from egov.exchange import worker
from egov.orgs.choices import OrgKind
from egov.orgs.models import User
from egov.orgs.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

OUT = "/api/v1/documents/outgoing"
IN = "/api/v1/documents/incoming"


def api(user: User) -> ApiClient:
    return ApiClient(token=bearer_for(user))


def draft_body(w: World, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "doc_type": "notice",
        "direction": "downward",
        "title": "关于做好2026年冬季安全生产工作的通知",
        "body_text": "各市人民政府：\n一、提高认识\n做好冬季安全生产工作。",
        "recipients": {"main": [str(w.city.uuid)]},
        "reply_due": "2026-12-31",
    }
    data.update(changes)
    return data


def create(w: World, **changes: Any) -> str:
    r = api(w.drafter).post_json(OUT, draft_body(w, **changes))
    assert r.status_code == 201, r.json()
    return str(r.json()["uuid"])


def ok(response: Any, state: str | None = None) -> dict[str, Any]:
    assert response.status_code == 200, response.json()
    data: dict[str, Any] = response.json()
    if state is not None:
        assert data["state"] == state
    return data


def error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.json()
    data: dict[str, Any] = response.json()
    assert data["code"] == code, data
    assert data["message"]
    if field is not None:
        assert [d["field"] for d in data["details"]] == [field], data
    return data


def to_registered(w: World, uid: str) -> None:
    ok(
        api(w.drafter).post_json(
            f"{OUT}/{uid}/submit", {"reviewers": [str(w.reviewer1.uuid), str(w.reviewer2.uuid)]}
        ),
        "in_review",
    )
    ok(api(w.reviewer1).post_json(f"{OUT}/{uid}/review", {"approve": True}), "in_review")
    ok(
        api(w.reviewer2).post_json(f"{OUT}/{uid}/review", {"approve": True, "comment": "同意"}),
        "awaiting_sign_off",
    )
    ok(
        api(w.signer).post_json(f"{OUT}/{uid}/sign-off", {"approve": True, "comment": "同意印发"}),
        "signed_off",
    )
    ok(api(w.clerk).post_json(f"{OUT}/{uid}/recheck", {}), "signed_off")
    ok(api(w.clerk).post_json(f"{OUT}/{uid}/register"), "registered")


def to_dispatched(w: World, uid: str) -> dict[str, Any]:
    to_registered(w, uid)
    clerk = api(w.clerk)
    ok(clerk.post_json(f"{OUT}/{uid}/render"), "rendered")
    ok(clerk.post_json(f"{OUT}/{uid}/seal"), "sealed")
    return ok(clerk.post_json(f"{OUT}/{uid}/dispatch"), "dispatched")


def raw_client(user: User) -> Client:
    """For file downloads, which are not JSON (`ApiClient` checks JSON bodies only)."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {bearer_for(user, device_id='files')}")


def documented_media(path: str, method: str = "get") -> list[str]:
    operation = openapi_document()["paths"][path][method]
    return list(operation["responses"]["200"]["content"])


def test_both_flows_end_to_end(world: World) -> None:
    w = world
    drafter, clerk = api(w.drafter), api(w.clerk)
    uid = create(w)
    detail = ok(drafter.get(f"{OUT}/{uid}"), "draft")
    assert detail["body"].startswith("<p>各市人民政府：</p><h2>一、提高认识</h2>")
    assert detail["body_text"].splitlines()[1] == "一、提高认识"
    assert detail["distribution"][0]["organisation"]["uuid"] == str(w.city.uuid)
    assert detail["actions"] == ["edit", "submit"]
    assert [e["kind"] for e in detail["events"]] == ["created"]

    # A change to one field leaves the others alone.
    detail = ok(drafter.patch_json(f"{OUT}/{uid}", {"urgency": "urgent"}))
    assert detail["urgency"] == "urgent" and detail["title"].startswith("关于做好")
    assert len(detail["distribution"]) == 1 and detail["reply_due"] == "2026-12-31"

    r = drafter.post(
        f"{OUT}/{uid}/attachments",
        {
            "file": _named(
                b"\xe5\x86\xac\xe5\xad\xa3\xe6\xa3\x80\xe6\x9f\xa5\xe8\xa1\xa8", "附件1.txt"
            )
        },
    )
    assert r.status_code == 201, r.json()
    assert r.json()["name"] == "附件1.txt" and r.json()["media_type"].startswith("text/plain")

    candidates = ok(drafter.get(f"{OUT}/{uid}/candidates"))["reviewers"]
    assert {p["uuid"] for p in candidates} == {
        str(u.uuid) for u in (w.reviewer1, w.reviewer2, w.signer)
    }
    detail = to_dispatched(w, uid)
    year = timezone.localdate().year
    assert detail["number"] == f"冀政办发〔{year}〕1号"
    assert detail["pdf_pages"] >= 1 and len(detail["sealed_sha256"]) == 64
    assert detail["distribution"][0]["state"] == "pending"
    assert detail["actions"] == []  # a recall waits until the copy is delivered
    assert [r["state"] for r in detail["reviews"]] == ["approved", "approved"]

    files = raw_client(w.clerk)
    for query, sha in (("", detail["pdf_sha256"]), ("?sealed=true", detail["sealed_sha256"])):
        r = files.get(f"{OUT}/{uid}/pdf{query}")
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
        content = b"".join(r.streaming_content)
        assert content.startswith(b"%PDF")
        assert hashlib.sha256(content).hexdigest() == sha
    assert documented_media("/api/v1/documents/outgoing/{uuid}/pdf") == ["application/pdf"]

    assert worker.run_once().delivered == 1
    detail = ok(clerk.get(f"{OUT}/{uid}"))
    assert detail["distribution"][0]["state"] == "delivered"

    # The receiving side.
    city_clerk, leader, handler = api(w.city_clerk), api(w.city_leader), api(w.handler)
    page = ok(city_clerk.get(IN))
    assert page["count"] == 1 and page["items"][0]["number"] == detail["number"]
    iid = page["items"][0]["uuid"]
    incoming = ok(city_clerk.get(f"{IN}/{iid}"), "received")
    assert incoming["actions"] == ["sign_for"]
    assert [a["name"] for a in incoming["attachments"]] == ["附件1.txt"]
    assert incoming["pdf_sha256"] == detail["sealed_sha256"]
    r = raw_client(w.city_clerk).get(f"{IN}/{iid}/pdf")
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")
    r = raw_client(w.city_clerk).get(f"{IN}/{iid}/attachments/{incoming['attachments'][0]['id']}")
    assert r.status_code == 200
    assert r["Content-Disposition"] == f"attachment; filename*=utf-8''{quote('附件1.txt')}"

    ok(city_clerk.post_json(f"{IN}/{iid}/sign-for"), "signed_for")
    assert worker.run_once().delivered == 1  # the signed-for notice goes back
    sent = ok(clerk.get(f"{OUT}/{uid}"))
    assert sent["distribution"][0]["state"] == "signed_for" and sent["actions"] == []

    incoming = ok(city_clerk.post_json(f"{IN}/{iid}/register"), "registered")
    assert incoming["register_number"].endswith(f"〔{year}〕1号")
    ok(city_clerk.post_json(f"{IN}/{iid}/screen", {"accept": True}), "screened")
    ok(city_clerk.post_json(f"{IN}/{iid}/propose", {"text": "请秘书科办理。"}), "proposed")
    incoming = ok(
        leader.post_json(
            f"{IN}/{iid}/instruct", {"text": "同意，抓好落实。", "reply_due": "2026-12-20"}
        ),
        "instructed",
    )
    assert incoming["instructed_by"]["uuid"] == str(w.city_leader.uuid)
    options = ok(city_clerk.get(f"{IN}/{iid}/candidates"))
    assert str(w.city_unit.uuid) in {u["uuid"] for u in options["units"]}
    incoming = ok(
        city_clerk.post_json(
            f"{IN}/{iid}/assign",
            {"lead": str(w.city_unit.uuid), "readers": [str(w.city_leader.uuid)]},
        ),
        "in_handling",
    )
    assert [(a["unit"]["uuid"], a["is_lead"]) for a in incoming["assignments"]] == [
        (str(w.city_unit.uuid), True)
    ]
    assert incoming["reply_due"] == "2026-12-20"

    # The handling unit sees the document it was assigned.
    handling = ok(handler.get(f"{IN}/{iid}"))
    assert handling["actions"] == ["handle"]
    assert ok(leader.get(f"{IN}/{iid}"))["actions"] == ["read"]
    read = ok(leader.post_json(f"{IN}/{iid}/read"))
    assert read["circulation"][0]["read_at"] is not None and read["actions"] == []
    ok(leader.post_json(f"{IN}/{iid}/read"))  # once; again changes nothing

    error(city_clerk.post_json(f"{IN}/{iid}/close"), 409, "invalid_transition")
    assignment = incoming["assignments"][0]["id"]
    incoming = ok(
        handler.post_json(
            f"{IN}/{iid}/handle", {"assignment": assignment, "result": "已部署检查。"}
        )
    )
    assert incoming["assignments"][0]["state"] == "done"
    ok(city_clerk.post_json(f"{IN}/{iid}/answer", {"note": "已落实。"}), "answered")
    ok(city_clerk.post_json(f"{IN}/{iid}/close"), "closed")
    incoming = ok(city_clerk.post_json(f"{IN}/{iid}/archive"), "archived")
    kinds = [e["kind"] for e in incoming["events"]]
    assert kinds[0] == "received" and kinds[-1] == "archived" and "read" in kinds
    out_kinds = {e["kind"] for e in ok(clerk.get(f"{OUT}/{uid}"))["events"]}
    assert {"created", "edited", "submitted", "approved", "signed_off", "rechecked"} <= out_kinds
    assert {"registered", "rendered", "sealed", "dispatched", "signed_for"} <= out_kinds


def _named(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def test_steps_out_of_turn_are_refused_with_a_reason(world: World) -> None:
    w = world
    uid = create(w)
    body = error(
        api(w.signer).post_json(f"{OUT}/{uid}/sign-off", {"approve": True}),
        409,
        "invalid_transition",
    )
    assert "Draft" in body["message"] or "拟稿" in body["message"]
    error(api(w.clerk).post_json(f"{OUT}/{uid}/register"), 409, "invalid_transition")
    error(api(w.clerk).post_json(f"{OUT}/{uid}/dispatch"), 409, "invalid_transition")
    drafter = api(w.drafter)
    ok(
        drafter.post_json(
            f"{OUT}/{uid}/submit", {"reviewers": [str(w.reviewer1.uuid), str(w.reviewer2.uuid)]}
        ),
        "in_review",
    )
    # Not yet reviewer 2's turn; a draft in review cannot be changed.
    error(api(w.reviewer2).post_json(f"{OUT}/{uid}/review", {"approve": True}), 403, "forbidden")
    error(drafter.patch_json(f"{OUT}/{uid}", {"title": "新标题"}), 409, "invalid_transition")
    # Returning needs a reason.
    error(
        api(w.reviewer1).post_json(f"{OUT}/{uid}/review", {"approve": False, "comment": "  "}),
        400,
        "invalid",
        "comment",
    )
    assert OutgoingDocument.objects.get(uuid=uid).state == "in_review"
    ok(
        api(w.reviewer1).post_json(
            f"{OUT}/{uid}/review", {"approve": False, "comment": "标题不准确"}
        ),
        "draft",
    )
    # Only a signing leader signs off.
    ok(drafter.post_json(f"{OUT}/{uid}/submit", {"reviewers": [str(w.reviewer1.uuid)]}))
    ok(api(w.reviewer1).post_json(f"{OUT}/{uid}/review", {"approve": True}), "awaiting_sign_off")
    error(api(w.clerk).post_json(f"{OUT}/{uid}/sign-off", {"approve": True}), 403, "forbidden")
    ok(api(w.signer).post_json(f"{OUT}/{uid}/sign-off", {"approve": True}), "signed_off")
    body = error(api(w.clerk).post_json(f"{OUT}/{uid}/register"), 409, "invalid_transition")
    assert "Re-check" in body["message"] or "复核" in body["message"]

    # A re-check that changes the text sends it back to sign-off, and needs a reason.
    error(
        api(w.clerk).post_json(f"{OUT}/{uid}/recheck", {"body_text": "改正后的正文。"}),
        400,
        "document_error",
        "reason",
    )
    detail = ok(
        api(w.clerk).post_json(
            f"{OUT}/{uid}/recheck", {"body_text": "改正后的正文。", "reason": "改正错字"}
        ),
        "awaiting_sign_off",
    )
    assert detail["body"] == "<p>改正后的正文。</p>" and detail["signed_off_by"] is None


def test_incoming_steps_out_of_turn(world: World) -> None:
    w = world
    incoming = _received(w)
    city_clerk = api(w.city_clerk)
    iid = str(incoming.uuid)
    for step in ("register", "close", "archive"):
        error(city_clerk.post_json(f"{IN}/{iid}/{step}"), 409, "invalid_transition")
    error(city_clerk.post_json(f"{IN}/{iid}/propose", {"text": "拟办"}), 409, "invalid_transition")
    error(  # a leader's step
        city_clerk.post_json(f"{IN}/{iid}/instruct", {"text": "同意"}), 403, "forbidden"
    )
    ok(city_clerk.post_json(f"{IN}/{iid}/sign-for"), "signed_for")
    error(city_clerk.post_json(f"{IN}/{iid}/sign-for"), 409, "invalid_transition")
    ok(city_clerk.post_json(f"{IN}/{iid}/register"), "registered")
    error(
        city_clerk.post_json(f"{IN}/{iid}/screen", {"accept": False}),
        400,
        "document_error",
        "reason",
    )
    error(city_clerk.post_json(f"{IN}/{iid}/propose", {"text": "   "}), 400, "invalid", "text")
    returned = ok(
        city_clerk.post_json(f"{IN}/{iid}/screen", {"accept": False, "reason": "不属于本单位职责"}),
        "returned",
    )
    assert returned["returned_reason"] == "不属于本单位职责" and returned["actions"] == []
    worker.run_once()
    sent = ok(api(w.clerk).get(f"{OUT}/{incoming.source_uuid}"))
    assert sent["distribution"][0]["state"] == "returned"
    assert sent["distribution"][0]["returned_reason"] == "不属于本单位职责"


def _received(w: World) -> IncomingDocument:
    """A notice from the office, dispatched through the services and delivered to the city."""
    acting = Acting(user=w.drafter)
    doc = services.do_create_draft(
        w.office,
        services.DraftData(
            doc_type=DocType.NOTICE,
            direction=Direction.DOWNWARD,
            title="关于开展安全检查的通知",
            body="<p>开展检查。</p>",
            recipients=[(w.city, RecipientRole.MAIN)],
        ),
        acting=acting,
    )
    to_dispatched(w, str(doc.uuid))
    assert worker.run_once().delivered == 1
    return IncomingDocument.objects.get(organisation=w.city, source_uuid=doc.uuid)


def test_recall_before_sign_for_and_not_after(world: World) -> None:
    w = world
    incoming = _received(w)
    clerk = api(w.clerk)
    uid = str(incoming.source_uuid)
    error(
        clerk.post_json(f"{OUT}/{uid}/recall", {"recipient": str(w.office.uuid)}),
        404,
        "not_found",
        "recipient",
    )
    detail = ok(clerk.post_json(f"{OUT}/{uid}/recall", {"recipient": str(w.city.uuid)}))
    assert detail["distribution"][0]["state"] == "recall_requested" and detail["actions"] == []
    error(
        clerk.post_json(f"{OUT}/{uid}/recall", {"recipient": str(w.city.uuid)}),
        409,
        "invalid_transition",
    )
    worker.run_once()
    incoming.refresh_from_db()
    assert incoming.state == "recalled"
    assert ok(clerk.get(f"{OUT}/{uid}"))["distribution"][0]["state"] == "recalled"
    error(api(w.city_clerk).get(f"{IN}/{incoming.uuid}/pdf"), 404, "not_found")
    error(api(w.city_clerk).post_json(f"{IN}/{incoming.uuid}/sign-for"), 409, "invalid_transition")


def test_outside_the_scope_is_404(world: World) -> None:
    w = world
    uid = create(w)
    unknown = "00000000-0000-4000-8000-000000000000"
    outsider = api(w.outsider)
    assert ok(outsider.get(OUT))["count"] == 0
    for path in (uid, unknown):
        error(outsider.get(f"{OUT}/{path}"), 404, "not_found")
        error(outsider.get(f"{OUT}/{path}/candidates"), 404, "not_found")
        error(outsider.patch_json(f"{OUT}/{path}", {"title": "x"}), 404, "not_found")
        error(
            outsider.post_json(f"{OUT}/{path}/submit", {"reviewers": [str(w.outsider.uuid)]}),
            404,
            "not_found",
        )
        error(outsider.post_json(f"{OUT}/{path}/register"), 404, "not_found")
        error(outsider.get(f"{OUT}/{path}/pdf"), 404, "not_found")
    # The city (a recipient) does not see the office's drafts; the office does not see the
    # city's incoming documents.
    assert ok(api(w.city_clerk).get(OUT))["count"] == 0
    error(api(w.city_clerk).get(f"{OUT}/{uid}"), 404, "not_found")
    incoming = _received(w)
    error(api(w.clerk).get(f"{IN}/{incoming.uuid}"), 404, "not_found")
    error(api(w.outsider).post_json(f"{IN}/{incoming.uuid}/sign-for"), 404, "not_found")
    assert ok(api(w.outsider).get(IN))["count"] == 0
    # Not laid out yet: no PDF.
    error(api(w.drafter).get(f"{OUT}/{uid}/pdf"), 404, "not_found")
    error(api(w.drafter).get(f"{OUT}/{uid}/attachments/1"), 404, "not_found")
    # A malformed id in the path is the schema's business (422), not a server error.
    assert api(w.drafter).get(f"{OUT}/not-a-uuid").status_code == 422


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipients": {"main": ["00000000-0000-4000-8000-000000000000"]}}, "recipients.main.0"),
        (
            {"recipients": {"main": [], "copies": ["00000000-0000-4000-8000-000000000000"]}},
            "recipients.copies.0",
        ),
        ({"joint": ["00000000-0000-4000-8000-000000000000"]}, "joint.0"),
        ({"organisation": "00000000-0000-4000-8000-000000000000"}, "organisation"),
    ],
)
def test_create_with_unknown_references(world: World, changes: dict[str, Any], field: str) -> None:
    error(api(world.drafter).post_json(OUT, draft_body(world, **changes)), 404, "not_found", field)
    assert not OutgoingDocument.objects.exists()


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"body": "<p>x</p>"}, 400, "invalid", "body_text"),  # both body and body_text
        ({"copy_number": "12"}, 400, "document_error", "copy_number"),
        ({"title": "   "}, 400, "document_error", "title"),
        ({"doc_type": "memo"}, 422, "invalid", "doc_type"),
        ({"title": "x" * 201}, 422, "invalid", "title"),
        ({"reply_due": "2026-02-30"}, 422, "invalid", "reply_due"),
        ({"reply_due": 1767225600}, 422, "invalid", "reply_due"),  # not Unix time
        ({"recipients": {"main": ["nope"]}}, 422, "invalid", "recipients.main.0"),
        ({"colour": "red"}, 422, "invalid", "colour"),
    ],
)
def test_create_with_bad_input(
    world: World, changes: dict[str, Any], status: int, code: str, field: str
) -> None:
    error(api(world.drafter).post_json(OUT, draft_body(world, **changes)), status, code, field)
    assert not OutgoingDocument.objects.exists()


def test_create_needs_a_drafter_and_a_body(world: World) -> None:
    w = world
    error(api(w.city_leader).post_json(OUT, draft_body(w)), 403, "forbidden")
    r = api(w.drafter).post(OUT, data="{", content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    uid = create(w, body_text=None, body="")
    error(
        api(w.drafter).post_json(f"{OUT}/{uid}/submit", {"reviewers": [str(w.reviewer1.uuid)]}),
        400,
        "document_error",
        "body",
    )
    detail = ok(
        api(w.drafter).patch_json(f"{OUT}/{uid}", {"body": "<p>正文<script>x</script></p>"})
    )
    assert "<script" not in detail["body"] and "正文" in detail["body"]
    error(api(w.drafter).patch_json(f"{OUT}/{uid}", {"title": None}), 400, "invalid", "title")


def test_step_bad_references(world: World) -> None:
    w = world
    uid = create(w)
    drafter = api(w.drafter)
    # Reviewers are people of the issuer; others are unknown here, and a role is needed.
    error(
        drafter.post_json(f"{OUT}/{uid}/submit", {"reviewers": [str(w.outsider.uuid)]}),
        404,
        "not_found",
        "reviewers.0",
    )
    error(
        drafter.post_json(f"{OUT}/{uid}/submit", {"reviewers": [str(w.clerk.uuid)]}),
        400,
        "document_error",
        "reviewers",
    )
    error(drafter.post_json(f"{OUT}/{uid}/submit", {"reviewers": []}), 400, "document_error")
    error(
        drafter.post_json(f"{OUT}/{uid}/submit", {"reviewers": [1]}), 422, "invalid", "reviewers.0"
    )
    # A request (请示) has one main recipient: the rule names the field.
    other = OrganisationFactory(name="国务院办公厅", kind=OrgKind.GENERAL_OFFICE)
    rid = create(
        w,
        doc_type="request",
        direction="upward",
        recipients={"main": [str(other.uuid), str(w.province.uuid)]},
    )
    body = error(
        drafter.post_json(f"{OUT}/{rid}/submit", {"reviewers": [str(w.reviewer1.uuid)]}),
        400,
        "direction_rule",
        "recipients",
    )
    assert "one main recipient" in body["message"] or "主送" in body["message"]

    incoming = _received(w)
    iid = str(incoming.uuid)
    city_clerk = api(w.city_clerk)
    for step in ("sign-for", "register"):
        ok(city_clerk.post_json(f"{IN}/{iid}/{step}"))
    ok(city_clerk.post_json(f"{IN}/{iid}/screen", {"accept": True}))
    error(
        city_clerk.post_json(f"{IN}/{iid}/assign", {"lead": str(w.office.uuid)}),
        404,
        "not_found",
        "lead",
    )
    error(
        city_clerk.post_json(
            f"{IN}/{iid}/assign",
            {"lead": str(w.city_unit.uuid), "assisting": [str(w.city_unit.uuid)]},
        ),
        400,
        "invalid",
        "assisting.0",
    )
    error(
        city_clerk.post_json(
            f"{IN}/{iid}/assign",
            {"lead": str(w.city_unit.uuid), "readers": [str(w.clerk.uuid)]},
        ),
        404,
        "not_found",
        "readers.0",
    )
    assert IncomingDocument.objects.get(pk=incoming.pk).state == "screened"
    ok(city_clerk.post_json(f"{IN}/{iid}/assign", {"lead": str(w.city_unit.uuid)}), "in_handling")
    error(
        api(w.handler).post_json(f"{IN}/{iid}/handle", {"assignment": 2_000_000, "result": "x"}),
        404,
        "not_found",
        "assignment",
    )
    error(
        city_clerk.post_json(
            f"{IN}/{iid}/answer", {"reply": "00000000-0000-4000-8000-000000000000"}
        ),
        404,
        "not_found",
        "reply",
    )
    # The office's own document is not the city's to reply with.
    error(
        city_clerk.post_json(f"{IN}/{iid}/answer", {"reply": str(incoming.source_uuid)}),
        404,
        "not_found",
        "reply",
    )


def test_attachments_of_a_draft(world: World) -> None:
    w = world
    uid = create(w)
    drafter = api(w.drafter)
    r = drafter.post(f"{OUT}/{uid}/attachments", {"file": _named(b"MZ\x90\x00", "run.exe")})
    error(r, 400, "upload_refused", "attachments")
    r = drafter.post(f"{OUT}/{uid}/attachments", {"file": _named(b"%PDF-1.4 fake", "a.docx")})
    error(r, 400, "upload_refused")
    error(drafter.post(f"{OUT}/{uid}/attachments", {}), 400, "invalid", "file")
    r = drafter.post(f"{OUT}/{uid}/attachments", {"file": _named("表格".encode(), "清单.txt")})
    assert r.status_code == 201, r.json()
    aid = r.json()["id"]
    r = raw_client(w.drafter).get(f"{OUT}/{uid}/attachments/{aid}")
    assert r.status_code == 200 and b"".join(r.streaming_content) == "表格".encode()
    error(
        api(w.city_clerk).post(f"{OUT}/{uid}/attachments", {"file": _named(b"x", "a.txt")}),
        404,
        "not_found",
    )
    detail = ok(drafter.delete(f"{OUT}/{uid}/attachments/{aid}"))
    assert detail["attachments"] == []
    ok(drafter.post_json(f"{OUT}/{uid}/submit", {"reviewers": [str(w.reviewer1.uuid)]}))
    r = drafter.post(f"{OUT}/{uid}/attachments", {"file": _named(b"later", "b.txt")})
    error(r, 409, "invalid_transition")


def test_search_and_paging(world: World) -> None:
    w = world
    first = create(w, title="关于防汛工作的通知")
    create(w, title="关于冬季安全生产的通知")
    create(w, title="关于请求拨付经费的函", doc_type="letter", direction="parallel")
    client = api(w.drafter)
    assert ok(client.get(OUT))["count"] == 3
    assert [d["uuid"] for d in ok(client.get(OUT, {"q": "防汛"}))["items"]] == [first]
    assert ok(client.get(OUT, {"q": "关于 通知"}))["count"] == 2
    assert ok(client.get(OUT, {"doc_type": "letter"}))["count"] == 1
    assert ok(client.get(OUT, {"state": "draft"}))["count"] == 3
    assert ok(client.get(OUT, {"state": "dispatched"}))["count"] == 0
    today = timezone.localdate()
    assert ok(client.get(OUT, {"since": today.isoformat()}))["count"] == 3
    assert ok(client.get(OUT, {"until": "2000-01-01"}))["count"] == 0
    page = ok(client.get(OUT, {"page_size": 2, "page": 2}))
    assert page["count"] == 3 and len(page["items"]) == 1
    error(client.get(OUT, {"state": "lost"}), 422, "invalid", "state")
    error(client.get(OUT, {"since": "yesterday"}), 422, "invalid", "since")
    error(client.get(IN, {"until": "0"}), 422, "invalid", "until")

    incoming = _received(w)
    city = api(w.city_clerk)
    assert ok(city.get(IN, {"q": "安全检查"}))["count"] == 1
    assert ok(city.get(IN, {"q": "河北省人民政府办公厅"}))["count"] == 1
    assert ok(city.get(IN, {"state": "received"}))["items"][0]["uuid"] == str(incoming.uuid)
    assert ok(city.get(IN, {"state": "archived"}))["count"] == 0
    assert ok(city.get(IN, {"doc_type": "notice", "since": today.isoformat()}))["count"] == 1


def test_lists_run_a_constant_number_of_queries(world: World) -> None:
    w = world
    client = api(w.drafter)
    counts = []
    for n in (1, 4):
        while OutgoingDocument.objects.count() < n:
            create(w)
        with CaptureQueriesContext(connection) as queries:
            assert ok(client.get(OUT))["count"] == n
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_responses_are_json_in_the_error_shape(world: World) -> None:
    r = ApiClient().get(OUT)
    assert r.status_code == 401 and json.loads(r.content)["code"] == "not_authenticated"
