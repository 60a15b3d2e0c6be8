"""The duty API as a phone client uses it; every response is checked against the OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from egov.api.testing import ApiClient, bearer_for
from egov.duty.models import CallRecord, EmergencyReport, Handover, ReportReceipt
from egov.duty.tests.conftest import DutyTree
from egov.duty.tests.factories import HandoverFactory

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> ApiClient:
    return ApiClient(token=bearer_for(user))


def report_body(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    body = {
        "title": "正定县某化工厂爆炸",
        "category": "accident",
        "grade": "II",
        "source": "县应急管理局",
        "occurred_at": (now - timedelta(minutes=20)).isoformat(),
        "learned_at": (now - timedelta(minutes=10)).isoformat(),
        "place": "正定县某镇",
        "course": "10时许发生爆炸",
        "deaths": 1,
    }
    body.update(overrides)
    return body


def test_file_acknowledge_follow_up_final(duty: DutyTree) -> None:
    county = client_for(duty.county_officer)
    r = county.post_json("/api/v1/duty/reports", report_body())
    assert r.status_code == 201, r.content
    report = r.json()
    assert report["state"] == "open" and report["overdue"] is False
    assert {rc["organisation"]["uuid"] for rc in report["submissions"][0]["receipts"]} == {
        str(duty.city.uuid),
        str(duty.province.uuid),
    }
    url = f"/api/v1/duty/reports/{report['uuid']}"

    city = client_for(duty.city_officer)
    r = city.post_json(f"{url}/acknowledge")
    assert r.status_code == 200 and r.json()["levels"] == [str(duty.city.uuid)]
    assert city.post_json(f"{url}/acknowledge").status_code == 409

    province = client_for(duty.province_officer)
    listed = province.get("/api/v1/duty/reports").json()
    assert [item["uuid"] for item in listed["items"]] == [report["uuid"]]

    r = county.post_json(f"{url}/follow-ups", {"text": "续报一", "deaths": 2})
    assert r.status_code == 201 and r.json()["number"] == 1
    r = county.post_json(f"{url}/final", {"text": "终报"})
    assert r.status_code == 201 and r.json()["kind"] == "final"
    r = county.post_json(f"{url}/follow-ups", {"text": "too late"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert province.get(url).json()["state"] == "closed"


def test_scope_404_outside(duty: DutyTree) -> None:
    r = client_for(duty.county_officer).post_json("/api/v1/duty/reports", report_body())
    url = f"/api/v1/duty/reports/{r.json()['uuid']}"
    other = client_for(duty.other_county_officer)
    assert other.get(url).status_code == 404
    assert other.post_json(f"{url}/follow-ups", {"text": "x"}).status_code == 404
    assert other.post_json(f"{url}/acknowledge").status_code == 404
    assert other.get("/api/v1/duty/reports").json()["count"] == 0
    assert client_for(duty.city_officer).get("/api/v1/duty/reports").json()["count"] == 1


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"occurred_at": "2999-01-01T00:00:00+08:00"}, 400, "occurred_at"),
        ({"occurred_at": "1900-01-01T00:00:00+08:00"}, 400, "occurred_at"),
        ({"learned_at": "2026-07-01T08:00:00+08:00"}, 400, "learned_at"),
        ({"occurred_at": "2026-07-01T09:00:00"}, 422, "occurred_at"),  # no time zone
        ({"occurred_at": "yesterday"}, 422, "occurred_at"),
        ({"grade": "V"}, 422, "grade"),
        ({"deaths": -1}, 422, "deaths"),
        ({"deaths": "many"}, 422, "deaths"),
        ({"title": "x" * 201}, 422, "title"),
        ({"title": ""}, 422, "title"),
        ({"course": "a\x00b"}, 422, "course"),
        ({"bogus": 1}, 422, "bogus"),
    ],
)
def test_bad_report_input(duty: DutyTree, overrides: Any, status: int, field: str) -> None:
    r = client_for(duty.county_officer).post_json("/api/v1/duty/reports", report_body(**overrides))
    assert r.status_code == status, r.content
    assert field in [d["field"] for d in r.json()["details"]]
    assert not EmergencyReport.objects.exists()


def test_malformed_and_oversized_bodies(duty: DutyTree) -> None:
    client = client_for(duty.county_officer)
    r = client.post("/api/v1/duty/reports", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = client.post_json("/api/v1/duty/reports", report_body(course="长" * 5000))
    assert r.status_code in (413, 422)
    r = client.post_json("/api/v1/duty/reports", [1, 2])
    assert r.status_code == 422
    assert not EmergencyReport.objects.exists()


def test_filing_needs_a_duty_role_and_ack_needs_being_on_duty(duty: DutyTree) -> None:
    r = client_for(duty.province_signer).post_json("/api/v1/duty/reports", report_body())
    assert r.status_code == 403
    r = client_for(duty.county_officer).post_json("/api/v1/duty/reports", report_body())
    url = f"/api/v1/duty/reports/{r.json()['uuid']}"
    # The county officer sees the report but receives no copy of it: not on duty at a level.
    r = client_for(duty.county_officer).post_json(f"{url}/acknowledge")
    assert r.status_code == 403 and r.json()["code"] == "not_on_duty"
    assert not ReportReceipt.objects.filter(acknowledged_at__isnull=False).exists()


def test_phone_report_then_first(duty: DutyTree) -> None:
    county = client_for(duty.county_officer)
    report = county.post_json("/api/v1/duty/reports", report_body(by_phone=True)).json()
    assert report["state"] == "phoned" and report["next_due_kind"] == "first"
    url = f"/api/v1/duty/reports/{report['uuid']}"
    assert county.post_json(f"{url}/follow-ups", {"text": "x"}).status_code == 409
    assert county.post_json(f"{url}/first", {"text": "书面首报"}).status_code == 201
    assert county.post_json(f"{url}/first", {"text": "again"}).status_code == 409
    assert county.post_json(f"{url}/final", {"text": ""}).status_code == 422


def test_call_register(duty: DutyTree) -> None:
    county = client_for(duty.county_officer)
    body = {
        "received_at": timezone.now().isoformat(),
        "caller_unit": "正定县应急局",
        "caller_name": "李四",
        "caller_title": "局长",
        "caller_phone": "0311-88888888",
        "place": "某镇",
        "what_happened": "化工厂爆炸",
        "cause": "不明",
        "measures": "已组织救援",
        "impact_and_trend": "可控",
        "already_told": "县委办",
    }
    r = county.post_json("/api/v1/duty/calls", body)
    assert r.status_code == 201 and r.json()["recorded_by"] == "county.officer"
    call_url = f"/api/v1/duty/calls/{r.json()['uuid']}"
    assert client_for(duty.city_officer).get(call_url).status_code == 200
    assert client_for(duty.other_county_officer).get(call_url).status_code == 404
    bad = dict(body, received_at=(timezone.now() + timedelta(hours=1)).isoformat())
    r = county.post_json("/api/v1/duty/calls", bad)
    assert r.status_code == 400 and r.json()["details"][0]["field"] == "received_at"
    r = county.post_json("/api/v1/duty/calls", dict(body, caller_phone="1" * 31))
    assert r.status_code == 422
    assert client_for(duty.province_signer).post_json("/api/v1/duty/calls", body).status_code == 403
    assert CallRecord.objects.count() == 1
    assert county.get("/api/v1/duty/calls").json()["count"] == 1


def test_handover_acknowledge(duty: DutyTree) -> None:
    handover = HandoverFactory(
        organisation=duty.city, outgoing=duty.city_officer, incoming=duty.city_leader
    )
    url = f"/api/v1/duty/handovers/{handover.uuid}/acknowledge"
    assert client_for(duty.city_officer).post_json(url).status_code == 403
    assert client_for(duty.other_county_officer).post_json(url).status_code == 404
    leader = client_for(duty.city_leader)
    assert leader.get("/api/v1/duty/handovers").json()["count"] == 1
    r = leader.post_json(url)
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert leader.post_json(url).status_code == 409
    assert Handover.objects.get().state == "acknowledged"
    assert leader.post_json("/api/v1/duty/handovers/not-a-uuid/acknowledge").status_code == 422


def test_list_reports_query_budget(duty: DutyTree, django_assert_max_num_queries: Any) -> None:
    from egov.duty.tests.factories import EmergencyReportFactory

    client = client_for(duty.province_officer)
    EmergencyReportFactory.create_batch(2, organisation=duty.county)
    client.get("/api/v1/duty/reports")  # warm caches (token, content types)
    with django_assert_max_num_queries(12) as small:
        client.get("/api/v1/duty/reports")
    EmergencyReportFactory.create_batch(20, organisation=duty.county)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/api/v1/duty/reports").json()["count"] == 22
