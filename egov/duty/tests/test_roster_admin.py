"""Roster management: teams, patterns, generation, assignment — services, pages, API, demo."""

from __future__ import annotations

import io
from datetime import date, time, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from egov.api.testing import ApiClient, bearer_for
from egov.core.acting import Acting
from egov.core.errors import Conflict, DomainError, NotPermitted
from egov.core.models import AuditEvent
from egov.duty import selectors, services
from egov.duty.choices import DutyRole, Frequency
from egov.duty.models import DutyTeam, EmergencyReport, Shift, ShiftAssignment, ShiftPattern
from egov.duty.tests.conftest import START, DutyTree
from egov.duty.tests.factories import (
    DutyTeamFactory,
    ShiftFactory,
    ShiftPatternFactory,
    put_on_shift,
)
from egov.orgs.choices import Role
from egov.orgs.tests.factories import OrganisationFactory, make_member
from egov.orgs.tests.otp_helpers import login_verified

pytestmark = pytest.mark.django_db


def acting(user: Any) -> Acting:
    return Acting(user=user, position=user.current_position())


def login(user: Any) -> Client:
    client = Client()
    if user.requires_second_factor:
        login_verified(client, user)
    else:
        client.force_login(user)
    return client


def api(user: Any) -> ApiClient:
    return ApiClient(token=bearer_for(user))


# ---------------------------------------------------------------- services


def test_who_may_manage_rosters(duty: DutyTree) -> None:
    # 带班领导 of the unit: yes; of a unit above: yes; 值班员: no; a sibling unit: no.
    team = services.do_create_team(
        organisation=duty.county, name="夜班", acting=acting(duty.county_leader)
    )
    services.do_update_team(team=team, name="夜间值班", acting=acting(duty.city_leader))
    admin = make_member(duty.county, Role.SYSTEM_ADMIN, username="county.admin")
    services.do_update_team(team=team, is_active=False, acting=acting(admin))
    for person in (duty.county_officer, duty.other_county_officer, duty.province_signer):
        with pytest.raises(NotPermitted):
            services.do_update_team(team=team, name="x", acting=acting(person))
    other_leader = make_member(duty.other_county, Role.DUTY_LEADER)
    with pytest.raises(NotPermitted):
        services.do_create_team(organisation=duty.county, name="y", acting=acting(other_leader))
    with pytest.raises(NotPermitted):
        services.do_create_team(organisation=duty.county, name="y", acting=Acting.system("t"))
    team.refresh_from_db()
    assert (team.name, team.is_active) == ("夜间值班", False)
    assert AuditEvent.objects.filter(action="duty.team.updated").count() == 2


def test_team_name_rules(duty: DutyTree) -> None:
    lead = acting(duty.city_leader)
    with pytest.raises(Conflict):
        services.do_create_team(organisation=duty.city, name="值班组", acting=lead)
    with pytest.raises(DomainError) as caught:
        services.do_create_team(organisation=duty.city, name="   ", acting=lead)
    assert caught.value.field == "name"
    other = services.do_create_team(organisation=duty.city, name="应急组", acting=lead)
    with pytest.raises(Conflict):
        services.do_update_team(team=other, name="值班组", acting=lead)


def test_pattern_create_update_and_bad_values(duty: DutyTree) -> None:
    team, lead = duty.teams["city"], acting(duty.city_leader)
    pattern = services.do_create_pattern(
        team=team,
        acting=lead,
        name="工作日白班",
        frequency=Frequency.WEEKLY,
        weekdays="4,0, 2",
        start_time=time(8, 30),
        duration_minutes=9 * 60,
        valid_from=date(2026, 7, 1),
    )
    assert pattern.weekdays == "0,2,4"
    services.do_update_pattern(pattern=pattern, acting=lead, duration_minutes=10 * 60)
    pattern.refresh_from_db()
    assert pattern.duration_minutes == 600
    bad = [
        ({"weekdays": "7"}, "weekdays"),
        ({"weekdays": "x"}, "weekdays"),
        ({"valid_until": date(2026, 6, 1)}, "valid_until"),
        ({"valid_from": date(1, 1, 1)}, "valid_from"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"frequency": "hourly"}, "frequency"),
        ({"colour": "red"}, "colour"),
    ]
    for change, field in bad:
        with pytest.raises(DomainError) as caught:
            services.do_update_pattern(pattern=pattern, acting=lead, **change)
        assert caught.value.field == field, change
    pattern.refresh_from_db()
    assert pattern.weekdays == "0,2,4" and pattern.duration_minutes == 600
    with pytest.raises(NotPermitted):
        services.do_update_pattern(pattern=pattern, acting=acting(duty.city_officer), name="x")


