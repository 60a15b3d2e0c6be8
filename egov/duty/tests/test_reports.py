"""Emergency reports: deadlines per rule, filing, levels, acknowledgement, escalation, red flags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.errors import DomainError, InvalidTransition, NotPermitted
from egov.core.models import Notification
from egov.duty import deadlines, reporting, selectors
from egov.duty.choices import Category, DueKind, EscalationStep, Grade, ReportState, SubmissionKind
from egov.duty.models import EmergencyReport, EscalationEvent, ReportingRule, ReportReceipt
from egov.duty.tests.conftest import START, DutyTree
from egov.duty.tests.factories import ReportingRuleFactory
from egov.orgs.choices import Role
from egov.orgs.tests.factories import make_member

pytestmark = pytest.mark.django_db


def acting(user: Any) -> Acting:
    return Acting(user=user, position=user.current_position())


def first_report(**overrides: Any) -> reporting.FirstReport:
    values: dict[str, Any] = {
        "title": "正定县某化工厂爆炸",
        "category": Category.ACCIDENT,
        "grade": Grade.II,
        "source": "县应急管理局",
        "occurred_at": timezone.now() - timedelta(minutes=20),
        "learned_at": timezone.now() - timedelta(minutes=10),
        "place": "正定县某镇",
        "course": "10时许发生爆炸",
        "deaths": 1,
        "injured": 3,
    }
    values.update(overrides)
    return reporting.FirstReport(**values)


def file(duty: DutyTree, **overrides: Any) -> EmergencyReport:
    return reporting.do_file_report(
        data=first_report(**overrides), acting=acting(duty.county_officer)
    )


# ---------------------------------------------------------------- deadlines (pure)


@pytest.mark.parametrize(
    ("grade", "phone", "written", "follow_up"),
    [
        (Grade.I, 30, 60, 120),
        (Grade.II, 30, 60, 120),
        (Grade.III, 60, 120, 240),
        (Grade.IV, 120, 240, 720),
        (Grade.SENSITIVE, 30, 60, 120),
    ],
)
def test_seeded_rules_give_the_limits_per_grade(grade, phone, written, follow_up) -> None:
    rule = ReportingRule.objects.get(province=None, category="", grade=grade)
    limits = deadlines.limits_of(rule)
    t = START
    assert deadlines.phone_due(limits, t) == t + timedelta(minutes=phone)
    assert deadlines.written_due(limits, t) == t + timedelta(minutes=written)
    due, kind = deadlines.next_due(limits, t, first_reported_at=t, last_report_at=t)
    assert (due, kind) == (t + timedelta(minutes=follow_up), DueKind.FOLLOW_UP)


def test_next_due_counts_from_the_event_and_switches_to_daily() -> None:
    limits = deadlines.Limits(30, 60, 120, 72)
    t0 = START
    assert deadlines.next_due(limits, t0, first_reported_at=None, last_report_at=None) == (
        t0 + timedelta(minutes=60),
        DueKind.FIRST,
    )
    late = t0 + timedelta(hours=71)
    due, kind = deadlines.next_due(limits, t0, first_reported_at=t0, last_report_at=late)
    assert kind == DueKind.DAILY and due == late + timedelta(days=1)
    assert deadlines.next_due(limits, t0, first_reported_at=t0, last_report_at=t0, closed=True) == (
        None,
        DueKind.NONE,
    )


def test_province_rule_overrides_the_default_and_category_wins(duty: DutyTree) -> None:
    ReportingRuleFactory(province=duty.province, grade=Grade.III, written_minutes=90)
    ReportingRuleFactory(
        province=duty.province, grade=Grade.III, category=Category.NATURAL, written_minutes=45
    )
    assert reporting.rule_for(duty.county, Category.ACCIDENT, Grade.III).written_minutes == 90
    assert reporting.rule_for(duty.county, Category.NATURAL, Grade.III).written_minutes == 45
    assert reporting.rule_for(duty.other_county, Category.ACCIDENT, Grade.IV).province is None


def test_do_save_rule_by_province_leader_only(duty: DutyTree) -> None:
    rule = reporting.do_save_rule(
        province=duty.province,
        category="",
        grade=Grade.II,
        acting=acting(duty.province_leader),
        phone_minutes=20,
        written_minutes=50,
        follow_up_minutes=60,
        daily_after_hours=48,
        escalation_minutes=5,
    )
    assert rule.province == duty.province
    assert reporting.rule_for(duty.county, Category.ACCIDENT, Grade.II).written_minutes == 50
    with pytest.raises(NotPermitted):
        reporting.do_save_rule(
            province=duty.province,
            category="",
            grade=Grade.II,
            acting=acting(duty.city_leader),
            phone_minutes=1,
            written_minutes=1,
            follow_up_minutes=1,
            daily_after_hours=1,
            escalation_minutes=1,
        )


# ---------------------------------------------------------------- filing


def test_first_report_goes_to_city_and_province_with_deadlines_from_the_event(
    duty: DutyTree,
) -> None:
    report = file(duty)
    occurred = timezone.now() - timedelta(minutes=20)
    assert report.state == ReportState.OPEN
    assert report.phone_due_at == occurred + timedelta(minutes=30)
    assert report.written_due_at == occurred + timedelta(minutes=60)
    assert not report.reported_late
    assert report.next_due_kind == DueKind.FOLLOW_UP
    assert report.next_due_at == timezone.now() + timedelta(minutes=120)
    levels = set(ReportReceipt.objects.filter(report=report).values_list("organisation", flat=True))
    assert levels == {duty.city.pk, duty.province.pk}
    told = set(Notification.objects.filter(kind="duty.report").values_list("recipient", flat=True))
    assert told == {duty.city_officer.pk, duty.province_officer.pk}


def test_late_first_report_is_marked_late(duty: DutyTree) -> None:
    report = file(
        duty,
        occurred_at=timezone.now() - timedelta(minutes=90),
        learned_at=timezone.now() - timedelta(minutes=80),
    )
    assert report.reported_late


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("occurred_at", {"occurred_at": START + timedelta(hours=2), "learned_at": START}),
        ("learned_at", {"learned_at": START + timedelta(hours=2)}),
        ("learned_at", {"learned_at": START - timedelta(hours=3)}),
    ],
)
def test_bad_times_are_refused_and_nothing_is_written(duty, field, overrides) -> None:
    with pytest.raises(DomainError) as caught:
        file(duty, **overrides)
    assert caught.value.field == field
    assert not EmergencyReport.objects.exists()


def test_only_duty_staff_file(duty: DutyTree) -> None:
    with pytest.raises(NotPermitted):
        reporting.do_file_report(data=first_report(), acting=acting(duty.province_signer))
    assert not EmergencyReport.objects.exists()


def test_phone_report_then_written_first_report(duty: DutyTree, clock: Any) -> None:
    report = file(duty, by_phone=True)
    assert report.state == ReportState.PHONED
    assert report.next_due_kind == DueKind.FIRST
    assert report.next_due_at == report.written_due_at
    with pytest.raises(InvalidTransition):
        reporting.do_submit(
            report=report,
            kind=SubmissionKind.FOLLOW_UP,
            text="x",
            acting=acting(duty.county_officer),
        )
    clock.shift(timedelta(minutes=15))
    reporting.do_submit(
        report=report,
        kind=SubmissionKind.FIRST,
        text="书面首报",
        acting=acting(duty.county_officer),
    )
    report.refresh_from_db()
    assert report.state == ReportState.OPEN and report.first_reported_at == timezone.now()


def test_follow_ups_are_numbered_and_the_final_closes(duty: DutyTree, clock: Any) -> None:
    report = file(duty)
    officer = acting(duty.county_officer)
    for n in (1, 2):
        clock.shift(timedelta(minutes=30))
        sub = reporting.do_submit(
            report=report, kind=SubmissionKind.FOLLOW_UP, text=f"续报{n}", acting=officer, deaths=2
        )
        assert (sub.kind, sub.number) == (SubmissionKind.FOLLOW_UP, n)
    report.refresh_from_db()
    assert report.follow_up_count == 2 and report.deaths == 2
    assert report.next_due_at == timezone.now() + timedelta(minutes=120)
    reporting.do_submit(report=report, kind=SubmissionKind.FINAL, text="终报", acting=officer)
    report.refresh_from_db()
    assert report.state == ReportState.CLOSED and report.next_due_at is None
    with pytest.raises(InvalidTransition):
        reporting.do_submit(report=report, kind=SubmissionKind.FOLLOW_UP, text="x", acting=officer)
    assert report.submissions.count() == 4


def test_long_events_switch_to_daily_reports(duty: DutyTree, clock: Any) -> None:
    report = file(duty)
    clock.shift(timedelta(hours=73))
    sub = reporting.do_submit(
        report=report,
        kind=SubmissionKind.FOLLOW_UP,
        text="日报",
        acting=acting(duty.county_officer),
    )
    assert sub.kind == SubmissionKind.DAILY
    report.refresh_from_db()
    assert report.next_due_kind == DueKind.DAILY
    assert report.next_due_at == timezone.now() + timedelta(days=1)


def test_city_cannot_file_a_follow_up_for_the_county(duty: DutyTree) -> None:
    report = file(duty)
    with pytest.raises(NotPermitted):
        reporting.do_submit(
            report=report, kind=SubmissionKind.FOLLOW_UP, text="x", acting=acting(duty.city_officer)
        )


# ---------------------------------------------------------------- scope


def test_scope_county_own_city_its_counties_province_everything(duty: DutyTree) -> None:
    report = file(duty)
    for user in (duty.county_officer, duty.city_officer, duty.city_leader, duty.province_officer):
        assert selectors.access_report_by_id(user, report.uuid) == report
    for user in (duty.other_county_officer, duty.province_signer):
        with pytest.raises(Http404):
            selectors.access_report_by_id(user, report.uuid)
    with pytest.raises(Http404):
        selectors.access_report_by_id(duty.county_officer, "not-a-uuid")


# ---------------------------------------------------------------- acknowledgement


def test_acknowledge_by_the_city_on_duty(duty: DutyTree) -> None:
    report = file(duty)
    done = reporting.do_acknowledge_report(report=report, acting=acting(duty.city_officer))
    assert [r.organisation_id for r in done] == [duty.city.pk]
    city = ReportReceipt.objects.get(report=report, organisation=duty.city)
    assert city.acknowledged_by == duty.city_officer and city.next_escalation_at is None
    with pytest.raises(InvalidTransition):
        reporting.do_acknowledge_report(report=report, acting=acting(duty.city_officer))


def test_someone_not_on_duty_cannot_acknowledge(duty: DutyTree, clock: Any) -> None:
    report = file(duty)
    # The city officer's shift ends at 08:30 tomorrow; after it, they are no longer on duty.
    clock.move_to(duty.shifts["city"].ends_at + timedelta(minutes=1))
    with pytest.raises(NotPermitted) as caught:
        reporting.do_acknowledge_report(report=report, acting=acting(duty.city_officer))
    assert caught.value.code == "not_on_duty"
    assert not ReportReceipt.objects.filter(acknowledged_at__isnull=False).exists()


# ---------------------------------------------------------------- escalation


def run_job() -> int:
    return reporting.do_escalate_due(acting=Acting.system("test"))


def test_escalation_steps_and_stops_exactly_when_acknowledged(duty: DutyTree, clock: Any) -> None:
    report = file(duty)  # rule II: escalate every 10 minutes
    province = ReportReceipt.objects.get(report=report, organisation=duty.province)
    assert province.next_escalation_at == timezone.now() + timedelta(minutes=10)
    reporting.do_acknowledge_report(report=report, acting=acting(duty.city_officer))

    clock.shift(timedelta(minutes=9, seconds=59))
    assert run_job() == 0
    clock.shift(timedelta(seconds=1))  # exactly 10 minutes
    assert run_job() == 1  # only the province: the city acknowledged
    province.refresh_from_db()
    assert province.step == EscalationStep.LEADER
    leader_told = Notification.objects.filter(
        kind="duty.escalation", recipient=duty.province_leader
    )
    assert leader_told.count() == 1
    assert run_job() == 0  # the same minute again: nothing new

    clock.shift(timedelta(minutes=10))
    assert run_job() == 1
    province.refresh_from_db()
    assert province.step == EscalationStep.NAMED_ROLE
    assert (
        Notification.objects.filter(kind="duty.escalation", recipient=duty.province_signer).count()
        == 1
    )
    # Now the named role sees the report and may acknowledge it; others at the province do not.
    assert selectors.access_report_by_id(duty.province_signer, report.uuid) == report
    clerk = make_member(duty.province, Role.CLERK)
    with pytest.raises(Http404):
        selectors.access_report_by_id(clerk, report.uuid)

    clock.shift(timedelta(minutes=5))
    reporting.do_acknowledge_report(report=report, acting=acting(duty.province_signer))
    clock.shift(timedelta(minutes=30))
    assert run_job() == 0
    province.refresh_from_db()
    assert province.escalations == 2 and province.next_escalation_at is None
    assert EscalationEvent.objects.filter(receipt=province).count() == 2


def test_a_late_job_escalates_once_and_reschedules_from_now(duty: DutyTree, clock: Any) -> None:
    report = file(duty)
    clock.shift(timedelta(hours=2))
    assert run_job() == 2  # city and province, each one step
    receipt = ReportReceipt.objects.filter(report=report).first()
    assert receipt is not None and receipt.step == EscalationStep.LEADER
    assert receipt.next_escalation_at == timezone.now() + timedelta(minutes=10)


def test_escalation_with_nobody_on_the_roster_tells_the_role_holders(
    duty: DutyTree, clock: Any
) -> None:
    report = file(duty)
    clock.move_to(duty.shifts["province"].ends_at + timedelta(hours=1))  # nobody on shift now
    run_job()
    assert Notification.objects.filter(
        kind="duty.escalation", recipient=duty.province_leader
    ).exists()
    assert report.receipts.filter(step=EscalationStep.LEADER).count() == 2


# ---------------------------------------------------------------- red flags


def test_red_flag_at_the_right_minute(duty: DutyTree, clock: Any) -> None:
    report = file(duty)  # follow-up due 120 minutes from now
    due = report.next_due_at
    assert due is not None
    clock.move_to(due)
    assert not reporting.overdue_state(EmergencyReport.objects.get(pk=report.pk))
    assert not selectors.list_reports_for(duty.city_officer, overdue=True).exists()
    clock.move_to(due + timedelta(seconds=1))
    assert reporting.overdue_state(EmergencyReport.objects.get(pk=report.pk))
    for user in (duty.city_officer, duty.province_officer, duty.county_officer):
        assert list(selectors.list_reports_for(user, overdue=True)) == [report]
    reporting.do_submit(
        report=report,
        kind=SubmissionKind.FOLLOW_UP,
        text="续报",
        acting=acting(duty.county_officer),
    )
    assert not selectors.list_reports_for(duty.city_officer, overdue=True).exists()


def test_phoned_report_is_red_when_the_written_report_is_late(duty: DutyTree, clock: Any) -> None:
    report = file(duty, by_phone=True)  # event 20 minutes ago: written due in 40 minutes
    clock.shift(timedelta(minutes=40))
    assert not reporting.overdue_state(EmergencyReport.objects.get(pk=report.pk))
    clock.shift(timedelta(minutes=1))
    assert reporting.overdue_state(EmergencyReport.objects.get(pk=report.pk))


def test_the_periodic_job_and_the_command(duty: DutyTree, clock: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    from egov.core.scheduling import periodic_jobs, run_due_jobs

    job = next(j for j in periodic_jobs() if j.name == "duty.escalate_reports")
    assert job.every == timedelta(minutes=1)
    report = file(duty)
    clock.shift(timedelta(minutes=10))
    assert "duty.escalate_reports" in run_due_jobs()  # immediate backend in tests: it ran
    assert set(report.receipts.values_list("step", flat=True)) == {EscalationStep.LEADER}
    out = StringIO()
    call_command("duty_escalate", stdout=out)
    assert "escalated 0" in out.getvalue()
