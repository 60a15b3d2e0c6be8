"""`make run`: the web server, one task worker and the periodic runner, stopped together.

The worker is `manage.py db_worker` (tasks in the database) or, when `REDIS_URL` is set,
`manage.py rqworker default`. The web server is Django's `runserver --noreload`, good for the
embedded single-machine default; production runs gunicorn behind a reverse proxy instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

STOP_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.5


def demo_logins() -> list[tuple[str, str, str]]:
    """(user name, password, role) of the demo accounts, if the demo module exists."""
    try:
        module = import_module("egov.orgs.demo")
    except ImportError:
        return []
    logins = getattr(module, "DEMO_LOGINS", None) or []
    result = []
    for entry in logins:
        try:
            username, password, role = entry
        except (TypeError, ValueError):
            continue
        result.append((str(username), str(password), str(role)))
    return result


def worker_command(manage: Sequence[str]) -> list[str]:
    if settings.REDIS_URL:
        # django-tasks-rq runs tasks through its own RQ job class.
        return [*manage, "rqworker", "--job-class", "django_tasks_rq.Job", "default"]
    return [*manage, "db_worker", "--no-reload"]


class Command(BaseCommand):
    help = "Start the web server, one task worker and the periodic runner (Ctrl-C stops all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Do not start a worker.")
        parser.add_argument(
            "--no-periodic", action="store_true", help="Do not start the periodic runner."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        if not 0 < port < 65536:
            raise CommandError("--port must be between 1 and 65535")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        env = os.environ.copy()
        env["PYTHONUNBUFFERED"] = "1"

        commands: list[tuple[str, list[str]]] = []
        if not options["no_worker"]:
            commands.append(("worker", worker_command(manage)))
        if not options["no_periodic"]:
            commands.append(("periodic", [*manage, "run_periodic"]))
        web = [*manage, "runserver", "--noreload", f"{host}:{port}"]
        if not settings.DEBUG:
            web.insert(-1, "--insecure")  # serve static files without DEBUG (embedded default)
        commands.append(("web", web))

        self._print_banner(host, port)
        stop = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        children: list[tuple[str, subprocess.Popen[bytes]]] = []
        try:
            for name, command in commands:
                children.append((name, subprocess.Popen(command, env=env)))  # noqa: S603 -- our own manage.py
            while not stop.wait(POLL_SECONDS):
                exited = [(name, p) for name, p in children if p.poll() is not None]
                if exited:
                    name, process = exited[0]
                    self.stderr.write(f"{name} stopped (exit code {process.returncode}); stopping")
                    break
        finally:
            self._stop(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _print_banner(self, host: str, port: int) -> None:
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 -- display only
        if ":" in shown_host:
            shown_host = f"[{shown_host}]"
        url = f"http://{shown_host}:{port}/"
        backend = "RQ on Redis" if settings.REDIS_URL else "database"
        lines = [
            "",
            f"egov is starting at {url}",
            f"task worker: {backend}; periodic runner: on",
        ]
        logins = demo_logins()
        if logins:
            lines.append("demo logins (user name / password — role):")
            width = max(len(u) for u, _p, _r in logins)
            lines.extend(f"  {u.ljust(width)}  {p}  — {r}" for u, p, r in logins)
        else:
            lines.append("no demo logins (run `manage.py seed_demo`, or createsuperuser)")
        lines.append("Press Ctrl-C to stop.")
        lines.append("")
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _stop(self, children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        for _name, process in children:
            if process.poll() is None:
                process.terminate()
        for name, process in children:
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop; killing it")
                process.kill()
                process.wait()