def test_generate_team_shifts_is_idempotent(duty: DutyTree) -> None:
    team, lead = duty.teams["city"], acting(duty.city_leader)
    with pytest.raises(DomainError):  # no pattern yet
        services.do_generate_team_shifts(
            team=team, start=date(2026, 7, 2), end=date(2026, 7, 8), acting=lead
        )
    ShiftPatternFactory(team=team, valid_from=date(2026, 7, 1))
    # A second pattern starting at the same time must not collide with the first.
    ShiftPatternFactory(team=team, valid_from=date(2026, 7, 1))
    created = services.do_generate_team_shifts(
        team=team, start=date(2026, 7, 2), end=date(2026, 7, 8), acting=lead
    )
    assert len(created) == 7
    assert (
        services.do_generate_team_shifts(
            team=team, start=date(2026, 7, 1), end=date(2026, 7, 8), acting=lead
        )
        == []
    )  # 1 July 08:30 exists already (the fixture's current shift)
    assert Shift.objects.filter(team=team).count() == 8
    for start, end, field in (
        (date(2026, 7, 9), date(2026, 7, 1), "end"),
        (date(2026, 7, 1), date(2027, 9, 1), "end"),
        (date(1999, 1, 1), date(1999, 1, 2), "start"),
    ):
        with pytest.raises(DomainError) as caught:
            services.do_generate_team_shifts(team=team, start=start, end=end, acting=lead)
        assert caught.value.field == field
    with pytest.raises(NotPermitted):
        services.do_generate_team_shifts(
            team=team,
            start=date(2026, 7, 2),
            end=date(2026, 7, 3),
            acting=acting(duty.city_officer),
        )


def test_assign_only_the_right_role_of_the_unit(duty: DutyTree) -> None:
    team, lead = duty.teams["city"], acting(duty.city_leader)
    later = ShiftFactory(
        team=team,
        starts_at=duty.shifts["city"].ends_at,
        ends_at=duty.shifts["city"].ends_at + timedelta(hours=24),
    )
    plain = make_member(duty.city, Role.CLERK)
    for user, role in (
        (plain, DutyRole.OFFICER),  # no duty role
        (duty.city_officer, DutyRole.LEADER),  # officer cannot lead
        (duty.county_officer, DutyRole.OFFICER),  # another unit
    ):
        with pytest.raises(DomainError) as caught:
            services.do_assign(shift=later, user=user, role=role, acting=lead)
        assert caught.value.field == "user"
    with pytest.raises(DomainError) as caught:
        services.do_assign(shift=later, user=duty.city_officer, role="boss", acting=lead)
    assert caught.value.field == "role"
    a = services.do_assign(shift=later, user=duty.city_officer, role=DutyRole.OFFICER, acting=lead)
    with pytest.raises(Conflict):
        services.do_assign(shift=later, user=duty.city_officer, role=DutyRole.OFFICER, acting=lead)
    with pytest.raises(NotPermitted):
        services.do_unassign(assignment=a, acting=acting(duty.city_officer))
    services.do_unassign(assignment=a, acting=lead)
    assert not ShiftAssignment.objects.filter(shift=later).exists()
    assert {u.pk for u in selectors.eligible_people(duty.city.pk, DutyRole.LEADER)} == {
        duty.city_leader.pk
    }
    assert not selectors.eligible_people(duty.city.pk, "boss").exists()


