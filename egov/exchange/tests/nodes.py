"""Two (or more) egov nodes as separate processes with separate databases on loopback.

`prepare_template(dir)` builds one SQLite database (migrate, the organisations, the CA and the
seals); each node gets a copy, so the CA is the same on both. `NodeProcess` runs `manage.py`
commands against its database and a gunicorn server on a free loopback port.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
KEK = "node-test-key-encryption-key-0123456789abcdef"
CITIES = [
    "石家庄",
    "唐山",
    "秦皇岛",
    "邯郸",
    "邢台",
    "保定",
    "张家口",
    "承德",
    "沧州",
    "廊坊",
    "衡水",
]
NODE_A, NODE_B = "node-a", "node-b"

SETUP = """
import json
from egov.core.acting import Acting
from egov.exchange.models import Node
from egov.orgs.tests.factories import OrganisationFactory
from egov.pki import services as pki
acting = Acting.system("setup")
office = OrganisationFactory(name="河北省人民政府办公厅", node_code="node-a")
cities = [OrganisationFactory(name=n + "市人民政府", node_code="node-b" if i %% 2 == 0 else "node-a")
          for i, n in enumerate(json.loads(%(cities)r))]
extra = [OrganisationFactory(name="单位%%d" %% i, node_code="node-b") for i in range(%(extra)d)]
pki.do_init_hierarchy(acting=acting)
pki.do_issue_demo_seals([office, *cities, *extra], acting=acting)
Node.objects.create(code="node-a", operator=office)
Node.objects.create(code="node-b", operator=cities[0])
print(json.dumps({"office": office.code, "cities": [c.code for c in cities],
                  "remote": [c.code for c in cities if c.node_code == "node-b"],
                  "extra": [c.code for c in extra]}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(var_dir: Path, db: Path, node: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EGOV_", "DATABASE_URL", "DJANGO_", "PYTEST"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="egov.exchange.tests.node_settings",
        DATABASE_URL=f"sqlite:///{db}",
        EGOV_VAR_DIR=str(var_dir),
        EGOV_EXCHANGE_DIR=str(var_dir / "exchange"),
        EGOV_NODE_CODE=node,
        EGOV_PKI_KEK=KEK,
        EGOV_EXCHANGE_RETRY_BASE_SECONDS="0",
        EGOV_EXCHANGE_MAX_ATTEMPTS="1000",
        EGOV_EXCHANGE_LEASE_SECONDS="0",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def prepare_template(directory: Path, *, extra: int = 0, database_url: str = "") -> dict[str, Any]:
    """Migrate one database and create the organisations, CA and seals; returns their codes."""
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "template.sqlite3"
    env = base_env(directory, db, NODE_A)
    if database_url:
        env["DATABASE_URL"] = database_url
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    code = SETUP % {"cities": json.dumps(CITIES, ensure_ascii=False), "extra": extra}
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


class NodeProcess:
    """One node: its database file, its directory, its server process."""

    def __init__(self, name: str, directory: Path, template: Path | None, **env: str):
        self.name = name
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = directory / f"{name}.sqlite3"
        if template is not None:
            for suffix in ("", "-wal", "-shm"):  # a WAL not yet checkpointed travels along
                if Path(f"{template}{suffix}").exists():
                    shutil.copy(f"{template}{suffix}", f"{self.db}{suffix}")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = base_env(directory, self.db, name, **env)
        self.server: subprocess.Popen[bytes] | None = None

    def manage(
        self, *args: str, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            check=False,
            timeout=600,
            capture_output=True,
            text=True,
        )
        if check and out.returncode != 0:
            raise RuntimeError(
                f"{self.name}: manage.py {args[:2]} exited {out.returncode}:\n{out.stderr[-3000:]}"
            )
        return out

    def shell(self, code: str, **env: str) -> Any:
        out = self.manage("shell", "-v", "0", "-c", code, **env).stdout.strip().splitlines()
        return json.loads(out[-1]) if out else None

    def start(self, workers: int = 1, threads: int = 4, **env: str) -> None:
        self.stop()
        self.server = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "egov.wsgi:application",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except OSError:
                if self.server.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start") from None
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=10)
        self.server = None

    def alive(self) -> bool:
        return self.server is not None and self.server.poll() is None
