"""`manage.py duty_escalate`: run the escalation check once (what the periodic job does every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from egov.core.acting import Acting
from egov.duty import reporting


class Command(BaseCommand):
    help = "Escalate every unacknowledged emergency report whose time has come."

    def handle(self, *args: Any, **options: Any) -> None:
        count = reporting.do_escalate_due(acting=Acting.system("duty_escalate"))
        self.stdout.write(f"escalated {count} receipt(s)")
