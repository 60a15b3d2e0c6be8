"""To-dos: what waits for each person, with due dates and deadline states, in constant queries."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from egov.core.todos import todo_providers
from egov.supervision import services
from egov.supervision.todos import SupervisionTodoProvider

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
provider = SupervisionTodoProvider()

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def kinds(user) -> list[tuple[str, str]]:
    return sorted((i.kind, i.state) for i in provider.items_for(user, 50))


def test_the_provider_is_registered():
    assert "supervision" in {p.subsystem for p in todo_providers()}


def test_each_person_sees_their_step(world):
    a = world.acting
    task = world.register(date(2026, 3, 4))  # two working days away: due soon
    assert kinds(world.leader) == [("approve", "due_soon")]
    assert kinds(world.supervisor) == [("approve", "due_soon")]
    assert kinds(world.handler_a) == []
    services.do_approve_task(task, acting=a(world.leader))
    assert kinds(world.supervisor) == [("assign", "due_soon")]
    services.do_assign_task(task, lead_unit=world.city_a, acting=a(world.supervisor))
    assert kinds(world.clerk_a) == [("acknowledge", "due_soon")]
    assert kinds(world.handler_a) == [("acknowledge", "due_soon")]
    assert provider.count_for(world.handler_b) == 0
    services.do_acknowledge_task(task, acting=a(world.clerk_a))
    assert kinds(world.clerk_a) == []
    assert kinds(world.handler_a) == [("report", "due_soon")]
    services.do_request_extension(
        task, new_deadline=date(2026, 3, 20), reason="x", acting=a(world.handler_a)
    )
    assert ("decide_extension", "due_soon") in kinds(world.leader)
    services.do_apply_close(task, evidence="完成", acting=a(world.handler_a))
    assert ("review", "due_soon") in kinds(world.supervisor)
    assert provider.count_for(world.supervisor) == 2  # review and the pending extension
    items = provider.items_for(world.supervisor, 10)
    assert all(i.url == task.get_absolute_url() and i.due_at is not None for i in items)


def test_overdue_items_are_marked_overdue(world):
    task = world.in_progress(date(2026, 3, 4))
    with time_machine.travel(datetime(2026, 3, 5, 9, 0, tzinfo=TZ), tick=False):
        items = provider.items_for(world.handler_a, 10)
    assert [(i.kind, i.state, i.object_id) for i in items] == [
        ("report", "overdue", str(task.uuid))
    ]


def test_constant_queries(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for _ in range(2):
        for _i in range(4):
            world.in_progress(date(2026, 4, 30))
        world.supervisor.__dict__.pop("_supervision_positions", None)
        with CaptureQueriesContext(connection) as ctx:
            provider.items_for(world.handler_a, 50)
            provider.count_for(world.handler_a)
        counts.append(len(ctx.captured_queries))
        world.handler_a.__dict__.pop("_supervision_positions", None)
    assert counts[0] == counts[1]
