"""Duty: the escalation job (`duty.escalate_reports`, every minute) over 10,000 open reports.

Each open report has been sent to two levels (city and province), so 10,000 reports are 20,000
receipts waiting for acknowledgement. One tick of the job (`reporting.do_escalate_due`) is timed:

- a quiet tick: 10,000 open reports, none due (the common case: a scan of the due index);
- a busy tick: 1% of them due (100 reports, 200 receipts escalate, notifications go out);
- the worst tick: every report due at once (20,000 receipts escalate in one run).

Baseline: the same ticks over 100 open reports, in the same run. Data are bulk-inserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, Section

REPEATS = 5
TICK_SECONDS = 60.0
BIG = 10_000
SMALL = 100


def _setup_django() -> bool:
    from django.apps import apps

    if apps.ready:
        return False
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "egov.settings.test")
    import django

    django.setup()
    return True


class World:
    """A province, 10 cities, 100 counties; duty teams and people on duty at every level."""

    def __init__(self) -> None:
        from django.contrib.auth.hashers import make_password
        from django.utils import timezone

        from egov.duty.choices import DutyRole
        from egov.duty.models import DutyTeam, Shift, ShiftAssignment
        from egov.orgs.choices import OrgKind, OrgLevel, Role
        from egov.orgs.models import Organisation, Position, PositionRole, User
        from egov.orgs.uscc import make_uscc

        self.now = timezone.now()
        seq = iter(range(95000000, 96000000))

        def org(name: str, level: str, parent: Any) -> Any:
            o = Organisation(
                code=make_uscc("1", "1", "130000", f"{next(seq):08d}"),
                name=name,
                kind=OrgKind.GOVERNMENT,
                level=level,
                parent=parent,
                division_code="130000",
            )
            o.save()
            return o

        self.province = org("值班基准省", OrgLevel.PROVINCE, None)
        self.cities = [org(f"值班基准市{i}", OrgLevel.CITY, self.province) for i in range(10)]
        self.counties = [
            org(f"值班基准县{c}-{i}", OrgLevel.COUNTY, city)
            for c, city in enumerate(self.cities)
            for i in range(10)
        ]
        unusable = make_password(None)
        users: list[Any] = []
        grants: list[tuple[int, Any, str]] = []
        for o in [self.province, *self.cities, *self.counties]:
            for role in (Role.DUTY_OFFICER, Role.DUTY_LEADER, Role.SIGNER):
                users.append(User(username=f"bench-duty-{o.pk}-{role}", password=unusable))
                grants.append((len(users) - 1, o, str(role)))
        User.objects.bulk_create(users)
        users = list(User.objects.filter(username__startswith="bench-duty-").order_by("id"))
        by_name = {u.username: u for u in users}
        positions = [
            Position(user=by_name[f"bench-duty-{o.pk}-{role}"], organisation=o, is_primary=True)
            for _i, o, role in grants
        ]
        Position.objects.bulk_create(positions)
        PositionRole.objects.bulk_create(
            [
                PositionRole(position=p, role=role)
                for p, (_i, _o, role) in zip(positions, grants, strict=True)
            ]
        )
        self.filer = by_name[f"bench-duty-{self.counties[0].pk}-{Role.DUTY_OFFICER}"]
        teams = DutyTeam.objects.bulk_create(
            [DutyTeam(organisation=o, name="值班组") for o in [self.province, *self.cities]]
        )
        start, end = self.now - timedelta(hours=2), self.now + timedelta(hours=22)
        shifts = Shift.objects.bulk_create(
            [Shift(team=t, starts_at=start, ends_at=end) for t in teams]
        )
        ShiftAssignment.objects.bulk_create(
            [
                ShiftAssignment(
                    shift=s,
                    user=by_name[f"bench-duty-{t.organisation_id}-{role}"],
                    role=duty_role,
                    starts_at=start,
                    ends_at=end,
                )
                for s, t in zip(shifts, teams, strict=True)
                for role, duty_role in (
                    (Role.DUTY_OFFICER, DutyRole.OFFICER),
                    (Role.DUTY_LEADER, DutyRole.LEADER),
                )
            ]
        )

    def insert_reports(self, n: int, due_fraction: float) -> list[int]:
        """Bulk-insert n open reports with their first report sent to city and province.

        Returns the receipt ids; `due_fraction` of the reports are due to escalate now.
        """
        from egov.duty.choices import Category, Grade, ReportState, SubmissionKind
        from egov.duty.models import EmergencyReport, ReportingRule, ReportReceipt, ReportSubmission

        rule = ReportingRule.objects.get(province=None, category="", grade=Grade.II)
        now = self.now
        reports = EmergencyReport.objects.bulk_create(
            [
                EmergencyReport(
                    organisation=self.counties[i % len(self.counties)],
                    title=f"基准事件{i}",
                    category=Category.ACCIDENT,
                    grade=Grade.II,
                    source="基准",
                    occurred_at=now - timedelta(minutes=30),
                    learned_at=now - timedelta(minutes=20),
                    place="某地",
                    course="经过",
                    state=ReportState.OPEN,
                    rule=rule,
                    phone_due_at=now,
                    written_due_at=now + timedelta(minutes=30),
                    first_reported_at=now - timedelta(minutes=15),
                    last_report_at=now - timedelta(minutes=15),
                    next_due_at=now + timedelta(minutes=105),
                    next_due_kind="follow_up",
                    filed_by=self.filer,
                )
                for i in range(n)
            ],
            batch_size=1000,
        )
        submissions = ReportSubmission.objects.bulk_create(
            [
                ReportSubmission(
                    report=r,
                    kind=SubmissionKind.FIRST,
                    submitted_at=now - timedelta(minutes=15),
                    submitted_by=self.filer,
                    text="首报",
                )
                for r in reports
            ],
            batch_size=1000,
        )
        due_every = max(1, round(1 / due_fraction)) if due_fraction else 0
        receipts = []
        for i, (r, s) in enumerate(zip(reports, submissions, strict=True)):
            due = bool(due_every) and i % due_every == 0
            when = now - timedelta(seconds=30) if due else now + timedelta(minutes=5)
            city = self.cities[(i % len(self.counties)) // 10]
            for level in (city, self.province):
                receipts.append(
                    ReportReceipt(
                        submission=s,
                        report=r,
                        organisation=level,
                        sent_at=now - timedelta(minutes=15),
                        next_escalation_at=when,
                    )
                )
        ReportReceipt.objects.bulk_create(receipts, batch_size=2000)
        return [rc.pk for rc in receipts]

    @staticmethod
    def clear() -> None:
        from egov.duty.models import EmergencyReport, EscalationEvent

        EscalationEvent.objects.all().delete()
        EmergencyReport.objects.all().delete()


def time_tick(world: World, n: int, due_fraction: float, repeats: int) -> tuple[float, int, int]:
    """(median seconds, queries, receipts escalated) of one job run; fresh data each repeat."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from egov.core.acting import Acting
    from egov.duty import reporting

    times: list[float] = []
    queries = escalated = 0
    for _ in range(repeats):
        world.clear()
        world.insert_reports(n, due_fraction)
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            escalated = reporting.do_escalate_due(acting=Acting.system("bench"), now=world.now)
            times.append(time.perf_counter() - t0)
        queries = len(captured.captured_queries)
    return statistics.median(times), queries, escalated


