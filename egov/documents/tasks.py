"""Background entry points of the documents app: the reminder job (催办), periodic."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from egov.core.acting import Acting
from egov.core.scheduling import register_periodic
from egov.documents import services

# Hourly: `do_chase_due` reminds each document at most once a day whatever the interval, so
# running often only makes the first reminders of a day go out soon after midnight (and a missed
# run is made up within the hour).
CHASE_EVERY = timedelta(hours=1)
CHASE_JOB = "documents.chase_due"


@task()
def chase_due_documents() -> int:
    """Remind the handling units of received documents coming due or overdue."""
    return services.do_chase_due(acting=Acting.system("documents.chase"))


register_periodic(CHASE_JOB, chase_due_documents, every=CHASE_EVERY)
