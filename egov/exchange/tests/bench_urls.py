"""The benchmark's baseline: a plain HTTP POST whose body is stored in the same database (one
row: SHA-256, size and the bytes), answered with a short JSON — no envelope, no signature."""

from __future__ import annotations

import hashlib

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_exchange_baseline"


@csrf_exempt
def baseline(request: HttpRequest) -> HttpResponse:
    body = request.read()
    digest = hashlib.sha256(body).hexdigest()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (sha256, size, body) VALUES (%s, %s, %s)",  # noqa: S608
            [digest, len(body), body],
        )
    return JsonResponse({"sha256": digest})


urlpatterns = [path("bench/baseline", baseline), path("", include("egov.urls"))]
