"""Background entry points of the supervision app: the reminder job (periodic)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from egov.core.acting import Acting
from egov.core.scheduling import register_periodic
from egov.supervision import services

# Hourly: a reminder is sent at most once per task, reason and day whatever the interval, so
# running often only makes the first run of a day come soon after midnight.
REMINDERS_EVERY = timedelta(hours=1)


@task()
def send_due_reminders() -> int:
    return services.do_send_due_reminders(acting=Acting.system("supervision.reminders"))


register_periodic("supervision.send_reminders", send_due_reminders, every=REMINDERS_EVERY)
