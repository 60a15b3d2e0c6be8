"""Background entry points of the exchange (the embedded default, where the task worker runs
beside the web server):

* `exchange.deliver_due` every minute: one worker batch, then tell the senders' clerks about
  deliveries that turned FAILED and were not told yet (a worker that died between the two is
  caught up here). Scaled out, run `manage.py exchange_worker` processes instead; both claim rows
  the same way, so they may run together.
* `exchange.chain_log` every minute: link message-log rows still unchained: those of a burst's
  last second (a process chains at most once a second) and those of a process that died between
  its commit and its chaining (see `egov.exchange.log`).
* `exchange.refresh_directory` every `EGOV_EXCHANGE_DIRECTORY_REFRESH_SECONDS` (3600): the
  provincial node publishes a new directory serial if nodes or organisations changed; a node
  with `EGOV_EXCHANGE_DIRECTORY_URL` fetches the directory from there.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django_tasks import task

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.core.scheduling import register_periodic
from egov.exchange import directory, log, worker
from egov.exchange.conf import setting_int
from egov.exchange.services import do_notify_failed_deliveries

logger = logging.getLogger("egov.exchange")
DELIVER_EVERY = timedelta(minutes=1)
SYSTEM = Acting.system("exchange.tasks")


@task()
def deliver_due() -> int:
    """Send what is due (up to 500 envelopes); returns how many were claimed."""
    claimed = worker.run_once(limit=500).claimed
    do_notify_failed_deliveries(acting=SYSTEM)
    return claimed


@task()
def chain_log() -> int:
    """Link the message log's unchained rows; returns how many."""
    late = log.unchained_since(timezone.now() - log.CHAIN_GRACE)
    if late:
        # Writers chain their own rows within a second; rows this old mean they did not run.
        logger.warning("exchange.log_chained_late", extra={"rows": late})
    return log.chain_pending(wait=True)


@task()
def refresh_directory() -> dict[str, Any]:
    """Publish (provincial node) or fetch (other nodes) the node directory."""
    try:
        return directory.refresh(acting=SYSTEM)
    except DomainError as exc:
        # Refused or unreachable: the directory in force stays; the audit trail has the refusal.
        logger.warning("exchange.directory_refresh_failed", extra={"code": exc.code})
        return {"action": "failed", "code": exc.code, "message": str(exc.message)}


register_periodic("exchange.deliver_due", deliver_due, every=DELIVER_EVERY)
register_periodic("exchange.chain_log", chain_log, every=timedelta(minutes=1))
register_periodic(
    "exchange.refresh_directory",
    refresh_directory,
    every=timedelta(seconds=max(60, setting_int("EGOV_EXCHANGE_DIRECTORY_REFRESH_SECONDS", 3600))),
)
