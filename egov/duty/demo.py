"""Duty demo data: duty teams, a daily pattern, this month's shifts with people, one open report.

Builds on `egov.orgs.demo.seed_demo` (which must have run). Everything goes through the duty
services, acting as the demo leaders on duty, so the audit trail looks like real use. Running
it twice changes nothing: teams, patterns, shifts, assignments and the report are looked up
before they are created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

from django.db import transaction
from django.utils import timezone

from egov.core.acting import Acting
from egov.duty import reporting, services
from egov.duty.choices import Category, DutyRole, Frequency, Grade, ReportState
from egov.duty.models import DutyTeam, EmergencyReport, Shift, ShiftAssignment, ShiftPattern
from egov.orgs.choices import Role
from egov.orgs.demo import DEMO_PASSWORD, DemoUser, demo_code, ensure_demo_user, org_specs
from egov.orgs.models import Organisation, Position, User

TEAM_NAME = "总值班室"
PATTERN_NAME = "24小时值班"
REPORT_TITLE = "正定县某化工企业仓库火灾（演示）"


class DemoMissing(Exception):
    """The organisation demo (`manage.py seed_demo`) has not run."""


# The provincial general office's 值班员 and 带班领导 are `duty` and `dutylead` of seed_demo;
# these are the city's and the county's.
DUTY_DEMO_USERS: list[DemoUser] = [
    DemoUser("sjz_duty", "李石值", "sjz", "值班员", Role.DUTY_OFFICER, "值班员（石家庄市政府）"),
    DemoUser(
        "sjz_dutylead", "杨石带", "sjz", "副秘书长", Role.DUTY_LEADER, "带班领导（石家庄市政府）"
    ),
    DemoUser(
        "zd_duty", "高正值", "county_130123", "值班员", Role.DUTY_OFFICER, "值班员（正定县政府）"
    ),
    DemoUser(
        "zd_dutylead",
        "马正带",
        "county_130123",
        "县政府办主任",
        Role.DUTY_LEADER,
        "带班领导（正定县政府）",
    ),
]

DUTY_DEMO_LOGINS: list[tuple[str, str, str]] = [
    (u.username, DEMO_PASSWORD, u.description) for u in DUTY_DEMO_USERS
]

# (organisation key, officer username, leader username)
TEAMS: list[tuple[str, str, str]] = [
    ("office", "duty", "dutylead"),
    ("sjz", "sjz_duty", "sjz_dutylead"),
    ("county_130123", "zd_duty", "zd_dutylead"),
]


@dataclass
class DutyDemoResult:
    users_created: int = 0
    teams_created: int = 0
    patterns_created: int = 0
    shifts_created: int = 0
    assignments_created: int = 0
    reports_created: int = 0
    teams: dict[str, DutyTeam] = field(default_factory=dict)

    def changed(self) -> int:
        return (
            self.users_created
            + self.teams_created
            + self.patterns_created
            + self.shifts_created
            + self.assignments_created
            + self.reports_created
        )


def demo_organisations() -> dict[str, Organisation]:
    specs = org_specs()
    codes = {spec.key: demo_code(i + 1, spec.division) for i, spec in enumerate(specs)}
    wanted = {key: codes[key] for key, _o, _l in TEAMS}
    found = {o.code: o for o in Organisation.objects.filter(code__in=wanted.values())}
    missing = [key for key, code in wanted.items() if code not in found]
    if missing:
        raise DemoMissing(", ".join(missing))
    return {key: found[code] for key, code in wanted.items()}


def _ensure_user(spec: DemoUser, org: Organisation, acting: Acting) -> tuple[User, bool]:
    user, created, _granted = ensure_demo_user(spec, org, acting=acting)
    return user, created


def _acting_as(username: str, org: Organisation) -> Acting:
    user = User.objects.get(username=username)
    position = Position.objects.filter(user=user, organisation=org, is_active=True).first()
    return Acting(user=user, position=position, label="seed_duty_demo")


def _month_bounds(today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def seed_duty_demo(*, today: date | None = None) -> DutyDemoResult:
    """Create whatever of the duty demo is missing; change nothing else."""
    system = Acting.system("seed_duty_demo")
    result = DutyDemoResult()
    orgs = demo_organisations()
    today = today or timezone.localdate()
    first, last = _month_bounds(today)
    with transaction.atomic():
        for spec in DUTY_DEMO_USERS:
            _user, created = _ensure_user(spec, orgs[spec.org_key], system)
            result.users_created += int(created)
        for key, officer_name, leader_name in TEAMS:
            org = orgs[key]
            lead = _acting_as(leader_name, org)
            team = DutyTeam.objects.filter(organisation=org, name=TEAM_NAME).first()
            if team is None:
                team = services.do_create_team(organisation=org, name=TEAM_NAME, acting=lead)
                result.teams_created += 1
            result.teams[key] = team
            pattern = ShiftPattern.objects.filter(team=team, name=PATTERN_NAME).first()
            if pattern is None:
                pattern = services.do_create_pattern(
                    team=team,
                    acting=lead,
                    name=PATTERN_NAME,
                    frequency=Frequency.DAILY,
                    start_time=time(8, 30),
                    duration_minutes=24 * 60,
                    valid_from=first,
                )
                result.patterns_created += 1
            new = services.do_generate_team_shifts(team=team, start=first, end=last, acting=lead)
            result.shifts_created += len(new)
            result.assignments_created += _staff(team, officer_name, leader_name, lead)
        result.reports_created += _open_report(orgs["county_130123"])
    return result


def _staff(team: DutyTeam, officer_name: str, leader_name: str, lead: Acting) -> int:
    """The officer on every shift; the leader on every shift but each 7th day (left empty)."""
    officer = User.objects.get(username=officer_name)
    leader = User.objects.get(username=leader_name)
    filled = set(ShiftAssignment.objects.filter(shift__team=team).values_list("shift_id", "role"))
    created = 0
    for shift in Shift.objects.filter(team=team).order_by("starts_at"):
        day = timezone.localtime(shift.starts_at).day
        wanted = [(officer, DutyRole.OFFICER)]
        if day % 7 != 0:
            wanted.append((leader, DutyRole.LEADER))
        for person, role in wanted:
            if (shift.pk, str(role)) in filled:
                continue
            if ShiftAssignment.objects.filter(
                user=person, starts_at__lt=shift.ends_at, ends_at__gt=shift.starts_at
            ).exists():
                continue  # the person is on another shift then; leave this one to the roster
            services.do_assign(shift=shift, user=person, role=role, acting=lead)
            created += 1
    return created


def _open_report(county: Organisation) -> int:
    if EmergencyReport.objects.filter(
        organisation=county, title=REPORT_TITLE, state__in=[ReportState.OPEN, ReportState.PHONED]
    ).exists():
        return 0
    now = timezone.now()
    reporting.do_file_report(
        data=reporting.FirstReport(
            title=REPORT_TITLE,
            category=Category.ACCIDENT,
            grade=Grade.III,
            source="正定县应急管理局",
            occurred_at=now - timedelta(minutes=40),
            learned_at=now - timedelta(minutes=30),
            place="正定县某工业园区",
            course="演示数据：某化工企业仓库起火，消防救援力量已到场处置，暂无人员伤亡报告。",
            losses="正在核实",
        ),
        acting=_acting_as("zd_duty", county),
    )
    return 1