# ---------------------------------------------------------------- pages


def test_team_pages_create_pattern_generate(duty: DutyTree) -> None:
    client = login(duty.county_leader)
    r = client.get(reverse("duty:team_list"))
    assert r.status_code == 200 and b'data-testid="team-form"' in r.content
    r = client.post(
        reverse("duty:team_list"), {"organisation": str(duty.county.uuid), "name": "夜班组"}
    )
    team = DutyTeam.objects.get(organisation=duty.county, name="夜班组")
    assert r.status_code == 302 and r["Location"] == reverse("duty:team_detail", args=[team.uuid])
    # Same name again → error next to the field; another unit's uuid → not a choice.
    r = client.post(
        reverse("duty:team_list"), {"organisation": str(duty.county.uuid), "name": "夜班组"}
    )
    assert r.status_code == 409 and b'data-testid="error-name"' in r.content
    r = client.post(
        reverse("duty:team_list"), {"organisation": str(duty.city.uuid), "name": "x" * 101}
    )
    assert r.status_code == 400
    assert (
        b'data-testid="error-organisation"' in r.content
        and b'data-testid="error-name"' in r.content
    )

    r = client.get(reverse("duty:team_detail", args=[team.uuid]))
    assert r.status_code == 200 and b'data-testid="pattern-form"' in r.content
    url = reverse("duty:pattern_new", args=[team.uuid])
    good = {
        "name": "全天",
        "frequency": "daily",
        "interval": "1",
        "day_kind": "any",
        "start_time": "08:30",
        "duration_minutes": "1440",
        "valid_from": "2026-07-01",
    }
    for bad, field in (
        ({"interval": "0"}, "interval"),
        ({"start_time": "25:00"}, "start_time"),
        ({"duration_minutes": "abc"}, "duration_minutes"),
        ({"valid_until": "2026-06-01"}, "valid_until"),
        ({"valid_from": "0001-01-01"}, "valid_from"),
        ({"weekdays": ["9"]}, "weekdays"),
        ({"name": "n" * 101}, "name"),
    ):
        r = client.post(url, {**good, **bad})
        assert r.status_code == 400, bad
        assert f'data-testid="error-{field}"'.encode() in r.content, bad
    assert not ShiftPattern.objects.filter(team=team).exists()
    assert client.post(url, good).status_code == 302
    pattern = ShiftPattern.objects.get(team=team)

    edit = reverse("duty:pattern_edit", args=[team.uuid, pattern.pk])
    assert client.get(edit).status_code == 200
    r = client.post(edit, {**good, "start_time": "09:00", "weekdays": ["0", "6"]})
    assert r.status_code == 302
    pattern.refresh_from_db()
    assert pattern.start_time == time(9, 0) and pattern.weekdays == "0,6"
    assert client.get(reverse("duty:pattern_edit", args=[team.uuid, 99999])).status_code == 404
    assert client.get(reverse("duty:pattern_edit", args=[team.uuid, "x"])).status_code == 404

    gen = reverse("duty:team_generate", args=[team.uuid])
    r = client.post(gen, {"start": "2026-07-01", "end": "2026-07-31"})
    assert r.status_code == 302 and "team=" in r["Location"]
    assert Shift.objects.filter(team=team).count() == 31
    assert client.post(gen, {"start": "2026-07-01", "end": "2026-07-31"}).status_code == 302
    assert Shift.objects.filter(team=team).count() == 31
    for bad in ({"start": "2026-07-10", "end": "2026-07-01"}, {"start": "x", "end": ""}):
        r = client.post(gen, bad)
        assert r.status_code == 400 and b'data-testid="error-' in r.content

    r = client.post(
        reverse("duty:team_edit", args=[team.uuid]), {"name": "夜班组二", "is_active": "on"}
    )
    assert r.status_code == 302
    r = client.post(reverse("duty:team_edit", args=[team.uuid]), {"name": ""})
    assert r.status_code == 400 and b'data-testid="error-name"' in r.content


