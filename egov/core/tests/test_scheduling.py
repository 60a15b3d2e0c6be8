"""The periodic runner: due jobs fire once per interval, and only one runner claims a job."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tasks import task

from egov.core import scheduling
from egov.core.models import PeriodicJobRun
from egov.core.scheduling import periodic_jobs, register_periodic, run_due_jobs

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=SH)
calls: list[str] = []


@task()
def tick() -> str:
    calls.append("tick")
    return "ok"


@task()
def boom() -> None:
    raise RuntimeError("broken job")


@pytest.fixture
def only_test_jobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with just the jobs a test registers (the real ones are checked separately)."""
    monkeypatch.setattr(scheduling, "_jobs", {})
    monkeypatch.setattr(scheduling, "_discovered", True)
    calls.clear()
    yield
    calls.clear()


def test_real_jobs_are_discovered() -> None:
    names = [job.name for job in periodic_jobs()]
    assert "core.check_calendar_coverage" in names


def test_register_validates() -> None:
    with pytest.raises(ValueError):
        register_periodic("x", tick, every=timedelta(0))
    with pytest.raises(ValueError):
        register_periodic("", tick, every=timedelta(hours=1))
    with pytest.raises(TypeError):
        register_periodic("x", lambda: None, every=timedelta(hours=1))


@pytest.mark.django_db
def test_a_job_runs_once_per_interval(only_test_jobs: None) -> None:
    register_periodic("test.tick", tick, every=timedelta(hours=1))
    assert run_due_jobs(T0) == ["test.tick"]
    assert run_due_jobs(T0 + timedelta(minutes=59)) == []
    assert run_due_jobs(T0 + timedelta(hours=1)) == ["test.tick"]
    assert calls == ["tick", "tick"]
    run = PeriodicJobRun.objects.get(name="test.tick")
    assert run.last_run_at == T0 + timedelta(hours=1)
    assert run.last_task_id


@pytest.mark.django_db
def test_a_broken_job_does_not_stop_the_others(
    only_test_jobs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_periodic("test.a_tick", tick, every=timedelta(hours=1))
    register_periodic("test.b_boom", boom, every=timedelta(hours=1))

    class Refusing:
        def enqueue(self) -> None:
            raise ConnectionError("queue down")

    register_periodic("test.c_refused", Refusing(), every=timedelta(hours=1))
    fired = run_due_jobs(T0)
    # boom fails inside its task (the backend records it); the refused enqueue is retried.
    assert fired == ["test.a_tick", "test.b_boom"]
    assert PeriodicJobRun.objects.get(name="test.c_refused").last_run_at is None


@pytest.mark.django_db
def test_run_periodic_once(only_test_jobs: None) -> None:
    register_periodic("test.tick", tick, every=timedelta(days=1))
    out = StringIO()
    call_command("run_periodic", "--once", stdout=out)
    assert "test.tick" in out.getvalue()
    assert calls == ["tick"]
    call_command("run_periodic", "--once", stdout=StringIO())
    assert calls == ["tick"]


@pytest.mark.django_db(transaction=True)
def test_two_runners_never_both_fire(only_test_jobs: None) -> None:
    """Two runners at the same moment, on two connections: the job is enqueued once."""
    register_periodic("test.tick", tick, every=timedelta(hours=1))
    run_due_jobs(T0 - timedelta(days=1))  # creates the row
    calls.clear()
    barrier = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(run_due_jobs(T0))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(len(r) for r in results) == [0, 1]
    assert calls == ["tick"]


# --- `manage.py serve` (make run) -----------------------------------------------------------


class FakeProcess:
    started: ClassVar[list[list[str]]] = []

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.command = command
        self.returncode: int | None = None
        self.terminated = False
        type(self).started.append(command)
        type(self).instances.append(self)

    instances: ClassVar[list[FakeProcess]] = []

    def poll(self) -> int | None:
        if "runserver" in self.command and not self.terminated:
            self.returncode = 1  # the web server "exits": serve stops the others
        return self.returncode

    def terminate(self) -> None:
        self.terminated = True
        self.returncode = -15

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode or 0

    def kill(self) -> None:
        self.returncode = -9


@pytest.fixture
def fake_popen(monkeypatch: pytest.MonkeyPatch) -> type[FakeProcess]:
    FakeProcess.started = []
    FakeProcess.instances = []
    monkeypatch.setattr("egov.core.management.commands.serve.subprocess.Popen", FakeProcess)
    monkeypatch.setattr("egov.core.management.commands.serve.POLL_SECONDS", 0.001)
    return FakeProcess


def test_serve_starts_worker_periodic_and_web(
    fake_popen: type[FakeProcess], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    demo = types.ModuleType("egov.orgs.demo")
    demo.DEMO_LOGINS = [("sysadmin", "Demo#2026", "System administrator"), ("broken",)]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "egov.orgs.demo", demo)
    settings.REDIS_URL = ""
    settings.DEBUG = True
    out, err = StringIO(), StringIO()
    call_command("serve", "--host", "127.0.0.1", "--port", "8123", stdout=out, stderr=err)
    commands = [c[2:] for c in fake_popen.started]
    assert commands == [
        ["db_worker", "--no-reload"],
        ["run_periodic"],
        ["runserver", "--noreload", "127.0.0.1:8123"],
    ]
    assert all(c[1].endswith("manage.py") for c in fake_popen.started)
    text = out.getvalue()
    assert "http://127.0.0.1:8123/" in text
    assert "sysadmin" in text and "Demo#2026" in text
    # The web server stopped, so the worker and the runner were stopped too.
    assert all(p.returncode is not None for p in fake_popen.instances)
    assert "web stopped" in err.getvalue()


def test_serve_with_redis_and_without_demo(
    fake_popen: type[FakeProcess], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setitem(sys.modules, "egov.orgs.demo", None)  # import fails: no demo accounts
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.DEBUG = False
    out = StringIO()
    call_command(
        "serve",
        "--host",
        "0.0.0.0",  # noqa: S104 -- only printed, Popen is faked
        "--port",
        "8124",
        "--no-periodic",
        stdout=out,
        stderr=StringIO(),
    )
    commands = [c[2:] for c in fake_popen.started]
    assert commands == [
        ["rqworker", "--job-class", "django_tasks_rq.Job", "default"],
        ["runserver", "--noreload", "--insecure", "0.0.0.0:8124"],
    ]
    assert "http://127.0.0.1:8124/" in out.getvalue()
    assert "seed_demo" in out.getvalue()


def test_serve_refuses_a_bad_port(fake_popen: type[FakeProcess]) -> None:
    with pytest.raises(CommandError):
        call_command("serve", "--port", "70000", stdout=StringIO())
    assert fake_popen.started == []
