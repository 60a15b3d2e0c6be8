"""发文字号: unique per agency code and year, gap-free, correct under concurrent registration."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction

from egov.documents import services
from egov.documents.models import OutgoingDocument
from egov.documents.tests.factories import World, acting, draft, to_signed_off


def test_number_format() -> None:
    assert services.format_number("冀政办发", 2026, 9) == "冀政办发〔2026〕9号"


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_unique_gap_free_numbers(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row lock matters on PostgreSQL")
    w = world
    docs = []
    for _ in range(16):
        doc = to_signed_off(w, draft(w))
        docs.append(services.do_recheck(doc, acting=acting(w.clerk)))
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def register(chunk: list[Any], fail_one: bool) -> None:
        try:
            barrier.wait(timeout=30)
            for i, doc in enumerate(chunk):
                if fail_one and i == 0:
                    # A registration that rolls back (a crash after numbering) leaves no gap.
                    try:
                        with transaction.atomic():
                            services.do_register(doc, acting=acting(w.clerk))
                            raise RuntimeError("crash after numbering")
                    except RuntimeError:
                        pass
                services.do_register(doc, acting=acting(w.clerk))
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=register, args=(docs[i::8], i % 3 == 0)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    serials = sorted(s or 0 for s in OutgoingDocument.objects.values_list("serial", flat=True))
    assert serials == list(range(1, 17))
    numbers = set(OutgoingDocument.objects.values_list("number", flat=True))
    assert len(numbers) == 16
