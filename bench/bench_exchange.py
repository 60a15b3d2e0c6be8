"""Exchange: one notice with a 1 MB part dispatched to N organisations on another node, on
PostgreSQL, two nodes on this machine (separate processes, separate databases), beside a
baseline of plain HTTP POSTs of the same bytes into the same database in the same run.

Node A (the sender) runs two `manage.py exchange worker` processes (4 threads each, claiming
with SELECT … FOR UPDATE SKIP LOCKED); node B (the receiver) runs gunicorn (2 processes × 4
threads). Measured: envelopes per second from the
start of the dispatch (signing N manifests, the outbox rows and their log entries) to the last
receipt stored; dispatch-to-receipt p50/p95 from the deliveries' rows; peak RSS of each sending
worker and of each receiving gunicorn process, for 300 and 3,000 recipients. The baseline
POSTs the very bytes of one envelope N times with the same client concurrency to an endpoint on
node B that stores each body (SHA-256, size, bytes) as a row in node B's database.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust); databases bench_node_a and
bench_node_b are dropped and created. The largest size and its baseline run BENCH_EXCHANGE_RUNS
(3) times, alternating; the median run of each is reported. BENCH_EXCHANGE_SIZES=300,3000
overrides the sizes;
BENCH_EXCHANGE_WORKERS / _THREADS (sending processes / threads in all) and BENCH_EXCHANGE_RECEIVERS
/ _RECEIVER_THREADS (gunicorn processes / threads each) try other layouts (the baseline uses the
same client threads).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, Section  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432"
THREADS = int(os.environ.get("BENCH_EXCHANGE_THREADS", "8"))  # sender threads, over WORKERS
WORKERS = int(os.environ.get("BENCH_EXCHANGE_WORKERS", "2"))
RECEIVERS = int(os.environ.get("BENCH_EXCHANGE_RECEIVERS", "2"))  # gunicorn processes
RUNS = int(os.environ.get("BENCH_EXCHANGE_RUNS", "3"))  # runs of the largest size (median)
RECEIVER_THREADS = int(os.environ.get("BENCH_EXCHANGE_RECEIVER_THREADS", "4"))  # per process
PART_BYTES = 1024 * 1024


def _psql(sql: str, db: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        conn.execute(sql)


class Peak:
    """Peak RSS of some processes (polled every 50 ms, children included when asked)."""

    def __init__(self, pid: int, children: bool = False):
        import psutil

        self.proc = psutil.Process(pid)
        self.children = children
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *(self.proc.children() if self.children else [])]
                for p in procs:
                    try:
                        rss = p.memory_info().rss
                    except psutil.Error:
                        continue
                    self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), rss)
            except psutil.Error:
                pass
            self._stop.wait(0.05)

    def stop(self) -> dict[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def _prepare(directory: Path, recipients: int) -> tuple[Any, Any, dict[str, Any]]:
    from egov.exchange.tests.nodes import NODE_A, NODE_B, NodeProcess, prepare_template

    for name in ("bench_node_b", "bench_node_a"):
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _psql("CREATE DATABASE bench_node_a")
    codes = prepare_template(directory, extra=recipients, database_url=f"{PG}/bench_node_a")
    _psql("CREATE DATABASE bench_node_b TEMPLATE bench_node_a")
    _psql(
        "CREATE TABLE bench_exchange_baseline (id bigserial PRIMARY KEY, sha256 text, "
        "size integer, body bytea, received_at timestamptz DEFAULT now())",
        "bench_node_b",
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "egov.exchange.tests.bench_settings",
        "EGOV_EXCHANGE_RETRY_BASE_SECONDS": "1",
        "EGOV_EXCHANGE_LEASE_SECONDS": "300",
        "EGOV_DB_CONN_MAX_AGE": "60",
    }
    a = NodeProcess(NODE_A, directory / "a", None, **env)
    b = NodeProcess(NODE_B, directory / "b", None, **env)
    a.env["DATABASE_URL"] = f"{PG}/bench_node_a"
    b.env["DATABASE_URL"] = f"{PG}/bench_node_b"
    a.manage("exchange", "node", NODE_B, "--url", b.url, "--transport", "http")
    b.manage("exchange", "node", NODE_A, "--url", a.url, "--transport", "http")
    return a, b, codes


DISPATCH = """
import io, json, time
from egov.core.acting import Acting
from egov.exchange import services
from egov.orgs.models import Organisation
office = Organisation.objects.get(code=%(office)r)
recipients = list(Organisation.objects.filter(code__in=%(codes)r).order_by("code"))
start = time.time()
part = bytes(range(256)) * (%(size)d // 256)
parts = services.store_parts([services.PartInput("notice.pdf", "application/pdf", io.BytesIO(part))])
ds = services.do_dispatch(kind="TEST_NOTICE", sender=office, recipients=recipients,
    payload={"title": "bench"}, parts=parts, title="bench", acting=Acting.system("bench"))
print(json.dumps({"start": start, "dispatched": time.time(), "n": len(ds)}))
"""

TIMINGS = """
import json
from egov.exchange.models import Delivery
rows = list(Delivery.objects.values_list("state", "created_at", "done_at"))
print(json.dumps({"states": sorted({r[0] for r in rows}),
                  "delivered": sum(r[0] == "delivered" for r in rows),
                  "durations": [(d - c).total_seconds() for s, c, d in rows if d],
                  "last_done": max(d for s, c, d in rows if d).timestamp() if rows else 0}))
"""

ENVELOPE = """
import sys
from egov.exchange.models import Delivery
from egov.exchange.envelope import package_bytes
d = Delivery.objects.order_by("id").first()
open(%(path)r, "wb").write(package_bytes(bytes(d.manifest), bytes(d.signature)))
"""


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[q - 1]


def _exchange_run(a: Any, b: Any, codes: dict[str, Any], n: int) -> dict[str, Any]:
    a.shell("from egov.exchange.models import Delivery; Delivery.objects.all().delete()")
    b.start(workers=RECEIVERS, threads=RECEIVER_THREADS)
    receivers = Peak(b.server.pid, children=True)
    recipients = codes["extra"][:n]
    dispatch = a.shell(
        DISPATCH % {"office": codes["office"], "codes": recipients, "size": PART_BYTES}
    )
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "exchange",
                "worker",
                "--until-idle",
                "--threads",
                str(THREADS // WORKERS),
                "--limit",
                "100",
                "--interval",
                "0.2",
            ],
            cwd=ROOT,
            env=a.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(WORKERS)
    ]
    senders = [Peak(w.pid) for w in workers]
    for w in workers:
        w.wait(timeout=1800)
    sender_peaks = [max(p.stop().values()) for p in senders]
    sender_peak = max(sender_peaks)
    receiver_peaks = receivers.stop()
    b.stop()
    timings = a.shell(TIMINGS)
    elapsed = timings["last_done"] - dispatch["start"]
    gunicorn_workers = sorted(
        v for pid, v in receiver_peaks.items() if pid != b_pid(receiver_peaks)
    )
    return {
        "n": n,
        "delivered": timings["delivered"],
        "elapsed": elapsed,
        "dispatch_seconds": dispatch["dispatched"] - dispatch["start"],
        "rate": timings["delivered"] / elapsed,
        "p50": _pct(timings["durations"], 50),
        "p95": _pct(timings["durations"], 95),
        "sender_peak_mb": sender_peak / 2**20,
        "sender_peaks_mb": [v / 2**20 for v in sender_peaks],
        "receiver_peaks_mb": [v / 2**20 for v in gunicorn_workers],
    }


def b_pid(peaks: dict[int, int]) -> int:
    return min(peaks)  # the gunicorn arbiter started first (lowest pid)


def _baseline_run(b: Any, directory: Path, a: Any, n: int) -> dict[str, Any]:
    import requests

    path = directory / "envelope.zip"
    a.shell(ENVELOPE % {"path": str(path)})
    body = path.read_bytes()
    _psql("TRUNCATE bench_exchange_baseline", "bench_node_b")
    b.start(workers=RECEIVERS, threads=RECEIVER_THREADS)
    url = b.url + "/bench/baseline"
    local = threading.local()

    def post(_i: int) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        t0 = time.perf_counter()
        r = session.post(url, data=body, headers={"Content-Type": "application/zip"}, timeout=60)
        r.raise_for_status()
        return time.perf_counter() - t0

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        latencies = list(pool.map(post, range(n)))
    elapsed = time.perf_counter() - start
    b.stop()
    return {
        "rate": n / elapsed,
        "elapsed": elapsed,
        "p50": _pct(latencies, 50),
        "p95": _pct(latencies, 95),
        "bytes": len(body),
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(sorted(runs, key=lambda r: r["elapsed"])[len(runs) // 2])


def run() -> Section:
    import tempfile

    sizes = [int(s) for s in os.environ.get("BENCH_EXCHANGE_SIZES", "300,3000").split(",")]
    section = Section(
        title="Exchange: one notice, 1 MB part, to N organisations on another node (PostgreSQL)",
        method=(__doc__ or "").strip(),
    )
    with tempfile.TemporaryDirectory(prefix="bench-exchange-") as tmp:
        directory = Path(tmp)
        a, b, codes = _prepare(directory, max(sizes))
        try:
            results = [_exchange_run(a, b, codes, n) for n in sizes[:-1]]
            # The largest size and its baseline RUNS times, alternating (so that a change in the
            # machine's speed touches both); the median run of each is reported.
            big_runs, base_runs = [], []
            for _ in range(RUNS):
                big_runs.append(_exchange_run(a, b, codes, sizes[-1]))
                base_runs.append(_baseline_run(b, directory, a, sizes[-1]))
        finally:
            a.stop()
            b.stop()
    big = _median_run(big_runs)
    big["sender_peak_mb"] = max(r["sender_peak_mb"] for r in big_runs)
    for key in ("sender_peaks_mb", "receiver_peaks_mb"):
        big[key] = [max(values) for values in zip(*(r[key] for r in big_runs), strict=False)]
    results.append(big)
    base = _median_run(base_runs)
    section.notes.append(
        f"N={big['n']}, {RUNS} runs each, median shown: exchange "
        + ", ".join(f"{r['elapsed']:.1f}" for r in big_runs)
        + " s; baseline "
        + ", ".join(f"{r['elapsed']:.1f}" for r in base_runs)
        + " s. Peak memory is the largest of the runs."
    )
    section.rows.append(
        Row(
            f"envelopes receipted per second (N={big['n']})",
            big["rate"],
            "envelopes/s",
            "plain HTTP POST of the same bytes into the same database",
            base["rate"],
            note=f"all {big['delivered']} receipted in {big['elapsed']:.1f} s "
            f"(dispatch {big['dispatch_seconds']:.1f} s); baseline {base['elapsed']:.1f} s",
        )
    )
    section.rows.append(
        Row(
            f"dispatch-to-receipt p50 (N={big['n']})",
            big["p50"],
            "s",
            "baseline POST latency p50",
            base["p50"],
        )
    )
    section.rows.append(
        Row(
            f"dispatch-to-receipt p95 (N={big['n']})",
            big["p95"],
            "s",
            "baseline POST latency p95",
            base["p95"],
        )
    )
    for r in results:
        section.rows.append(
            Row(
                f"peak RSS of a sending worker (N={r['n']})",
                r["sender_peak_mb"],
                "MiB",
                note="sending workers: "
                + ", ".join(f"{v:.0f}" for v in r["sender_peaks_mb"])
                + " MiB; receiving gunicorn processes: "
                + ", ".join(f"{v:.0f}" for v in r["receiver_peaks_mb"])
                + " MiB; "
                f"{r['delivered']}/{r['n']} receipted in {r['elapsed']:.1f} s",
            )
        )
    section.notes.append(
        f"Envelope size {base['bytes']} bytes; {WORKERS} sending worker processes × "
        f"{THREADS // WORKERS} threads (claiming with SKIP LOCKED); receiver gunicorn "
        "2 processes × 4 threads; both nodes and PostgreSQL share this machine's cores."
    )
    return section


if __name__ == "__main__":
    result = run()
    for row in result.rows:
        print(
            f"{row.name}: {row.value:.2f} {row.unit}"
            + (f"  | {row.baseline_name}: {row.baseline_value:.2f}" if row.baseline_value else "")
            + (f"  ({row.note})" if row.note else "")
        )
    for note in result.notes:
        print(note)
