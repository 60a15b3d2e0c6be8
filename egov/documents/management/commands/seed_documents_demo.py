"""Load the official documents demo: documents of the provincial general office in several states,
one dispatched to two city governments and waiting there to be signed for (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from egov.documents.demo import DOCUMENTS_DEMO_LOGINS, DemoMissing, seed_documents_demo
from egov.orgs.management.commands.seed_demo import is_production


class Command(BaseCommand):
    help = (
        "Create the official documents demo (a draft, one in review, one awaiting sign-off, one "
        "dispatched to two cities). Run seed_demo first, and `pki init --demo` for the "
        "dispatched one. Idempotent."
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
            result = seed_documents_demo()
        except DemoMissing as exc:
            raise CommandError(
                _(
                    "The organisation demo is missing (%(missing)s): run `manage.py seed_demo` first."
                )
                % {"missing": exc}
            ) from exc
        self.stdout.write(
            _(
                "documents demo: %(users)d users, %(documents)d documents created, %(steps)d "
                "steps taken, %(delivered)d copies delivered"
            )
            % {
                "users": result.users_created,
                "documents": result.documents_created,
                "steps": result.steps_taken,
                "delivered": result.delivered,
            }
        )
        for reason in result.skipped:
            self.stderr.write(
                self.style.WARNING(_("Stopped short: %(reason)s") % {"reason": reason})
            )
        if not options["quiet_logins"]:
            for username, password, description in DOCUMENTS_DEMO_LOGINS:
                self.stdout.write(f"  {username:<14} {password}  {description}")
