"""Run the periodic jobs: check every few seconds which are due and enqueue them."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connection

from egov.core.scheduling import periodic_jobs, run_due_jobs


class Command(BaseCommand):
    help = "Enqueue the registered periodic jobs when they are due (loop; --once for one pass)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=30.0,
            help="Seconds between passes (default 30).",
        )

    def handle(
        self, *args: Any, once: bool = False, interval: float = 30.0, **options: Any
    ) -> None:
        if interval <= 0:
            interval = 30.0
        names = [job.name for job in periodic_jobs()]
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(f"periodic jobs: {', '.join(names) or '(none)'}")
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            if not connection.in_atomic_block:  # a long-lived loop drops stale connections
                close_old_connections()
            fired = run_due_jobs()
            if fired and options.get("verbosity", 1) >= 1:
                self.stdout.write(f"enqueued: {', '.join(fired)}")
            if once or stop.wait(interval):
                break
