"""Bad input to the services: a clear refusal naming the field, and nothing changed."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from egov.core.errors import DomainError, NotPermitted
from egov.supervision import services
from egov.supervision.choices import ExtensionState, TaskSource, TaskState
from egov.supervision.models import ExtensionRequest, SupervisionTask

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def refused(field: str, fn, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        fn(*args, **kwargs)
    assert info.value.field == field, info.value
    return info.value


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("deadline", {"deadline": date(2026, 3, 1)}),
        ("deadline", {"deadline": date(2026, 3, 2)}),
        ("deadline", {"deadline": date(2036, 1, 1)}),
        ("title", {"title": "   "}),
        ("quality_standard", {"quality_standard": ""}),
        ("responsible_leader", {"responsible_leader": ""}),
        ("responsible_person", {"responsible_person": " "}),
        ("source", {"source": "rumour"}),
        ("report_cycle", {"report_cycle": "hourly"}),
        ("report_day", {"report_day": 0}),
        ("sign_in_days", {"sign_in_days": 99}),
        ("source_reference", {"source": TaskSource.KEY_DOCUMENT, "source_reference": ""}),
    ],
)
def test_register_refuses_bad_input(world, field, changes):
    refused(field, world.register, **{"deadline": date(2026, 4, 30), **changes})
    assert not SupervisionTask.objects.exists()


def test_only_a_supervisor_of_the_office_registers(world):
    with pytest.raises(NotPermitted):
        services.do_register_task(
            office=world.office,
            title="x",
            source=TaskSource.OTHER,
            requirement="x",
            quality_standard="x",
            responsible_leader="x",
            responsible_person="x",
            deadline=date(2026, 4, 30),
            acting=world.acting(world.other_supervisor),
        )


def test_assign_refuses_units_outside_the_scope_and_duplicates(world):
    task = world.register(date(2026, 4, 30))
    services.do_approve_task(task, acting=world.acting(world.leader))
    sup = world.acting(world.supervisor)
    refused("lead_unit", services.do_assign_task, task, lead_unit=world.outside, acting=sup)
    refused(
        "co_units",
        services.do_assign_task,
        task,
        lead_unit=world.city_a,
        co_units=[world.outside],
        acting=sup,
    )
    refused(
        "co_units",
        services.do_assign_task,
        task,
        lead_unit=world.city_a,
        co_units=[world.city_a],
        acting=sup,
    )
    refused(
        "co_units",
        services.do_assign_task,
        task,
        lead_unit=world.city_a,
        co_units=[world.city_b, world.city_b],
        acting=sup,
    )
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED and not task.units.exists()


def test_report_refuses_bad_input_and_other_units(world):
    task = world.in_progress(date(2026, 4, 30), co=False)
    h = world.acting(world.handler_a)
    refused("text", services.do_report_progress, task, text=" ", percent=10, acting=h)
    refused("percent", services.do_report_progress, task, text="x", percent=101, acting=h)
    refused("percent", services.do_report_progress, task, text="x", percent=-1, acting=h)
    with pytest.raises(NotPermitted):  # a unit that does not hold the task
        services.do_report_progress(task, text="x", percent=5, acting=world.acting(world.handler_b))
    assert not task.reports.exists()


def test_closing_with_open_subtasks_is_refused(world):
    parent = world.in_progress(date(2026, 4, 30))
    world.register(date(2026, 4, 15), parent=parent, title="子任务")
    refused(
        "subtasks",
        services.do_apply_close,
        parent,
        evidence="完成",
        acting=world.acting(world.handler_a),
    )
    parent.refresh_from_db()
    assert parent.state == TaskState.IN_PROGRESS
    refused(
        "evidence",
        services.do_apply_close,
        parent,
        evidence="",
        acting=world.acting(world.handler_a),
    )


def test_subtask_rules(world):
    parent = world.in_progress(date(2026, 4, 30))
    refused("deadline", world.register, date(2026, 5, 15), parent=parent)


def test_review_needs_a_score_a_satisfaction_for_proposals_and_a_reason_to_send_back(world):
    task = world.in_progress(date(2026, 4, 30), source=TaskSource.CPPCC_PROPOSAL)
    services.do_apply_close(task, evidence="已答复", acting=world.acting(world.handler_a))
    sup = world.acting(world.supervisor)
    refused("quality_score", services.do_review_task, task, passed=True, acting=sup)
    refused(
        "quality_score", services.do_review_task, task, passed=True, quality_score=101, acting=sup
    )
    refused(
        "satisfaction", services.do_review_task, task, passed=True, quality_score=80, acting=sup
    )
    refused(
        "satisfaction",
        services.do_review_task,
        task,
        passed=True,
        quality_score=80,
        satisfaction="ecstatic",
        acting=sup,
    )
    refused("reason", services.do_review_task, task, passed=False, reason=" ", acting=sup)
    task.refresh_from_db()
    assert task.state == TaskState.CLOSING
    services.do_review_task(
        task, passed=True, quality_score=80, satisfaction="satisfied", acting=sup
    )


def test_extension_limits(world):
    task = world.in_progress(date(2026, 4, 30))
    h = world.acting(world.handler_a)
    refused(
        "reason",
        services.do_request_extension,
        task,
        new_deadline=date(2026, 5, 8),
        reason="",
        acting=h,
    )
    refused(
        "new_deadline",
        services.do_request_extension,
        task,
        new_deadline=date(2026, 4, 30),
        reason="x",
        acting=h,
    )
    refused(
        "new_deadline",
        services.do_request_extension,
        task,
        new_deadline=date(2026, 12, 31),
        reason="x",
        acting=h,
    )
    refused(
        "new_deadline",
        services.do_request_extension,
        task,
        new_deadline=date(9999, 12, 31),
        reason="x",
        acting=h,
    )
    ext = services.do_request_extension(task, new_deadline=date(2026, 5, 15), reason="x", acting=h)
    refused(
        "new_deadline",
        services.do_request_extension,
        task,
        new_deadline=date(2026, 5, 20),
        reason="x",
        acting=h,
    )
    with pytest.raises(NotPermitted):  # co-units do not ask for extensions
        services.do_request_extension(
            task, new_deadline=date(2026, 5, 20), reason="x", acting=world.acting(world.handler_b)
        )
    services.do_decide_extension(
        ext, approve=False, note="不同意", acting=world.acting(world.supervisor)
    )
    with pytest.raises(DomainError):
        services.do_decide_extension(ext, approve=True, acting=world.acting(world.supervisor))
    task.refresh_from_db()
    assert task.deadline == date(2026, 4, 30)
    assert ExtensionRequest.objects.get().state == ExtensionState.REFUSED


def test_return_and_urge_need_text(world):
    task = world.register(date(2026, 4, 30))
    services.do_approve_task(task, acting=world.acting(world.leader))
    services.do_assign_task(task, lead_unit=world.city_a, acting=world.acting(world.supervisor))
    refused(
        "reason", services.do_return_task, task, reason=" ", acting=world.acting(world.handler_a)
    )
    refused("text", services.do_urge_task, task, text="", acting=world.acting(world.supervisor))


def test_every_step_is_audited(world):
    from egov.core.models import AuditEvent

    world.in_progress(date(2026, 4, 30))
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "supervision.task.register",
        "supervision.task.approve",
        "supervision.task.assign",
        "supervision.task.acknowledge",
    } <= actions
