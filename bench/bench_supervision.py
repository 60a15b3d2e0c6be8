"""Supervision: the general office's dashboard and rankings with 50,000 tasks across 3,000 units.

Baseline: the same pages at 1% size (500 tasks across 30 units), measured in the same run
before the data grows. Query counts come from the request handled in-process; server times
from a real gunicorn worker on loopback. Data is bulk-inserted.
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from bench.common import Row, Section

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 20
PAGES = ("dashboard", "rankings, page 2", "task list, page 2")


def setup_office() -> tuple[object, object]:
    from bench.bench_foundation import build_tree
    from egov.orgs.choices import OrgKind, OrgLevel, Role
    from egov.orgs.models import Organisation, Position, PositionRole, User
    from egov.orgs.uscc import make_uscc

    if not Organisation.objects.filter(parent=None).exists():
        build_tree(1, 0)
    root = Organisation.objects.filter(parent=None).order_by("id").first()
    office = Organisation.objects.filter(name="基准督查室（办公厅）").first()
    if office is None:
        office = Organisation(
            code=make_uscc("1", "1", "130000", "80000001"),
            name="基准督查室（办公厅）",
            kind=OrgKind.GENERAL_OFFICE,
            level=OrgLevel.PROVINCE,
            division_code="130000",
            parent=root,
        )
        office.save()
    user, _ = User.objects.get_or_create(
        username="bench-supervisor", defaults={"full_name": "督查员"}
    )
    pos, _ = Position.objects.get_or_create(
        user=user, organisation=office, title="", defaults={"is_primary": True}
    )
    PositionRole.objects.get_or_create(position=pos, role=Role.SUPERVISOR)
    return office, user


def grow(office: object, n_units: int, n_tasks: int) -> float:
    """Bulk-insert tasks (and their lead-unit rows) up to n_tasks across n_units units."""
    from django.utils import timezone

    from bench.bench_foundation import build_tree
    from egov.orgs.models import Organisation
    from egov.supervision.choices import ReminderReason, TaskSource, TaskState, UnitRole
    from egov.supervision.models import Reminder, SupervisionTask, TaskUnit

    t0 = time.perf_counter()
    if Organisation.objects.count() < n_units + 2:
        build_tree(n_units + 2, 0)
    units = list(
        Organisation.objects.exclude(pk=office.pk)  # type: ignore[attr-defined]
        .exclude(parent=None)
        .order_by("id")
        .values_list("id", flat=True)[:n_units]
    )
    have = SupervisionTask.objects.count()
    rng = random.Random(have)
    today = timezone.localdate()
    states = (
        [TaskState.IN_PROGRESS] * 40
        + [TaskState.DONE] * 30
        + [TaskState.ARCHIVED] * 10
        + [TaskState.ASSIGNED] * 10
        + [TaskState.CLOSING] * 5
        + [TaskState.REGISTERED] * 5
    )
    sources = list(TaskSource.values)
    batch = []
    for i in range(have, n_tasks):
        state = rng.choice(states)
        deadline = today + timedelta(days=rng.randint(-90, 90))
        finished = state in (TaskState.DONE, TaskState.ARCHIVED)
        source = rng.choice(sources)
        batch.append(
            SupervisionTask(
                number=f"B{i:07d}",
                title=f"基准督办事项{i}",
                source=source,
                requirement="落实",
                quality_standard="全面完成",
                responsible_leader="领导",
                responsible_person="责任人",
                office_id=office.pk,  # type: ignore[attr-defined]
                lead_unit_id=None if state == TaskState.REGISTERED else units[i % len(units)],
                state=state,
                deadline=deadline,
                original_deadline=deadline,
                sign_deadline=deadline - timedelta(days=20),
                completed_on_time=(rng.random() < 0.8) if finished else None,
                closed_on=deadline if finished else None,
                quality_score=rng.randint(60, 100) if finished else None,
                satisfaction=(
                    rng.choice(["satisfied", "basically", "unsatisfied"])
                    if finished and source in ("npc_suggestion", "cppcc_proposal")
                    else ""
                ),
            )
        )
    created = SupervisionTask.objects.bulk_create(batch, batch_size=2000)
    TaskUnit.objects.bulk_create(
        [
            TaskUnit(
                task=t, organisation_id=t.lead_unit_id, role=UnitRole.LEAD, state="acknowledged"
            )
            for t in created
            if t.lead_unit_id is not None
        ],
        batch_size=5000,
    )
    Reminder.objects.bulk_create(
        [
            Reminder(task=t, reason=ReminderReason.OVERDUE, day=today)
            for t in created
            if t.deadline < today and t.state == TaskState.IN_PROGRESS
        ],
        batch_size=5000,
    )
    from django.db import connection

    if connection.vendor == "postgresql":  # fresh statistics, as autovacuum would gather
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return time.perf_counter() - t0


def page_url(name: str) -> str:
    from django.urls import reverse

    if name == "dashboard":
        return reverse("supervision:dashboard")
    if name.startswith("rankings"):
        return reverse("supervision:rankings") + "?page=2"
    return reverse("supervision:task_list") + "?page=2"


def query_counts(client: object) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for name in PAGES:
        client.get(page_url(name))  # type: ignore[attr-defined]
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(page_url(name))  # type: ignore[attr-defined]
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(ctx.captured_queries)
    return counts


def serve_and_time(client: object) -> dict[str, float]:
    from django.conf import settings

    from bench.bench_foundation import free_port

    port = free_port()
    env = {**os.environ, "EGOV_DEBUG": "0", "DJANGO_SETTINGS_MODULE": "egov.settings.dev"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "egov.wsgi:application",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/manifest.webmanifest", timeout=2).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value  # type: ignore[attr-defined]
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        opener.addheaders = [("Cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}")]
        timings: dict[str, float] = {}
        for name in PAGES:
            samples = []
            for _ in range(REPEATS + 2):
                t0 = time.perf_counter()
                with opener.open(base + page_url(name), timeout=120) as response:
                    response.read()
                    assert response.status == 200, (name, response.status)
                samples.append((time.perf_counter() - t0) * 1000)
            timings[name] = statistics.median(samples[2:])
        return timings
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def export_time(client: object) -> float:
    from django.urls import reverse

    t0 = time.perf_counter()
    response = client.get(reverse("supervision:export_monthly"))  # type: ignore[attr-defined]
    assert response.status_code == 200
    return (time.perf_counter() - t0) * 1000


def run() -> Section:
    from django.test import Client

    office, user = setup_office()
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    grow(office, 30, 500)
    small_counts = query_counts(client)
    small_times = serve_and_time(client)
    small_export = export_time(client)

    built = grow(office, 3_000, 50_000)
    big_counts = query_counts(client)
    big_times = serve_and_time(client)
    big_export = export_time(client)

    section = Section(
        title="Supervision: dashboard and rankings with 50,000 tasks across 3,000 units",
        method=(
            "The supervising office's dashboard (colour counts, overdue and due-soon lists with the "
            "last reminder, the month's rankings), the rankings page and the task list are requested "
            "at 500 tasks / 30 units (baseline, 1%) and, in the same run, after bulk-inserting up to "
            "50,000 tasks across 3,000 lead units. Queries are counted in-process; server time is the "
            f"median of {REPEATS} requests to one gunicorn sync worker over loopback (after 2 warm-up "
            "requests)."
        ),
    )
    for name in PAGES:
        section.rows.append(
            Row(
                f"{name}: queries",
                big_counts[name],
                "queries",
                "at 1% size",
                small_counts[name],
                "constant" if big_counts[name] == small_counts[name] else "GROWS",
            )
        )
        section.rows.append(
            Row(f"{name}: server time", big_times[name], "ms", "at 1% size", small_times[name])
        )
    section.rows.append(
        Row(
            "monthly report export (Excel), in-process",
            big_export,
            "ms",
            "at 1% size",
            small_export,
        )
    )
    section.notes.append(f"Bulk-inserting the tasks (and units where needed) took {built:.0f} s.")
    return section