def test_team_pages_scope_and_permission(duty: DutyTree) -> None:
    team = duty.teams["county"]
    pattern = ShiftPatternFactory(team=team)
    outsider = login(duty.other_county_officer)
    for url in (
        reverse("duty:team_detail", args=[team.uuid]),
        reverse("duty:pattern_edit", args=[team.uuid, pattern.pk]),
        reverse("duty:team_detail", args=["not-a-uuid"]),
    ):
        assert outsider.get(url).status_code == 404
    for url in (
        reverse("duty:team_edit", args=[team.uuid]),
        reverse("duty:pattern_new", args=[team.uuid]),
        reverse("duty:team_generate", args=[team.uuid]),
        reverse("duty:shift_assign", args=[duty.shifts["county"].uuid]),
    ):
        assert outsider.post(url, {"name": "x"}).status_code == 404
    # The county's 值班员 sees the team but may not change it: 403, nothing written.
    officer = login(duty.county_officer)
    r = officer.get(reverse("duty:team_detail", args=[team.uuid]))
    assert r.status_code == 200 and b'data-testid="generate-form"' not in r.content
    r = officer.post(
        reverse("duty:team_generate", args=[team.uuid]),
        {"start": "2026-07-01", "end": "2026-07-03"},
    )
    assert r.status_code == 403
    assert Shift.objects.filter(team=team).count() == 1


def test_assign_and_remove_from_the_roster(duty: DutyTree) -> None:
    team = duty.teams["city"]
    shift = ShiftFactory(
        team=team,
        starts_at=duty.shifts["city"].ends_at,
        ends_at=duty.shifts["city"].ends_at + timedelta(hours=24),
    )
    client = login(duty.city_leader)
    roster = reverse("duty:roster") + f"?month=2026-07&team={team.uuid}"
    r = client.get(roster)
    assert r.status_code == 200
    assert f'data-testid="assign-officer-{shift.uuid}"' in r.content.decode()
    assert r.context["empty_count"] == 1
    url = reverse("duty:shift_assign", args=[shift.uuid])
    r = client.post(url, {"role": "officer", "user": str(duty.city_officer.uuid), "next": roster})
    assert r.status_code == 302 and r["Location"] == roster
    # Bad input: someone without the role, an unknown role, a foreign next URL, a bad uuid.
    for data, field in (
        ({"role": "leader", "user": str(duty.city_officer.uuid)}, "user"),
        ({"role": "boss", "user": str(duty.city_leader.uuid)}, "role"),
        ({"role": "officer", "user": "nope"}, "user"),
        ({"role": "officer", "user": str(duty.county_officer.uuid)}, "user"),
    ):
        r = client.post(url, data)
        assert r.status_code == 400, data
        assert f'data-testid="error-{field}"'.encode() in r.content, data
    r = client.post(
        url, {"role": "leader", "user": str(duty.city_leader.uuid), "next": "https://evil.example/"}
    )
    assert r.status_code == 302 and r["Location"] == shift.get_absolute_url()
    assert ShiftAssignment.objects.filter(shift=shift).count() == 2
    assignment = ShiftAssignment.objects.get(shift=shift, role="officer")
    r = client.post(reverse("duty:assignment_remove", args=[assignment.uuid]), {"next": roster})
    assert r.status_code == 302 and not ShiftAssignment.objects.filter(pk=assignment.pk).exists()
    # The officer may look but not remove (403), and the page is the shift with the error.
    leader_a = ShiftAssignment.objects.get(shift=shift, role="leader")
    r = login(duty.city_officer).post(reverse("duty:assignment_remove", args=[leader_a.uuid]))
    assert r.status_code == 403
    assert (
        login(duty.other_county_officer)
        .post(reverse("duty:assignment_remove", args=[leader_a.uuid]))
        .status_code
        == 404
    )
    assert client.get(reverse("duty:roster"), {"team": "zzz"}).status_code == 404
    assert client.get(reverse("duty:roster"), {"month": "0000-01"}).status_code == 200


