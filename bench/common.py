"""Shared shape of every benchmark in bench/: each `bench_<name>.py` has `run() -> Section`.

`make bench` (bench/run.py) runs them all and rewrites docs/benchmarks.md. A benchmark measures
its subject beside a baseline in the same run, repeats, and reports medians (the machine is
shared and noisy: medians of several runs, never a single timing).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline_value: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value


@dataclass
class Section:
    title: str
    method: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def median_of(repeats: int, fn: Callable[[], float]) -> float:
    """Median of `repeats` calls of `fn`, each returning one measurement."""
    return statistics.median(fn() for _ in range(repeats))


def rate(
    fn: Callable[[], object], seconds: float = 1.0, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Calls per second of `fn`, run for about `seconds` of `clock` (wall time by default;
    `time.process_time` gives calls per CPU-second, which other load on the machine skews less)."""
    count = 0
    start = clock()
    deadline = start + seconds
    while True:
        fn()
        count += 1
        now = clock()
        if now >= deadline:
            return count / (now - start)
