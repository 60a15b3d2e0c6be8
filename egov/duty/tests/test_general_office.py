"""A general office (办公厅/办公室) acts for its government in duty matters.

Routing (`report_levels`), scope (reports, console) and acknowledgement all follow that rule.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.models import Notification
from egov.duty import reporting, selectors
from egov.duty.choices import Category, DutyRole, EscalationStep, Grade
from egov.duty.demo import REPORT_TITLE
from egov.duty.models import EmergencyReport, ReportReceipt, Shift
from egov.duty.tests.conftest import DutyTree
from egov.duty.tests.factories import DutyTeamFactory, ShiftFactory, put_on_shift
from egov.duty.todos import DutyTodoProvider
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, make_member
from egov.orgs.tests.otp_helpers import login_verified

pytestmark = pytest.mark.django_db


def acting(user: Any) -> Acting:
    return Acting(user=user, position=user.current_position())


def login(user: User) -> Client:
    client = Client()
    if user.requires_second_factor:
        login_verified(client, user)
    else:
        client.force_login(user)
    return client


def report_data(**overrides: Any) -> reporting.FirstReport:
    values: dict[str, Any] = {
        "title": "某地火灾",
        "category": Category.ACCIDENT,
        "grade": Grade.II,
        "source": "应急管理局",
        "occurred_at": timezone.now() - timedelta(minutes=20),
        "learned_at": timezone.now() - timedelta(minutes=10),
        "place": "某镇",
        "course": "10时许起火",
    }
    values.update(overrides)
    return reporting.FirstReport(**values)


def unit(name: str, kind: str, level: str, parent: Organisation) -> Organisation:
    return OrganisationFactory(name=name, kind=kind, level=level, parent=parent)


def staffed_team(duty: DutyTree, org: Organisation, officer: User, leader: User) -> Shift:
    team = DutyTeamFactory(organisation=org, name="总值班室")
    now = timezone.now()
    shift = ShiftFactory(
        team=team, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=23)
    )
    put_on_shift(shift, officer, DutyRole.OFFICER)
    put_on_shift(shift, leader, DutyRole.LEADER)
    return shift


@dataclass
class Offices:
    province_office: Organisation  # 省政府办公厅, with the provincial duty team
    city_office: Organisation  # 市政府办公室, no team (the city government keeps it)
    province_dept: Organisation  # 省应急管理厅
    county_dept: Organisation  # 县应急管理局
    office_officer: User
    office_leader: User
    dept_officer: User


@pytest.fixture
def offices(duty: DutyTree) -> Offices:
    province_office = unit(
        "河北省人民政府办公厅", OrgKind.GENERAL_OFFICE, OrgLevel.PROVINCE, duty.province
    )
    city_office = unit("石家庄市人民政府办公室", OrgKind.GENERAL_OFFICE, OrgLevel.CITY, duty.city)
    province_dept = unit("河北省应急管理厅", OrgKind.DEPARTMENT, OrgLevel.PROVINCE, duty.province)
    county_dept = unit("正定县应急管理局", OrgKind.DEPARTMENT, OrgLevel.COUNTY, duty.county)
    office_officer = make_member(province_office, Role.DUTY_OFFICER, username="office.officer")
    office_leader = make_member(province_office, Role.DUTY_LEADER, username="office.leader")
    staffed_team(duty, province_office, office_officer, office_leader)
    return Offices(
        province_office=province_office,
        city_office=city_office,
        province_dept=province_dept,
        county_dept=county_dept,
        office_officer=office_officer,
        office_leader=office_leader,
        dept_officer=make_member(province_dept, Role.DUTY_OFFICER, username="dept.officer"),
    )


def levels(org: Organisation) -> list[int]:
    return [o.pk for o in reporting.report_levels(org)]


# ---------------------------------------------------------------- routing


def test_county_report_goes_to_the_city_and_the_provincial_general_office(
    duty: DutyTree, offices: Offices, django_assert_num_queries: Any
) -> None:
    # Both the province government and its general office keep a team: the office wins.
    with django_assert_num_queries(2):
        assert levels(duty.county) == [duty.city.pk, offices.province_office.pk]
    # The city's general office has no team, the city government has: the government.
    assert levels(duty.other_county) == [duty.other_city.pk, offices.province_office.pk]


def test_without_teams_the_general_office_is_preferred(duty: DutyTree, offices: Offices) -> None:
    for team in duty.teams.values():
        team.is_active = False
        team.save(update_fields=["is_active"])
    offices.province_office.duty_teams.update(is_active=False)
    assert levels(duty.county) == [offices.city_office.pk, offices.province_office.pk]


def test_query_count_does_not_grow_with_the_tree(
    duty: DutyTree, offices: Offices, django_assert_num_queries: Any
) -> None:
    for i in range(5):
        unit(f"办公室{i}", OrgKind.GENERAL_OFFICE, OrgLevel.CITY, duty.other_city)
        unit(f"部门{i}", OrgKind.DEPARTMENT, OrgLevel.PROVINCE, duty.province)
    with django_assert_num_queries(2):
        assert levels(duty.county) == [duty.city.pk, offices.province_office.pk]


def test_city_and_general_office_reporters_go_upwards(duty: DutyTree, offices: Offices) -> None:
    assert levels(duty.city) == [offices.province_office.pk]
    # A general office speaks for its government: its own level is not a recipient.
    assert levels(offices.city_office) == [offices.province_office.pk]
    assert levels(offices.province_office) == []
    assert levels(duty.province) == []


def test_department_reports_stay_at_their_own_level_first(duty: DutyTree, offices: Offices) -> None:
    # A provincial department reports to the provincial general office's duty room.
    assert levels(offices.province_dept) == [offices.province_office.pk]
    # A county department: its county government, then the city, then the province.
    assert levels(offices.county_dept) == [
        duty.county.pk,
        duty.city.pk,
        offices.province_office.pk,
    ]


def test_department_report_is_filed_and_acknowledged_by_the_general_office(
    duty: DutyTree, offices: Offices
) -> None:
    dept_leader = make_member(offices.province_dept, Role.DUTY_LEADER, username="dept.leader")
    staffed_team(duty, offices.province_dept, offices.dept_officer, dept_leader)
    report = reporting.do_file_report(data=report_data(), acting=acting(offices.dept_officer))
    receipts = ReportReceipt.objects.filter(report=report)
    assert [r.organisation_id for r in receipts] == [offices.province_office.pk]
    done = reporting.do_acknowledge_report(report=report, acting=acting(offices.office_officer))
    assert [r.organisation_id for r in done] == [offices.province_office.pk]


# ---------------------------------------------------------------- acknowledgement


def test_general_office_on_duty_is_told_acknowledges_and_is_escalated_to(
    duty: DutyTree, offices: Offices, clock: Any
) -> None:
    report = reporting.do_file_report(data=report_data(), acting=acting(duty.county_officer))
    told = set(Notification.objects.filter(kind="duty.report").values_list("recipient", flat=True))
    assert told == {duty.city_officer.pk, offices.office_officer.pk}
    # The province government's own officer is no longer a receiving level.
    assert not selectors.receipts_waiting_for(duty.province_officer).filter(report=report).exists()
    clock.shift(timedelta(minutes=report.rule.escalation_minutes))
    reporting.do_escalate_due(acting=Acting.system("test"))
    receipt = ReportReceipt.objects.get(report=report, organisation=offices.province_office)
    assert receipt.step == EscalationStep.LEADER
    assert Notification.objects.filter(
        kind="duty.escalation", recipient=offices.office_leader
    ).exists()
    done = reporting.do_acknowledge_report(report=report, acting=acting(offices.office_leader))
    assert [r.organisation_id for r in done] == [offices.province_office.pk]
    receipt.refresh_from_db()
    assert receipt.acknowledged_by == offices.office_leader
    assert receipt.next_escalation_at is None


# ---------------------------------------------------------------- scope


def test_general_office_sees_its_governments_subtree_a_sibling_department_does_not(
    duty: DutyTree, offices: Offices
) -> None:
    report = reporting.do_file_report(data=report_data(), acting=acting(duty.county_officer))
    for user in (offices.office_officer, offices.office_leader):
        assert selectors.access_report_by_id(user, report.uuid) == report
        assert duty.county in selectors.duty_organisations(user)
    with pytest.raises(Http404):
        selectors.access_report_by_id(offices.dept_officer, report.uuid)
    assert duty.county not in selectors.duty_organisations(offices.dept_officer)
    # The city's general office would reach the city's subtree only, not the other city's.
    city_office_officer = make_member(offices.city_office, Role.DUTY_OFFICER)
    assert selectors.access_report_by_id(city_office_officer, report.uuid) == report
    other = reporting.do_file_report(
        data=report_data(title="唐山某事件"), acting=acting(duty.other_county_officer)
    )
    with pytest.raises(Http404):
        selectors.access_report_by_id(city_office_officer, other.uuid)
    # A non-duty role in the general office does not widen anything.
    clerk = make_member(offices.province_office, Role.CLERK)
    with pytest.raises(Http404):
        selectors.access_report_by_id(clerk, report.uuid)


def test_general_office_console_and_detail(duty: DutyTree, offices: Offices) -> None:
    report = reporting.do_file_report(data=report_data(), acting=acting(duty.county_officer))
    client = login(offices.office_officer)
    r = client.get(reverse("duty:console"))
    assert r.status_code == 200
    assert [x.pk for x in r.context["reports"]] == [report.pk]
    assert client.get(report.get_absolute_url()).status_code == 200
    r = login(offices.dept_officer).get(report.get_absolute_url())
    assert r.status_code == 404


# ---------------------------------------------------------------- demo


def test_demo_county_report_reaches_the_provincial_general_office(clock: Any) -> None:
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    call_command("seed_duty_demo", "--quiet-logins", stdout=io.StringIO())
    report = EmergencyReport.objects.get(title=REPORT_TITLE)
    receivers = set(
        ReportReceipt.objects.filter(report=report).values_list(
            "organisation__kind", "organisation__level"
        )
    )
    assert receivers == {
        (OrgKind.GOVERNMENT, OrgLevel.CITY),
        (OrgKind.GENERAL_OFFICE, OrgLevel.PROVINCE),
    }
    for username in ("sjz_duty", "duty", "dutylead"):
        user = User.objects.get(username=username)
        r = login(user).get(reverse("duty:console"))
        assert r.status_code == 200
        assert [x.pk for x in r.context["reports"]] == [report.pk], username
        todo = DutyTodoProvider().items_for(user, 10)
        assert [t.object_id for t in todo if t.kind == "report_acknowledge"] == [
            str(report.uuid)
        ], username