def _fill_month(team: DutyTeam, people: list[Any], days: int) -> None:
    first = START.replace(hour=20) + timedelta(days=1)
    for i in range(days):
        shift = ShiftFactory(
            team=team,
            starts_at=first + timedelta(days=i),
            ends_at=first + timedelta(days=i, hours=8),
        )
        put_on_shift(shift, people[i % len(people)], DutyRole.OFFICER)


def test_roster_month_view_constant_queries(duty: DutyTree) -> None:
    client = login(duty.province_leader)
    url = reverse("duty:roster") + "?month=2026-07"
    counts = []
    for extra_teams in (1, 4):
        for _i in range(extra_teams):
            org = OrganisationFactory(parent=duty.city)
            people = [make_member(org, Role.DUTY_OFFICER), make_member(org, Role.DUTY_LEADER)]
            _fill_month(DutyTeamFactory(organisation=org), people, 10)
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(url)
        assert r.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert b'data-testid="assign-officer-' in r.content
    assert counts[0] == counts[1], counts


def test_console_counts_empty_shifts(duty: DutyTree) -> None:
    for day in (1, 2, 3):
        ShiftFactory(
            team=duty.teams["county"],
            starts_at=duty.shifts["county"].starts_at + timedelta(days=day),
        )
    r = login(duty.city_leader).get(reverse("duty:console"))
    assert r.status_code == 200 and r.context["empty_count"] == 3
    assert b'data-testid="empty-shifts"' in r.content


# ---------------------------------------------------------------- API


