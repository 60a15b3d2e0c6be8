"""Remove audit rows older than the retention period: `manage.py audit_prune`.

The retention is `EGOV_AUDIT_RETENTION_DAYS`, never less than 180 days. Only the oldest part
of the chain goes; the prune itself is recorded (`audit.pruned`), so `audit_verify` still holds.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from egov.core.acting import Acting
from egov.core.audit import prune_expired, retention_days
from egov.core.errors import DomainError


class Command(BaseCommand):
    help = "Remove audit rows older than the retention period (at least 180 days)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = prune_expired(acting=Acting.system("audit_prune"))
        except DomainError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{count} audit row(s) older than {retention_days()} days removed")
