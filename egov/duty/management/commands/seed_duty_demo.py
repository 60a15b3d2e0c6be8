"""Load the duty demo: teams, a daily pattern, this month's roster, one open report (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from egov.duty.demo import DUTY_DEMO_LOGINS, DemoMissing, seed_duty_demo
from egov.orgs.management.commands.seed_demo import is_production


class Command(BaseCommand):
    help = (
        "Create the duty demo (teams at the provincial general office, 石家庄 and 正定县, "
        "this month's shifts, one open report). Run seed_demo first. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with production settings (demo accounts share a known password).",
        )
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if is_production() and not options["force"]:
            raise CommandError(
                "Refusing to load demo data with production settings: the demo accounts share "
                "a published password. Use --force only on a throw-away system."
            )
        try:
            result = seed_duty_demo()
        except DemoMissing as exc:
            raise CommandError(
                f"The organisation demo is missing ({exc}): run `manage.py seed_demo` first."
            ) from exc
        self.stdout.write(
            f"duty demo: {result.users_created} users, {result.teams_created} teams, "
            f"{result.patterns_created} patterns, {result.shifts_created} shifts, "
            f"{result.assignments_created} assignments, {result.reports_created} reports created"
        )
        if not options["quiet_logins"]:
            for username, password, description in DUTY_DEMO_LOGINS:
                self.stdout.write(f"  {username:<12} {password}  {description}")
