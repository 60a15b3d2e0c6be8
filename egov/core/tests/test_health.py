"""/healthz: database, task queue and storage; 200 or 503; no login; nothing secret."""

from __future__ import annotations

import json

import django_rq
import pytest
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.urls import reverse

from egov.core.models import AuditEvent
from egov.core.views import health

pytestmark = pytest.mark.django_db

SECRET = "s3cret-password@10.9.8.7"


def test_healthz_is_mounted_at_the_root():
    assert reverse("healthz") == "/healthz"


def test_all_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "task_queue", "storage"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "no-cache" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]
    assert not AuditEvent.objects.exists()


def test_head_is_answered(client):
    assert client.head("/healthz").status_code == 200


def test_post_is_refused(client):
    assert client.post("/healthz").status_code == 405


def test_storage_probe_leaves_nothing_behind(client):
    before = default_storage.listdir("healthz")[1] if default_storage.exists("healthz") else []
    client.get("/healthz")
    after = default_storage.listdir("healthz")[1] if default_storage.exists("healthz") else []
    assert after == before


def test_database_backend_queue_reads_the_task_table(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.REDIS_URL = ""
    assert health.check_task_queue() == "database"


def _fail(*args, **kwargs):
    raise OperationalError(f"connection to server at {SECRET} failed")


@pytest.mark.parametrize("check", ["database", "task_queue", "storage"])
def test_a_failing_check_gives_503_without_secrets(client, monkeypatch, check):
    monkeypatch.setitem(health.CHECKS, check, _fail)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"][check] == {
        "ok": False,
        "error": "OperationalError",
        "ms": body["checks"][check]["ms"],
    }
    assert SECRET not in json.dumps(body)
    assert "10.9.8.7" not in response.content.decode()


def test_storage_returning_other_bytes_fails(monkeypatch):
    class Liar:
        def read(self):
            return b"not what was written"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(default_storage, "open", lambda *a, **k: Liar())
    with pytest.raises(OSError, match="different"):
        health.check_storage()


class FakeRedis:
    def __init__(self, answer):
        self.answer = answer

    def ping(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_rq_queue_pings_redis(settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:6399/0"
    calls: list[str] = []

    def get_connection(name: str) -> FakeRedis:
        calls.append(name)
        return FakeRedis(True)

    monkeypatch.setattr(django_rq, "get_connection", get_connection)
    assert health.check_task_queue() == "rq"
    assert calls == ["default"]


def test_unreachable_redis_is_a_503(client, settings, monkeypatch):
    settings.REDIS_URL = f"redis://:{SECRET}/0"
    monkeypatch.setattr(
        django_rq, "get_connection", lambda name: FakeRedis(ConnectionError(SECRET))
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["task_queue"]["error"] == "ConnectionError"
    assert SECRET not in response.content.decode()
