"""`manage.py supervision_reminders`: send the reminders due now (the periodic job, by hand)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from egov.core.acting import Acting
from egov.supervision import services


class Command(BaseCommand):
    help = "Send the supervision reminders due today (at most once per task, reason and day)."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = services.do_send_due_reminders(acting=Acting.system("supervision_reminders"))
        self.stdout.write(f"{sent} reminder(s) sent")
