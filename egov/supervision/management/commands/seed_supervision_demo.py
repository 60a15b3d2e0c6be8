"""Load the supervision demo: a dozen supervised tasks in every state (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from egov.orgs.management.commands.seed_demo import is_production
from egov.supervision.demo import SUPERVISION_DEMO_LOGINS, DemoMissing, seed_supervision_demo


class Command(BaseCommand):
    help = (
        "Create the supervision demo (a dozen tasks of the provincial general office in every "
        "state, with overdue and due-soon ones). Run seed_demo first. Idempotent."
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
                _(
                    "Refusing to load demo data with production settings: the demo accounts "
                    "share a published password. Use --force only on a throw-away system."
                )
            )
        try:
            result = seed_supervision_demo()
        except DemoMissing as exc:
            raise CommandError(
                _(
                    "The organisation demo is missing (%(missing)s): run `manage.py seed_demo` first."
                )
                % {"missing": exc}
            ) from exc
        self.stdout.write(
            _("supervision demo: %(users)d users, %(tasks)d tasks created")
            % {"users": result.users_created, "tasks": result.tasks_created}
        )
        if not options["quiet_logins"]:
            for username, password, description in SUPERVISION_DEMO_LOGINS:
                self.stdout.write(f"  {username:<12} {password}  {description}")
