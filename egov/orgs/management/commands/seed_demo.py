"""Load the demo organisation tree and demo users (idempotent; refused in production)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from egov.core.acting import Acting
from egov.orgs.demo import DEMO_LOGINS, seed_demo


def is_production() -> bool:
    module = str(getattr(settings, "SETTINGS_MODULE", "") or "")
    return module.rsplit(".", 1)[-1] == "prod"


class Command(BaseCommand):
    help = "Create the demo Hebei organisation tree and one demo user per role (idempotent)."

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
        result = seed_demo(acting=Acting.system("seed_demo"))
        self.stdout.write(
            f"demo data: {result.organisations_created} organisations, "
            f"{result.users_created} users, {result.roles_granted} role grants created"
        )
        if not options["quiet_logins"]:
            for username, password, description in DEMO_LOGINS:
                self.stdout.write(f"  {username:<12} {password}  {description}")
