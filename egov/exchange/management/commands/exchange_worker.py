"""`manage.py exchange_worker [--once]`: the delivery worker loop (same as `exchange worker`)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Send due envelopes from the outbox (loop; --once for one batch)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--until-idle", action="store_true")
        parser.add_argument("--limit", type=int, default=100)
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        argv = ["worker", "--limit", str(options["limit"]), "--threads", str(options["threads"])]
        argv += ["--interval", str(options["interval"])]
        if options["once"]:
            argv.append("--once")
        if options["until_idle"]:
            argv.append("--until-idle")
        call_command("exchange", *argv, stdout=self.stdout)
