"""The periodic runner: jobs that run every so often (reminders, daily checks).

An app registers a job with a task that takes no arguments:

    register_periodic("supervision.send_reminders", send_reminders, every=timedelta(hours=1))

(in its `tasks.py`, which the runner imports automatically). `run_due_jobs(now)` — called in a
loop by `manage.py run_periodic`, which `make run` starts — enqueues each job whose interval has
passed since it last ran. Each job's `PeriodicJobRun` row is claimed with
`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so two runners never both fire a job; on
SQLite the database allows one writing transaction at a time (the settings open transactions
with BEGIN IMMEDIATE), which serialises runners the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from egov.core.models import PeriodicJobRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any  # a django_tasks Task taking no arguments
    every: timedelta


_jobs: dict[str, PeriodicJob] = {}
_discovered = False


def register_periodic(name: str, task: Any, every: timedelta) -> PeriodicJob:
    """Run `task` (no arguments) every `every`. Registering a name again replaces the job."""
    if every <= timedelta(0):
        raise ValueError("a periodic job's interval must be positive")
    if not name or len(name) > 100:
        raise ValueError("a periodic job's name has 1 to 100 characters")
    if not hasattr(task, "enqueue"):
        raise TypeError("register a django_tasks task (decorated with @task())")
    job = PeriodicJob(name=name, task=task, every=every)
    _jobs[name] = job
    return job


def periodic_jobs() -> list[PeriodicJob]:
    """Every registered job, by name (apps' `tasks` modules are imported first)."""
    global _discovered
    if not _discovered:
        _discovered = True
        autodiscover_modules("tasks")
    return [_jobs[name] for name in sorted(_jobs)]


def _claim(name: str) -> PeriodicJobRun | None:
    qs = PeriodicJobRun.objects.filter(name=name)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    else:
        qs = qs.select_for_update()
    return qs.first()


def run_due_jobs(now: datetime | None = None) -> list[str]:
    """Enqueue every job that is due at `now`; return the names of those enqueued."""
    now = now if now is not None else timezone.now()
    jobs = periodic_jobs()
    if not jobs:
        return []
    try:
        PeriodicJobRun.objects.bulk_create(
            [PeriodicJobRun(name=job.name) for job in jobs], ignore_conflicts=True
        )
    except OperationalError as exc:  # SQLite busy with another runner: try on the next tick
        logger.info("periodic.busy", extra={"error": str(exc)})
        return []
    fired: list[str] = []
    for job in jobs:
        try:
            with transaction.atomic():
                run = _claim(job.name)
                if run is None:  # another runner holds it right now
                    continue
                if run.last_run_at is not None and run.last_run_at + job.every > now:
                    continue
                result = job.task.enqueue()
                run.last_run_at = now
                run.last_task_id = str(result.id)[:64]
                run.save(update_fields=["last_run_at", "last_task_id"])
        except OperationalError as exc:
            # SQLite: another runner holds the database; the job is tried on the next tick.
            logger.info("periodic.busy", extra={"job": job.name, "error": str(exc)})
            continue
        except Exception:
            # One broken job must not stop the others; it is tried again on the next tick.
            logger.exception("periodic.job_failed", extra={"job": job.name})
            continue
        fired.append(job.name)
        logger.info("periodic.job_enqueued", extra={"job": job.name, "task_id": run.last_task_id})
    return fired
