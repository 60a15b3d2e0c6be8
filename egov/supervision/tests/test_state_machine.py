"""The task state machine: every allowed and every refused transition."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
import time_machine

from egov.core.errors import InvalidTransition, NotPermitted
from egov.supervision import services
from egov.supervision.choices import TaskState
from egov.supervision.models import SupervisionTask
from egov.supervision.tests.factories import SupervisionTaskFactory

TZ = ZoneInfo("Asia/Shanghai")
EXPECTED = {
    "approve": ({"registered"}, "approved"),
    "assign": ({"approved", "returned"}, "assigned"),
    "acknowledge": ({"assigned", "in_progress"}, None),
    "return": ({"assigned"}, None),
    "report": ({"in_progress"}, None),
    "apply_close": ({"in_progress"}, "closing"),
    "review_pass": ({"closing"}, "done"),
    "review_back": ({"closing"}, "in_progress"),
    "archive": ({"done"}, "archived"),
    "request_extension": ({"assigned", "in_progress"}, None),
    "decide_extension": ({"assigned", "in_progress", "closing"}, None),
    "urge": ({"assigned", "in_progress"}, None),
}
CASES = [(action, state) for action in EXPECTED for state in TaskState.values]


def test_the_table_is_what_the_design_says():
    assert {a: (set(s), t) for a, (s, t) in services.TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("action", "state"), CASES)
def test_every_transition_is_allowed_or_refused(action, state):
    task = SupervisionTask(state=state)
    allowed, target = EXPECTED[action]
    if state in allowed:
        assert services.check_transition(task, action) == (target or state)
    else:
        with pytest.raises(InvalidTransition):
            services.check_transition(task, action)


def test_allowed_actions_lists_the_table():
    assert services.allowed_actions(SupervisionTask(state="closing")) == {
        "review_pass",
        "review_back",
        "decide_extension",
    }


@time_machine.travel(date(2026, 3, 2), tick=False)
def test_the_whole_flow_through_the_services(world):
    a = world.acting
    task = world.register(date(2026, 4, 30))
    assert task.state == TaskState.REGISTERED
    services.do_approve_task(task, acting=a(world.leader))
    services.do_assign_task(
        task, lead_unit=world.city_a, co_units=[world.city_b], acting=a(world.supervisor)
    )
    task.refresh_from_db()
    assert task.state == TaskState.ASSIGNED
    services.do_acknowledge_task(task, acting=a(world.handler_b))  # a co-unit signs first
    task.refresh_from_db()
    assert task.state == TaskState.ASSIGNED
    services.do_acknowledge_task(task, acting=a(world.clerk_a))  # the lead unit's clerk
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS
    services.do_report_progress(task, text="进展", percent=40, acting=a(world.handler_a))
    services.do_report_progress(task, text="会办进展", percent=10, acting=a(world.handler_b))
    task.refresh_from_db()
    assert task.progress == 40  # the lead unit's figure
    services.do_apply_close(task, evidence="已完成", acting=a(world.handler_a))
    services.do_review_task(task, passed=False, reason="材料不全", acting=a(world.supervisor))
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS
    services.do_apply_close(task, evidence="补充材料", acting=a(world.handler_a))
    services.do_review_task(task, passed=True, quality_score=90, acting=a(world.supervisor))
    task.refresh_from_db()
    assert (task.state, task.completed_on_time, task.closed_on) == (
        TaskState.DONE,
        True,
        date(2026, 3, 2),
    )
    services.do_archive_task(task, acting=a(world.supervisor))
    task.refresh_from_db()
    assert task.state == TaskState.ARCHIVED
    kinds = list(task.events.values_list("kind", flat=True))
    assert kinds[0] == "register" and kinds[-1] == "archive"


@time_machine.travel(date(2026, 3, 2), tick=False)
def test_a_refused_transition_changes_nothing(world):
    task = world.register(date(2026, 4, 30))
    with pytest.raises(InvalidTransition):
        services.do_apply_close(task, evidence="x", acting=world.acting(world.handler_a))
    with pytest.raises(InvalidTransition):
        services.do_assign_task(task, lead_unit=world.city_a, acting=world.acting(world.supervisor))
    task.refresh_from_db()
    assert task.state == TaskState.REGISTERED
    assert not task.units.exists()
    assert list(task.events.values_list("kind", flat=True)) == ["register"]


@time_machine.travel(date(2026, 3, 2), tick=False)
def test_return_sends_the_task_back_to_be_assigned_again(world):
    a = world.acting
    task = world.register(date(2026, 4, 30))
    services.do_approve_task(task, acting=a(world.supervisor))
    services.do_assign_task(task, lead_unit=world.city_b, acting=a(world.supervisor))
    services.do_return_task(task, reason="不属于本单位职责", acting=a(world.handler_b))
    task.refresh_from_db()
    assert task.state == TaskState.RETURNED
    assert task.units.get().return_reason == "不属于本单位职责"
    services.do_assign_task(task, lead_unit=world.city_a, acting=a(world.supervisor))
    task.refresh_from_db()
    assert task.state == TaskState.ASSIGNED and task.lead_unit == world.city_a


@time_machine.travel(date(2026, 3, 2), tick=False)
def test_a_co_unit_return_leaves_the_task_with_the_lead(world):
    a = world.acting
    task = world.register(date(2026, 4, 30))
    services.do_approve_task(task, acting=a(world.supervisor))
    services.do_assign_task(
        task, lead_unit=world.city_a, co_units=[world.city_b], acting=a(world.supervisor)
    )
    services.do_return_task(task, reason="无关", acting=a(world.handler_b))
    task.refresh_from_db()
    assert task.state == TaskState.ASSIGNED


@time_machine.travel(date(2026, 3, 2), tick=False)
def test_who_may_act_at_each_step(world):
    a = world.acting
    task = world.register(date(2026, 4, 30))
    with pytest.raises(NotPermitted):
        services.do_approve_task(task, acting=a(world.handler_a))
    with pytest.raises(NotPermitted):
        services.do_approve_task(task, acting=a(world.other_supervisor))
    services.do_approve_task(task, acting=a(world.leader))
    with pytest.raises(NotPermitted):  # a leader approves but does not assign
        services.do_assign_task(task, lead_unit=world.city_a, acting=a(world.leader))
    services.do_assign_task(task, lead_unit=world.city_a, acting=a(world.supervisor))
    with pytest.raises(NotPermitted):  # not one of the task's units
        services.do_acknowledge_task(task, acting=a(world.handler_b))
    services.do_acknowledge_task(task, acting=a(world.handler_a))
    with pytest.raises(NotPermitted):  # a clerk signs for, but a handler reports
        services.do_report_progress(task, text="x", percent=1, acting=a(world.clerk_a))
    with pytest.raises(NotPermitted):
        services.do_urge_task(task, text="快", acting=a(world.handler_a))
    with pytest.raises(NotPermitted):  # only the lead unit applies to close
        services.do_apply_close(task, evidence="x", acting=a(world.handler_b))
    services.do_apply_close(task, evidence="x", acting=a(world.handler_a))
    with pytest.raises(NotPermitted):
        services.do_review_task(task, passed=True, quality_score=1, acting=a(world.handler_a))


@time_machine.travel(date(2026, 3, 2), tick=False)
def test_a_factory_task_state_is_enough_for_the_table(world):
    task = SupervisionTaskFactory(office=world.office, state=TaskState.DONE)
    with pytest.raises(InvalidTransition):
        services.do_urge_task(task, text="快", acting=world.acting(world.supervisor))