def run() -> Section:
    standalone = _setup_django()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    if standalone:
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        world = World()
        cases = [
            ("quiet tick (none due)", 0.0, REPEATS),
            ("busy tick (1% due)", 0.01, REPEATS),
            ("worst tick (all due)", 1.0, 3),
        ]
        section = Section(
            title="Duty: escalation job over 10,000 open reports",
            method=(
                f"{BIG:,} open emergency reports, each with its first report sent to two levels "
                f"({2 * BIG:,} receipts waiting for acknowledgement), bulk-inserted; one run of the "
                "escalation job (`duty.reporting.do_escalate_due`, registered every minute) is timed, "
                f"median of {REPEATS} runs (3 for the worst case) on fresh data, beside the same run "
                f"over {SMALL} reports. The job must finish within one scheduler tick "
                f"({TICK_SECONDS:.0f} s). Queries are counted in-process."
            ),
        )
        worst = 0.0
        for name, fraction, repeats in cases:
            small_t, small_q, small_n = time_tick(world, SMALL, fraction, repeats)
            big_t, big_q, big_n = time_tick(world, BIG, fraction, repeats)
            worst = max(worst, big_t)
            section.rows.append(
                Row(
                    f"{name}: time",
                    big_t * 1000,
                    "ms",
                    f"{SMALL} reports",
                    small_t * 1000,
                    note=f"{big_n:,} receipts escalated ({small_n} at baseline)",
                )
            )
            section.rows.append(
                Row(f"{name}: queries", big_q, "queries", f"{SMALL} reports", small_q)
            )
        world.clear()
        section.notes.append(
            f"Slowest tick at {BIG:,} reports: {worst:.2f} s, "
            f"{worst / TICK_SECONDS:.1%} of the one-minute tick."
        )
        section.notes.append(
            "Set-based: one indexed query finds the due receipts, one UPDATE per rule interval "
            "(in chunks of 5,000 ids) moves them a step, bulk inserts record the escalations, and notifications go out per level "
            "and step (a few queries each), so the query count depends on the number of levels "
            "told (and batches), not on the number of reports; the time of a busy tick grows with the rows "
            "escalated, not with the rows open."
        )
    finally:
        if standalone:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    return section


if __name__ == "__main__":
    result = run()
    for row in result.rows:
        print(f"{row.name}: {row.value:,.2f} {row.unit} (baseline {row.baseline_value})")
    for note in result.notes:
        print(note)
