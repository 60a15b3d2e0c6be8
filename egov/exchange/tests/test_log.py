"""The message log's two-step append: rows written unchained with the envelope, linked into the
chain right after the commit (or by the periodic sweep), and verified end to end."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from egov.core.scheduling import periodic_jobs
from egov.exchange import log, services, worker
from egov.exchange.models import LogEntry, LogHead
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.handlers import KIND

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test starts as if this process had not chained for a while.
    monkeypatch.setattr(log, "_last_chained", 0.0)


def dispatch(office: Any, recipients: list[Any]) -> list[Any]:
    return services.do_dispatch(
        kind=KIND,
        sender=office,
        recipients=recipients,
        payload={"title": "关于报送年度工作总结的通知"},
        title="notice",
        acting=SYSTEM,
    )


def test_rows_are_written_unchained_and_chained_after_the_commit(
    office, cities, handler, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dispatch(office, cities)
    rows = list(LogEntry.objects.order_by("id"))
    assert len(rows) == 3
    assert all(r.seq is None and r.hash == "" and r.prev_hash == "" for r in rows)
    assert callbacks, "append asks to chain once the transaction commits"
    for callback in callbacks:
        callback()
    rows = list(LogEntry.objects.order_by("seq"))
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == log.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert all(log.entry_hash_ok(r) for r in rows)
    head = LogHead.objects.get(id=1)
    assert (head.last_seq, head.last_hash) == (3, rows[2].hash)
    assert list(log.verify_log()) == []


def test_a_process_chains_at_most_once_a_second(
    office, cities, handler, django_capture_on_commit_callbacks, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(log.time, "monotonic", lambda: clock[0])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(office, cities[:1])
    assert LogEntry.objects.filter(seq__isnull=True).count() == 0
    clock[0] += 0.2
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(office, cities[1:2])
    assert LogEntry.objects.filter(seq__isnull=True).count() == 1  # left for the next chainer
    clock[0] += log.CHAIN_EVERY
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(office, cities[2:])
    assert LogEntry.objects.filter(seq__isnull=True).count() == 0
    assert list(LogEntry.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3]


def test_a_whole_delivery_is_logged_and_verifies(office, cities, handler):
    dispatch(office, cities)
    worker.run_once()
    assert log.chain_pending(wait=True) == 12
    assert log.chain_pending(wait=True) == 0
    assert LogEntry.objects.filter(seq__isnull=True).count() == 0
    assert list(log.verify_log()) == []


def test_rows_left_unchained_are_reported_and_the_sweep_links_them(office, cities, handler):
    dispatch(office, cities)  # the test's transaction never commits: nothing chains them
    assert list(log.verify_log()) == []  # a moment old: not a problem yet
    later = timezone.now() + log.CHAIN_GRACE + timedelta(seconds=1)
    [problem] = list(log.verify_log(now=later))
    assert problem.startswith("3 rows logged more than 5 minutes ago are not chained")
    job = {j.name: j for j in periodic_jobs()}["exchange.chain_log"]
    assert job.every == timedelta(minutes=1)
    from egov.exchange.tasks import chain_log

    assert chain_log.call() == 3
    assert list(log.verify_log(now=later)) == []


def test_chaining_continues_an_existing_chain(office, cities, handler):
    dispatch(office, cities[:2])
    log.chain_pending()
    first_head = LogHead.objects.get(id=1).last_hash
    dispatch(office, cities[2:])
    assert log.chain_pending() == 1
    last = LogEntry.objects.get(seq=3)
    assert last.prev_hash == first_head
    assert list(log.verify_log()) == []


def test_tampering_with_a_chained_row_is_found(office, cities, handler):
    dispatch(office, cities)
    log.chain_pending()
    LogEntry.objects.filter(seq=2).update(peer_node="elsewhere")
    assert list(log.verify_log()) == ["seq 2 was edited"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_one_gap_free_chain(office, cities, handler):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the head lock matters on PostgreSQL")
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def write(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(n):
                with transaction.atomic():
                    dispatch(office, cities[:1])
                # Every writer chains right after its commit (no once-a-second pause here), so
                # writers constantly find the head taken by another.
                log.chain_pending()
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(10,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    log.chain_pending(wait=True)
    seqs = list(LogEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 61))
    assert list(log.verify_log()) == []


def test_log_verify_reports_rows_that_waited_too_long_then_passes(office, cities, handler):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    dispatch(office, cities)
    later = timezone.now() + log.CHAIN_GRACE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        out = io.StringIO()
        with pytest.raises(CommandError):
            call_command("exchange", "log-verify", stdout=out)
        assert "3 rows had waited more than 5 minutes to be chained" in out.getvalue()
        assert LogEntry.objects.filter(seq__isnull=True).count() == 0  # and are chained now
        out = io.StringIO()
        call_command("exchange", "log-verify", stdout=out)
        assert '"ok": true' in out.getvalue()


def test_a_row_numbered_beyond_the_head_is_found(office, cities, handler):
    dispatch(office, cities[:1])
    log.chain_pending()
    forged = LogEntry.objects.get()
    forged.pk = None
    forged.seq = 2
    forged.save()
    assert list(log.verify_log()) == [
        "seq 2 lies beyond the log head: inserted outside the chainer"
    ]


def test_verify_lists_the_log_rows_of_an_envelope_chained_or_not(office, cities, handler):
    from egov.exchange.envelope import package_bytes
    from egov.exchange.evidence import verify_file

    [delivery] = dispatch(office, cities[:1])
    data = package_bytes(bytes(delivery.manifest), bytes(delivery.signature))
    [row] = verify_file(data)["log"]
    assert (row["chained"], row["chain_ok"]) == (False, False)  # verifying writes nothing
    log.chain_pending()
    [row] = verify_file(data)["log"]
    assert (row["chained"], row["chain_ok"], row["seq"]) == (True, True, 1)
