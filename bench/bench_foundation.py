"""Foundation: home page (to-do centre) and organisation list at province scale.

Baseline: the same pages when the tree holds 1% of the rows (100 organisations, 1,000 users),
measured in the same run before the tree grows to 10,000 organisations and 100,000 users.
Query counts come from the request handled in-process; server times from a real gunicorn
worker on loopback, whose resident memory is read after the run.
"""

from __future__ import annotations

import http.cookiejar
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import Row, Section

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 30


def build_tree(n_orgs: int, n_users: int, start: int = 0) -> None:
    """Grow the tree to n_orgs organisations and n_users users with bulk inserts."""
    from django.contrib.auth.hashers import make_password

    from egov.orgs.choices import OrgKind, OrgLevel, Role
    from egov.orgs.models import Organisation, Position, PositionRole, User, child_path
    from egov.orgs.uscc import make_uscc

    root = Organisation.objects.filter(parent=None).first()
    if root is None:
        root = Organisation(
            code=make_uscc("1", "1", "130000", "90000000"),
            name="省人民政府（基准）",
            kind=OrgKind.GOVERNMENT,
            level=OrgLevel.PROVINCE,
            division_code="130000",
        )
        root.save()
    existing = Organisation.objects.count()
    # Cities under the root, counties under cities, departments under counties: depth 4.
    parents = list(Organisation.objects.filter(depth__lte=2).order_by("id"))
    seq = 90000000 + existing
    batch: list[Organisation] = []
    i = 0
    while existing + len(batch) < n_orgs:
        parent = parents[i % len(parents)]
        i += 1
        seq += 1
        level = OrgLevel.CITY if parent.depth == 0 else OrgLevel.COUNTY
        batch.append(
            Organisation(
                code=make_uscc("1", "1", "130000", f"{seq:08d}"),
                name=f"基准单位{seq}",
                kind=OrgKind.DEPARTMENT,
                level=level,
                division_code="130000",
                parent=parent,
            )
        )
    created = Organisation.objects.bulk_create(batch, batch_size=2000)
    by_id = {o.pk: o for o in Organisation.objects.filter(depth__lte=2)}
    for org in created:
        assert org.parent_id is not None
        parent = by_id[org.parent_id]
        org.path = child_path(parent.path, org.pk)
        org.depth = parent.depth + 1
    Organisation.objects.bulk_update(created, ["path", "depth"], batch_size=2000)

    orgs = list(Organisation.objects.values_list("id", flat=True))
    password = make_password("Bench#2026")
    have = User.objects.count()
    users = [
        User(username=f"bench{n}", full_name=f"基准用户{n}", password=password)
        for n in range(have, n_users)
    ]
    users = User.objects.bulk_create(users, batch_size=5000)
    positions = [
        Position(user=u, organisation_id=orgs[k % len(orgs)], title="科员", is_primary=True)
        for k, u in enumerate(users)
    ]
    positions = Position.objects.bulk_create(positions, batch_size=5000)
    PositionRole.objects.bulk_create(
        [PositionRole(position=p, role=Role.CLERK) for p in positions], batch_size=5000
    )


def actors() -> tuple[object, object]:
    from egov.orgs.choices import Role
    from egov.orgs.models import Organisation, Position, PositionRole, User

    root = Organisation.objects.get(parent=None)
    clerk, _ = User.objects.get_or_create(
        username="bench-clerk", defaults={"full_name": "基准收发员"}
    )
    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"full_name": "基准管理员"}
    )
    for user, role in ((clerk, Role.CLERK), (admin, Role.SYSTEM_ADMIN)):
        pos, _ = Position.objects.get_or_create(
            user=user, organisation=root, title="", defaults={"is_primary": True}
        )
        PositionRole.objects.get_or_create(position=pos, role=role)
    return clerk, admin


def verified_client(user: object) -> object:
    """A test client logged in (and, for admins, past the TOTP step) as `user`."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


PAGES = ("home (clerk)", "organisation list (admin), page 2")


def page_url(name: str) -> str:
    from django.urls import reverse

    if name.startswith("home"):
        return reverse("web:home")
    return reverse("orgs:organisation_list") + "?page=2"


def query_counts(clients: dict[str, object]) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for name in PAGES:
        client = clients["clerk" if name.startswith("home") else "admin"]
        client.get(page_url(name))  # type: ignore[attr-defined]
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(page_url(name))  # type: ignore[attr-defined]
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(ctx.captured_queries)
    return counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_and_time(clients: dict[str, object]) -> tuple[dict[str, float], float, float]:
    """Median server time per page from one gunicorn worker, the baseline page, and its RSS."""
    import psutil
    from django.conf import settings

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
            "--env",
            "DJANGO_SETTINGS_MODULE=egov.settings.dev",
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
        timings: dict[str, float] = {}
        for name in [*PAGES, "baseline: manifest (no database)"]:
            who = "clerk" if name.startswith("home") else "admin"
            jar = http.cookiejar.CookieJar()
            cookie = clients[who].cookies[settings.SESSION_COOKIE_NAME].value  # type: ignore[attr-defined]
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            opener.addheaders = [("Cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}")]
            url = base + (
                "/manifest.webmanifest" if name.startswith("baseline") else page_url(name)
            )
            samples = []
            for _ in range(REPEATS + 3):
                t0 = time.perf_counter()
                with opener.open(url, timeout=30) as response:
                    response.read()
                    assert response.status == 200, (name, response.status)
                samples.append((time.perf_counter() - t0) * 1000)
            timings[name] = statistics.median(samples[3:])
        workers = psutil.Process(proc.pid).children()
        rss = max(w.memory_info().rss for w in workers) / 2**20 if workers else 0.0
        return timings, timings.pop("baseline: manifest (no database)"), rss
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run() -> Section:
    build_tree(100, 1_000)
    clerk, admin = actors()
    clients = {"clerk": verified_client(clerk), "admin": verified_client(admin)}
    small_counts = query_counts(clients)
    small_times, small_floor, _ = serve_and_time(clients)

    t0 = time.perf_counter()
    build_tree(10_000, 100_000)
    built = time.perf_counter() - t0
    big_counts = query_counts(clients)
    big_times, big_floor, rss = serve_and_time(clients)

    section = Section(
        title="Foundation: home page and organisation list at 10,000 organisations / 100,000 users",
        method=(
            "The same pages are requested at 100 organisations / 1,000 users (baseline) and, in the "
            "same run, after the tree has grown to 10,000 organisations / 100,000 users. Queries are "
            "counted in-process; server time is the median of "
            f"{REPEATS} requests to one gunicorn sync worker over loopback (after 3 warm-up requests), "
            "beside a page that touches no database. The admin's organisation list covers the whole tree."
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
        Row("no-database page: server time", big_floor, "ms", "at 1% size", small_floor)
    )
    section.rows.append(
        Row("resident memory of the web worker after the run", rss, "MiB", "goal", 250.0)
    )
    section.notes.append(f"Growing the tree to full size (bulk inserts) took {built:.0f} s.")
    return section
