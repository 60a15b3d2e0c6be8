"""Background entry points of the duty app: escalation of unacknowledged reports, every minute.

Red flags need no job: a report is red from the minute its `next_due_at` passes (consoles
compare it with the clock when they render).
"""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from egov.core.acting import Acting
from egov.core.scheduling import register_periodic
from egov.duty import reporting

ESCALATION_EVERY = timedelta(minutes=1)


@task()
def escalate_reports() -> int:
    return reporting.do_escalate_due(acting=Acting.system("duty.escalation"))


register_periodic("duty.escalate_reports", escalate_reports, every=ESCALATION_EVERY)
