"""Duty pages: forms with bad input, scope, console query budget, roster, iCalendar, duty log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from egov.duty.choices import DutyRole
from egov.duty.models import CallRecord, EmergencyReport, Handover, SwapRequest, ZeroReport
from egov.duty.tests.conftest import START, DutyTree
from egov.duty.tests.factories import (
    EmergencyReportFactory,
    HandoverFactory,
    ShiftFactory,
    ZeroReportObligationFactory,
    put_on_shift,
)
from egov.orgs.tests.otp_helpers import login_verified

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    if user.requires_second_factor:
        login_verified(client, user)
    else:
        client.force_login(user)
    return client


def local(dt: Any) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def report_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "title": "正定县某化工厂爆炸",
        "category": "accident",
        "grade": "II",
        "occurred_at": local(START - timedelta(minutes=20)),
        "learned_at": local(START - timedelta(minutes=10)),
        "place": "正定县某镇",
        "source": "县应急管理局",
        "deaths": "0",
        "injured": "0",
        "missing": "0",
        "course": "经过",
    }
    data.update(overrides)
    return data


def test_file_a_report_through_the_form(duty: DutyTree) -> None:
    client = login(duty.county_officer)
    assert client.get(reverse("duty:report_new")).status_code == 200
    r = client.post(reverse("duty:report_new"), report_form())
    report = EmergencyReport.objects.get()
    assert r.status_code == 302 and r["Location"] == report.get_absolute_url()
    page = login(duty.city_officer).get(report.get_absolute_url())
    assert b'data-testid="acknowledge"' in page.content
    r = login(duty.city_officer).post(reverse("duty:report_acknowledge", args=[report.uuid]))
    assert r.status_code == 302
    r = client.post(
        reverse("duty:report_submit", args=[report.uuid, "follow_up"]), {"text": "续报"}
    )
    assert r.status_code == 302 and report.submissions.count() == 2
    r = client.post(reverse("duty:report_submit", args=[report.uuid, "final"]), {"text": "终报"})
    r = client.post(reverse("duty:report_submit", args=[report.uuid, "follow_up"]), {"text": "x"})
    assert r.status_code == 400 and b'data-testid="form-errors"' in r.content
    r = client.post(reverse("duty:report_submit", args=[report.uuid, "bogus"]), {"text": "x"})
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": local(START + timedelta(hours=1))}, "occurred_at"),
        ({"occurred_at": "not a time"}, "occurred_at"),
        ({"learned_at": local(START - timedelta(hours=2))}, "learned_at"),
        ({"grade": "V"}, "grade"),
        ({"deaths": "-1"}, "deaths"),
        ({"deaths": "x"}, "deaths"),
        ({"title": "x" * 201}, "title"),
        ({"course": ""}, "course"),
    ],
)
def test_report_form_bad_input(duty: DutyTree, overrides: Any, field: str) -> None:
    r = login(duty.county_officer).post(reverse("duty:report_new"), report_form(**overrides))
    assert r.status_code == 400
    assert f'data-testid="error-{field}"'.encode() in r.content
    assert not EmergencyReport.objects.exists()


def test_report_form_refused_without_a_duty_role(duty: DutyTree) -> None:
    r = login(duty.province_signer).post(reverse("duty:report_new"), report_form())
    assert r.status_code == 400 and b'data-testid="form-errors"' in r.content
    assert not EmergencyReport.objects.exists()


def test_report_pages_404_outside_scope(duty: DutyTree) -> None:
    report = EmergencyReportFactory(organisation=duty.county)
    client = login(duty.other_county_officer)
    assert client.get(report.get_absolute_url()).status_code == 404
    assert client.post(reverse("duty:report_acknowledge", args=[report.uuid])).status_code == 404
    assert client.get(reverse("duty:report_detail", args=["nope"])).status_code == 404
    r = login(duty.county_officer).post(reverse("duty:report_acknowledge", args=[report.uuid]))
    assert r.status_code in (403, 409) and b'data-testid="ack-error"' in r.content


def test_console_red_flags_and_constant_queries(
    duty: DutyTree, clock: Any, django_assert_max_num_queries: Any
) -> None:
    EmergencyReportFactory(organisation=duty.county)
    ShiftFactory(team=duty.teams["province"], starts_at=timezone.now() + timedelta(hours=30))
    client = login(duty.province_officer)
    client.get(reverse("duty:console"))
    with django_assert_max_num_queries(40) as small:
        r = client.get(reverse("duty:console"))
    assert r.status_code == 200 and b'data-overdue="1"' not in r.content
    EmergencyReportFactory.create_batch(15, organisation=duty.county)
    EmergencyReportFactory.create_batch(5, organisation=duty.other_county)
    for _ in range(3):
        ShiftFactory(
            team=duty.teams["province"], starts_at=timezone.now() + timedelta(days=1, hours=_)
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        r = client.get(reverse("duty:console"))
    assert r.content.count(b'data-overdue="0"') == 21
    assert b'data-testid="empty-shifts"' in r.content
    clock.shift(timedelta(minutes=121))
    r = login(duty.province_officer).get(reverse("duty:console"))  # the session idled out
    assert r.content.count(b'data-overdue="1"') == 21
    assert b'data-testid="overdue-alert"' in r.content
    # The city sees only its own counties' reports.
    r = login(duty.city_officer).get(reverse("duty:console"))
    assert r.content.count(b"data-overdue=") == 16


def test_call_register_form(duty: DutyTree) -> None:
    client = login(duty.county_officer)
    data = {
        "received_at": local(START),
        "caller_unit": "正定县应急局",
        "caller_name": "李四",
        "caller_title": "局长",
        "caller_phone": "0311-88888888",
        "place": "某镇",
        "what_happened": "化工厂爆炸",
        "cause": "",
        "measures": "",
        "impact_and_trend": "",
        "already_told": "",
    }
    r = client.post(
        reverse("duty:call_new"), dict(data, received_at=local(START + timedelta(hours=2)))
    )
    assert r.status_code == 400 and b'data-testid="error-received_at"' in r.content
    r = client.post(reverse("duty:call_new"), dict(data, caller_phone=""))
    assert r.status_code == 400 and b'data-testid="error-caller_phone"' in r.content
    r = client.post(reverse("duty:call_new"), dict(data, what_happened="x" * 5000))
    assert r.status_code == 400 and b'data-testid="error-what_happened"' in r.content
    assert not CallRecord.objects.exists()
    r = client.post(reverse("duty:call_new"), data)
    call = CallRecord.objects.get()
    assert r.status_code == 302 and call.recorded_by == duty.county_officer
    assert login(duty.city_officer).get(call.get_absolute_url()).status_code == 200
    assert login(duty.other_county_officer).get(call.get_absolute_url()).status_code == 404
    assert client.get(reverse("duty:call_list")).status_code == 200
    r = client.get(reverse("duty:duty_log"))
    assert r.status_code == 200 and "化工厂爆炸".encode() in r.content
    assert client.get(reverse("duty:duty_log"), {"day": "garbage"}).status_code == 200


def test_handover_pages(duty: DutyTree) -> None:
    client = login(duty.city_officer)
    r = client.post(
        reverse("duty:handover_new"),
        {"incoming": duty.city_leader.pk, "notes": "平稳", "open_items": "一\n二"},
    )
    handover = Handover.objects.get()
    assert r.status_code == 302
    r = client.post(reverse("duty:handover_new"), {"incoming": duty.county_officer.pk})
    assert r.status_code == 400 and b'data-testid="error-incoming"' in r.content
    r = client.post(handover.get_absolute_url())
    assert r.status_code == 403
    leader = login(duty.city_leader)
    assert b'data-testid="handover-pending"' in leader.get(reverse("duty:console")).content
    assert leader.post(handover.get_absolute_url()).status_code == 302
    handover.refresh_from_db()
    assert handover.state == "acknowledged"
    other = HandoverFactory(
        organisation=duty.county, outgoing=duty.county_officer, incoming=duty.county_leader
    )
    assert login(duty.other_county_officer).get(other.get_absolute_url()).status_code == 404


def test_zero_report_page(duty: DutyTree) -> None:
    ZeroReportObligationFactory(organisation=duty.county)
    r = login(duty.city_officer).get(reverse("duty:zero_report"))
    assert "正定县".encode() in r.content
    client = login(duty.county_officer)
    assert client.post(reverse("duty:zero_report"), {"note": "x" * 501}).status_code == 400
    assert client.post(reverse("duty:zero_report"), {"note": "无"}).status_code == 302
    assert client.post(reverse("duty:zero_report"), {"note": "无"}).status_code == 400
    assert ZeroReport.objects.count() == 1


def test_roster_month_ical_and_swap_pages(duty: DutyTree) -> None:
    client = login(duty.city_officer)
    r = client.get(reverse("duty:roster"), {"month": "2026-07"})
    assert r.status_code == 200 and b'data-testid="roster"' in r.content
    assert client.get(reverse("duty:roster"), {"month": "2026-13"}).status_code == 200
    ics = client.get(reverse("duty:my_shifts_ics"))
    assert ics["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.content and b"DTSTART:20260701T003000Z" in ics.content
    later = ShiftFactory(
        team=duty.teams["city"],
        starts_at=START + timedelta(days=3),
        ends_at=START + timedelta(days=4),
    )
    mine = put_on_shift(later, duty.city_officer, DutyRole.OFFICER)
    url = reverse("duty:swap_new", args=[mine.uuid])
    r = client.post(url, {"kind": "takeover", "taker": "nobody-such"})
    assert r.status_code == 400 and b'data-testid="error-taker"' in r.content
    r = client.post(url, {"kind": "takeover", "taker": duty.city_leader.username})
    assert r.status_code == 302
    swap = SwapRequest.objects.get()
    assert login(duty.other_county_officer).get(r["Location"]).status_code == 404
    # The leader is the taker and a roster manager; a roster manager approves, not the requester.
    assert client.post(r["Location"], {"decision": "approve"}).status_code == 403
    leader = login(duty.city_leader)
    assert leader.post(r["Location"], {"decision": "maybe"}).status_code == 400
    assert leader.post(r["Location"], {"decision": "approve"}).status_code == 302
    swap.refresh_from_db()
    assert swap.state == "approved"
    assert client.get(reverse("duty:shift_detail", args=[later.uuid])).status_code == 200


def test_todo_provider(duty: DutyTree, django_assert_max_num_queries: Any) -> None:
    from egov.duty.todos import DutyTodoProvider

    provider = DutyTodoProvider()
    EmergencyReportFactory(organisation=duty.county)  # no receipts: nothing to acknowledge
    login(duty.county_officer).post(reverse("duty:report_new"), report_form())
    ZeroReportObligationFactory(organisation=duty.city)
    HandoverFactory(organisation=duty.city, outgoing=duty.city_leader, incoming=duty.city_officer)
    assert provider.count_for(duty.city_officer) == 3
    kinds = {item.kind for item in provider.items_for(duty.city_officer, 10)}
    assert kinds == {"report_acknowledge", "handover_acknowledge", "zero_report"}
    with django_assert_max_num_queries(12):
        provider.items_for(duty.province_officer, 10)


def rule_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "category": "",
        "grade": "III",
        "phone_minutes": "45",
        "written_minutes": "90",
        "follow_up_minutes": "180",
        "daily_after_hours": "48",
        "escalation_minutes": "15",
        "escalation_role": "signer",
    }
    data.update(overrides)
    return data


def test_rules_page_province_leader_edits(duty: DutyTree) -> None:
    from egov.duty.models import ReportingRule

    leader = login(duty.province_leader)
    r = leader.get(reverse("duty:rules"))
    assert r.status_code == 200 and b'data-testid="rule-form"' in r.content
    assert b'data-testid="rule-II-any"' in r.content
    for bad, field in (
        ({"written_minutes": "0"}, "written_minutes"),
        ({"phone_minutes": "abc"}, "phone_minutes"),
        ({"grade": "V"}, "grade"),
        ({"escalation_role": "king"}, "escalation_role"),
    ):
        r = leader.post(reverse("duty:rules"), rule_form(**bad))
        assert r.status_code == 400 and f'data-testid="error-{field}"'.encode() in r.content
    assert not ReportingRule.objects.filter(province__isnull=False).exists()
    assert leader.post(reverse("duty:rules"), rule_form()).status_code == 302
    rule = ReportingRule.objects.get(province=duty.province)
    assert (rule.grade, rule.written_minutes) == ("III", 90)
    # A county officer sees the limits in force, cannot change them.
    county = login(duty.county_officer)
    r = county.get(reverse("duty:rules"))
    assert b'data-testid="rule-form"' not in r.content and b"rule-III-any" in r.content
    r = county.post(reverse("duty:rules"), rule_form(written_minutes="5"))
    assert r.status_code == 400
    rule.refresh_from_db()
    assert rule.written_minutes == 90


def test_submission_form_bad_input(duty: DutyTree) -> None:
    report = EmergencyReportFactory(organisation=duty.county)
    client = login(duty.county_officer)
    url = reverse("duty:report_submit", args=[report.uuid, "follow_up"])
    for data, field in (
        ({"text": ""}, "text"),
        ({"text": "x" * 5000}, "text"),
        ({"text": "ok", "deaths": "-3"}, "deaths"),
        ({"text": "ok", "injured": "many"}, "injured"),
    ):
        r = client.post(url, data)
        assert r.status_code == 400 and f'data-testid="error-{field}"'.encode() in r.content
    assert report.submissions.count() == 0
    assert login(duty.city_officer).post(url, {"text": "ok"}).status_code == 400
    assert login(duty.other_county_officer).post(url, {"text": "ok"}).status_code == 404
    assert report.submissions.count() == 0