def test_api_team_pattern_generate_assign(duty: DutyTree) -> None:
    lead = api(duty.county_leader)
    r = lead.post_json(
        "/api/v1/duty/teams", {"organisation": str(duty.county.uuid), "name": "夜班"}
    )
    assert r.status_code == 201 and r.json()["may_manage"] is True
    team = r.json()["uuid"]
    base = f"/api/v1/duty/teams/{team}"
    assert (
        lead.post_json(
            "/api/v1/duty/teams", {"organisation": str(duty.county.uuid), "name": "夜班"}
        ).status_code
        == 409
    )
    body = {
        "name": "周末",
        "frequency": "weekly",
        "weekdays": [6, 5],
        "start_time": "08:30",
        "duration_minutes": 1440,
        "valid_from": "2026-07-01",
    }
    r = lead.post_json(f"{base}/patterns", body)
    assert r.status_code == 201 and r.json()["weekdays"] == [5, 6]
    pattern_id = r.json()["id"]
    for bad, status, field in (
        ({"weekdays": [7]}, 400, "weekdays"),
        ({"start_time": "08:30:00+08:00"}, 400, "start_time"),
        ({"valid_from": "1066-10-14"}, 400, "valid_from"),
        ({"valid_until": "2026-06-01"}, 400, "valid_until"),
        ({"colour": "red"}, 422, None),
        ({"interval": 0}, 422, None),
    ):
        r = lead.post_json(f"{base}/patterns", {**body, **bad})
        assert r.status_code == status, (bad, r.content)
        if field:
            assert r.json()["details"][0]["field"] == field
    r = lead.patch_json(f"{base}/patterns/{pattern_id}", {"duration_minutes": 720})
    assert r.status_code == 200 and r.json()["duration_minutes"] == 720
    assert lead.patch_json(f"{base}/patterns/{pattern_id}", {"name": None}).status_code == 400
    assert lead.patch_json(f"{base}/patterns/999999", {"name": "x"}).status_code == 404

    r = lead.post_json(f"{base}/generate", {"start": "2026-07-01", "end": "2026-07-31"})
    assert r.status_code == 200 and r.json()["created"] == 8  # 4 Saturdays, 4 Sundays
    r = lead.post_json(f"{base}/generate", {"start": "2026-07-01", "end": "2026-07-31"})
    assert r.json()["created"] == 0
    assert (
        lead.post_json(f"{base}/generate", {"start": "2026-07-31", "end": "2026-07-01"}).status_code
        == 400
    )
    r = lead.get(f"{base}/shifts", {"month": "2026-07", "empty": "true"})
    assert r.status_code == 200 and r.json()["count"] == 8
    shift = r.json()["items"][0]["uuid"]
    assert lead.get(f"{base}/shifts", {"month": "2026-13"}).status_code == 422

    url = f"/api/v1/duty/shifts/{shift}/assignments"
    r = lead.post_json(url, {"user": str(duty.county_officer.uuid), "role": "officer"})
    assert r.status_code == 201 and r.json()["user"]["username"] == "county.officer"
    assignment = r.json()["uuid"]
    r = lead.post_json(url, {"user": str(duty.county_officer.uuid), "role": "leader"})
    assert r.status_code in (400, 409)
    r = lead.post_json(url, {"user": str(duty.city_officer.uuid), "role": "officer"})
    assert r.status_code == 404 and r.json()["details"][0]["field"] == "user"
    assert (
        api(duty.county_officer).delete(f"/api/v1/duty/assignments/{assignment}").status_code == 403
    )
    assert lead.delete(f"/api/v1/duty/assignments/{assignment}").status_code == 204

    r = lead.patch_json(base, {"name": "夜间组", "is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert lead.patch_json(base, {"is_active": None}).status_code == 400


def test_api_roster_scope(duty: DutyTree) -> None:
    team = duty.teams["county"]
    other = api(duty.other_county_officer)
    assert other.get(f"/api/v1/duty/teams/{team.uuid}").status_code == 404
    assert (
        other.post_json(
            f"/api/v1/duty/teams/{team.uuid}/generate", {"start": "2026-07-01", "end": "2026-07-02"}
        ).status_code
        == 404
    )
    r = other.post_json("/api/v1/duty/teams", {"organisation": str(duty.county.uuid), "name": "x"})
    assert r.status_code == 404 and r.json()["details"][0]["field"] == "organisation"
    r = api(duty.county_officer).post_json(
        "/api/v1/duty/teams", {"organisation": str(duty.county.uuid), "name": "x"}
    )
    assert r.status_code == 403
    listed = api(duty.city_leader).get("/api/v1/duty/teams").json()
    assert {t["uuid"] for t in listed["items"]} == {
        str(duty.teams["city"].uuid),
        str(duty.teams["county"].uuid),
    }


# ---------------------------------------------------------------- demo


def _demo_snapshot() -> tuple[int, ...]:
    return (
        DutyTeam.objects.count(),
        ShiftPattern.objects.count(),
        Shift.objects.count(),
        ShiftAssignment.objects.count(),
        EmergencyReport.objects.count(),
        AuditEvent.objects.count(),
    )


def test_seed_duty_demo_twice_changes_nothing(clock: Any) -> None:
    with pytest.raises(CommandError):
        call_command("seed_duty_demo", stdout=io.StringIO())  # seed_demo has not run
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_duty_demo", stdout=out)
    assert "zd_duty" in out.getvalue()
    first = _demo_snapshot()
    assert first[0] == 3 and first[1] == 3 and first[2] == 3 * 31 and first[4] == 1
    call_command("seed_duty_demo", "--quiet-logins", stdout=io.StringIO())
    assert _demo_snapshot() == first
    office_team = DutyTeam.objects.get(organisation__doc_code="冀政办")
    now_shift = Shift.objects.get(team=office_team, starts_at__lte=START, ends_at__gt=START)
    assert {a.user.username for a in now_shift.assignments.all()} == {"duty", "dutylead"}
    assert selectors.empty_shifts(Shift.objects.filter(team=office_team)).exists()
    # The county's report shows on the city's console.
    from egov.orgs.models import User

    r = login(User.objects.get(username="sjz_duty")).get(reverse("duty:console"))
    assert r.status_code == 200 and len(r.context["reports"]) == 1


def test_seed_duty_demo_refuses_production(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("egov.duty.management.commands.seed_duty_demo.is_production", lambda: True)
    with pytest.raises(CommandError):
        call_command("seed_duty_demo", stdout=io.StringIO())
