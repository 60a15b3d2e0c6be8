"""`make bench`: run every bench/bench_*.py beside its baseline and rewrite docs/benchmarks.md.

Each benchmark module has `run() -> bench.common.Section`. They share one fresh database
(SQLite under var/bench/ by default; set BENCH_DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Section  # noqa: E402


def prepare_database() -> str:
    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url:
        db = bench_dir / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    os.environ["DATABASE_URL"] = url
    os.environ["EGOV_DEBUG"] = "0"
    # The in-process test client calls itself "testserver".
    os.environ["EGOV_ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "egov.settings.dev")
    return url


def machine() -> list[str]:
    import django
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores",
        f"- Memory: {psutil.virtual_memory().total / 2**30:.0f} GiB",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}, Django {django.get_version()}",
    ]


def render(sections: list[Section], database: str, elapsed: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); do not edit by hand. Each figure is the median of",
        "several runs, measured beside its baseline in the same run on the same machine. This machine",
        "is shared and noisy: compare figures within one run, not across runs.",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s in all. "
        f"Database: {database.split(':', 1)[0]}.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", "", section.method, ""]
        lines += [
            "| measure | value | baseline | baseline value | ratio | note |",
            "| --- | ---: | --- | ---: | ---: | --- |",
        ]
        for row in section.rows:
            base = "" if row.baseline_value is None else f"{row.baseline_value:,.2f}"
            ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
            lines.append(
                f"| {row.name} | {row.value:,.2f} {row.unit} | {row.baseline_name} | {base} | {ratio} | {row.note} |"
            )
        lines.append("")
        lines += [f"- {note}" for note in section.notes]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    database = prepare_database()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    only = set(sys.argv[1:])
    started = time.perf_counter()
    sections: list[Section] = []
    for path in sorted((ROOT / "bench").glob("bench_*.py")):
        name = path.stem
        if only and name.removeprefix("bench_") not in only:
            continue
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        section = module.run()
        sections.append(section)
        for row in section.rows:
            print(
                f"   {row.name}: {row.value:,.2f} {row.unit}  (baseline {row.baseline_name}: {row.baseline_value})"
            )
    output = ROOT / "docs" / "benchmarks.md"
    text = render(sections, database, time.perf_counter() - started)
    if only and output.exists():
        text = merge(output.read_text(encoding="utf-8"), text)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output.relative_to(ROOT)}")
    return 0


def _sections(text: str) -> tuple[str, dict[str, str]]:
    """The head of a benchmarks page and its "## " sections by title (in order)."""
    head, *parts = text.split("\n## ")
    return head, {part.split("\n", 1)[0]: "## " + part for part in parts}


def merge(old: str, new: str) -> str:
    """`make bench` with some sections named: the new sections replace theirs in the old page,
    the others stay as they were measured (each section's figures come from one run)."""
    new_head, new_parts = _sections(new)
    _old_head, old_parts = _sections(old)
    merged = {**old_parts, **new_parts}
    new_parts.pop("Machine", None)
    note = (
        f"This run measured only: {'; '.join(t for t in new_parts)}. The other sections keep the "
        "figures of the earlier run that measured them (each beside its own baseline)."
    )
    return "\n".join(
        [new_head.rstrip("\n"), note, "", *(v.rstrip("\n") + "\n" for v in merged.values())]
    )


if __name__ == "__main__":
    raise SystemExit(main())
