"""The supervision demo: idempotent, needs seed_demo, and leaves a living dashboard and to-dos."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from egov.core.models import AuditEvent, Notification
from egov.core.todos import todos_for
from egov.orgs.models import User
from egov.supervision.choices import ExtensionState, TaskSource, TaskState
from egov.supervision.demo import DEMO_TASKS
from egov.supervision.models import (
    ExtensionRequest,
    ProgressReport,
    Reminder,
    SupervisionTask,
    TaskEvent,
)
from egov.supervision.todos import SupervisionTodoProvider

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "tasks": SupervisionTask.objects.count(),
        "events": TaskEvent.objects.count(),
        "reports": ProgressReport.objects.count(),
        "extensions": ExtensionRequest.objects.count(),
        "reminders": Reminder.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture
def seeded() -> dict[str, int]:
    call_command("seed_demo", "--quiet-logins", stdout=StringIO())
    call_command("seed_supervision_demo", "--quiet-logins", stdout=StringIO())
    return _counts()


def test_second_run_changes_nothing(seeded: dict[str, int]) -> None:
    out = StringIO()
    call_command("seed_supervision_demo", "--quiet-logins", stdout=out)
    assert _counts() == seeded
    assert seeded["tasks"] == len(DEMO_TASKS)


def test_spread_of_states_and_sources(seeded: dict[str, int]) -> None:
    states = set(SupervisionTask.objects.values_list("state", flat=True))
    assert {
        TaskState.REGISTERED,
        TaskState.APPROVED,
        TaskState.ASSIGNED,
        TaskState.IN_PROGRESS,
        TaskState.CLOSING,
        TaskState.DONE,
        TaskState.ARCHIVED,
    } <= states
    sources = set(SupervisionTask.objects.values_list("source", flat=True))
    assert {
        TaskSource.LEADER_INSTRUCTION,
        TaskSource.MEETING_DECISION,
        TaskSource.KEY_DOCUMENT,
        TaskSource.NPC_SUGGESTION,
        TaskSource.CPPCC_PROPOSAL,
    } <= sources
    assert ExtensionRequest.objects.filter(state=ExtensionState.PENDING).count() == 1
    assert AuditEvent.objects.filter(action="supervision.task.register").count() == len(DEMO_TASKS)


def test_dashboard_shows_red_and_blue_for_the_supervisor(
    seeded: dict[str, int], client: Client
) -> None:
    client.force_login(User.objects.get(username="supervisor"))
    response = client.get(reverse("supervision:dashboard"))
    assert response.status_code == 200
    data = response.context["data"]
    assert data.colour_counts["overdue"] >= 1
    assert data.colour_counts["due_soon"] >= 1
    assert len(data.overdue) >= 1 and len(data.due_soon) >= 1
    assert {t.colour for t in data.overdue} == {"overdue"}
    assert "due_soon" in {t.colour for t in data.due_soon}


# Who should find what on their home page after seeding.
EXPECTED_TODOS = {
    "supervisor": {"approve", "assign", "review", "decide_extension"},
    "handler": {"acknowledge", "report"},
    "clerk": {"acknowledge"},
    "sjz_clerk": {"acknowledge"},
    "edu_clerk": {"acknowledge"},
    "sjz_handler": {"acknowledge", "report"},
    "edu_handler": {"acknowledge", "report"},
    "fgw_handler": {"acknowledge", "report"},
}


def test_demo_people_have_todos(seeded: dict[str, int]) -> None:
    provider = SupervisionTodoProvider()
    for user in User.objects.filter(username__in=EXPECTED_TODOS):
        items = provider.items_for(user, 20)
        assert EXPECTED_TODOS[user.username] <= {item.kind for item in items}, user.username
        assert provider.count_for(user) >= 1, user.username
        # …and the home page's to-do centre (every registered provider) shows them.
        home_items, _summaries = todos_for(user)
        assert any(item.subsystem == "supervision" for item in home_items), user.username


def test_needs_seed_demo() -> None:
    with pytest.raises(CommandError):
        call_command("seed_supervision_demo", stdout=StringIO())
    assert SupervisionTask.objects.count() == 0


def test_refused_with_production_settings(settings: object) -> None:
    settings.SETTINGS_MODULE = "egov.settings.prod"  # type: ignore[attr-defined]
    with pytest.raises(CommandError):
        call_command("seed_supervision_demo", stdout=StringIO())
