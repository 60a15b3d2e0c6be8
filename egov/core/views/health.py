"""`/healthz`: is this node able to serve? Database, task queue and storage, as JSON.

200 when every check passes, 503 otherwise; never cached; no login. The answer names each
check and, when one fails, only the kind of error — never hosts, paths, user names or
passwords, which go to the structured log instead.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger("egov.health")

PROBE_BYTES = b"egov healthz probe"
REDIS_TIMEOUT_SECONDS = 2.0


def check_database() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_task_queue() -> str:
    """The queue's backend is reachable: Redis answers, or the task table can be read."""
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    if settings.REDIS_URL:
        import django_rq

        redis = django_rq.get_connection("default")
        pool_kwargs = getattr(getattr(redis, "connection_pool", None), "connection_kwargs", None)
        if isinstance(pool_kwargs, dict):  # never hang the probe on an unreachable Redis
            pool_kwargs.setdefault("socket_connect_timeout", REDIS_TIMEOUT_SECONDS)
            pool_kwargs.setdefault("socket_timeout", REDIS_TIMEOUT_SECONDS)
        if not redis.ping():
            raise ConnectionError("redis did not answer PING")
        return "rq"
    if backend.startswith("django_tasks_db."):
        from django_tasks_db.models import DBTaskResult

        list(DBTaskResult.objects.order_by().values_list("id", flat=True)[:1])
        return "database"
    return backend.rsplit(".", 1)[-1].lower() or "none"  # e.g. the immediate backend in tests


def check_storage() -> str:
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(PROBE_BYTES))
    try:
        with default_storage.open(name, "rb") as stored:
            if stored.read() != PROBE_BYTES:
                raise OSError("storage returned different bytes")
    finally:
        default_storage.delete(name)
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "task_queue": check_task_queue,
    "storage": check_storage,
}


def _run(name: str, check: Callable[[], str]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as error:
        logger.exception("health check failed", extra={"check": name})
        return {
            "ok": False,
            "error": type(error).__name__,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    return {"ok": True, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {name: _run(name, check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )


urlpatterns = [path("healthz", healthz, name="healthz")]
