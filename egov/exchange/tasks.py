"""Background entry point of the exchange: one worker batch every minute (the embedded default,
where the task worker runs beside the web server). Scaled out, run `manage.py exchange_worker`
processes instead; both claim rows the same way, so they may run together."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from egov.core.scheduling import register_periodic
from egov.exchange import worker

DELIVER_EVERY = timedelta(minutes=1)


@task()
def deliver_due() -> int:
    """Send what is due (up to 500 envelopes); returns how many were claimed."""
    return worker.run_once(limit=500).claimed


register_periodic("exchange.deliver_due", deliver_due, every=DELIVER_EVERY)
