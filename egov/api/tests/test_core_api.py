"""`/todos`, `/notifications`, `/calendar`, `/audit/events` through the API."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest
from django.utils import timezone
from django.utils.functional import Promise

from egov.api.testing import ApiClient, bearer_for
from egov.api.tests.factories import NotificationFactory
from egov.core import calendar, todos
from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.choices import DeadlineState
from egov.core.models import Notification
from egov.orgs.choices import Role
from egov.orgs.tests.factories import make_member


class FakeProvider:
    subsystem = "documents"
    label: str | Promise = "公文"

    def __init__(self, n: int) -> None:
        self.n = n

    def count_for(self, user):
        return self.n

    def items_for(self, user, limit):
        now = timezone.now()
        return [
            todos.TodoItem(
                subsystem=self.subsystem,
                kind="sign_off",
                title=f"待签发{i}",
                url=f"/documents/{i}",
                created_at=now - timedelta(days=i),
                due_at=now + timedelta(days=i - 1),
                state=DeadlineState.OVERDUE if i == 0 else DeadlineState.ON_TIME,
            )
            for i in range(min(self.n, limit))
        ]


@pytest.fixture
def fake_todos(monkeypatch):
    monkeypatch.setattr(todos, "_providers", {})
    todos.register_todo_provider(FakeProvider(3))


def test_todos(clerk_client, fake_todos):
    body = clerk_client.get("/api/v1/todos").json()
    assert body["count"] == 3
    assert body["summaries"] == [{"subsystem": "documents", "label": "公文", "count": 3}]
    assert body["items"][0]["state"] == "overdue"
    assert len(clerk_client.get("/api/v1/todos", {"limit": 2}).json()["items"]) == 2
    assert clerk_client.get("/api/v1/todos", {"subsystem": "duty"}).json()["items"] == []
    assert clerk_client.get("/api/v1/todos", {"limit": 1000}).status_code == 422


def test_notifications(clerk_client, clerk, sysadmin):
    mine = NotificationFactory.create_batch(3, recipient=clerk)
    theirs = NotificationFactory.create(recipient=sysadmin)
    listed = clerk_client.get("/api/v1/notifications").json()
    assert listed["count"] == 3
    assert theirs.uuid not in {n["uuid"] for n in listed["items"]}

    response = clerk_client.post(f"/api/v1/notifications/{mine[0].uuid}/read")
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    assert clerk_client.get("/api/v1/notifications", {"unread": "true"}).json()["count"] == 2
    assert clerk_client.get("/api/v1/notifications", {"unread": "false"}).json()["count"] == 1

    # Another user's notification: 404 and untouched.
    assert clerk_client.post(f"/api/v1/notifications/{theirs.uuid}/read").status_code == 404
    assert clerk_client.post(f"/api/v1/notifications/{uuid4()}/read").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None

    response = clerk_client.post("/api/v1/notifications/read-all")
    assert response.json() == {"changed": 2}
    assert not Notification.objects.filter(recipient=clerk, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=sysadmin, read_at__isnull=True).exists()


def test_calendar(clerk_client):
    start = date(2026, 9, 30)
    response = clerk_client.get("/api/v1/calendar/working-days", {"start": start, "days": 3})
    assert response.status_code == 200
    assert response.json()["date"] == calendar.add_working_days(start, 3).isoformat()
    response = clerk_client.get(
        "/api/v1/calendar/days-between", {"start": start, "end": "2026-10-12"}
    )
    assert response.json()["working_days"] == calendar.working_days_between(
        start, date(2026, 10, 12)
    )


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/calendar/working-days", {"start": "2026-02-30", "days": 1}, "start"),
        ("/api/v1/calendar/working-days", {"start": "0001-01-01", "days": -5}, "start"),
        ("/api/v1/calendar/working-days", {"start": "2026-01-01", "days": 10**9}, "days"),
        ("/api/v1/calendar/working-days", {"start": "2026-01-01"}, "days"),
        ("/api/v1/calendar/days-between", {"start": "1950-01-01", "end": "2200-01-01"}, "end"),
    ],
)
def test_calendar_bad_input(clerk_client, url, params, field):
    response = clerk_client.get(url, params)
    assert response.status_code in (400, 422)
    assert field in {d["field"] for d in response.json()["details"]}


def test_audit_events_only_for_audit_admins(clerk_client, admin_client, tree, clerk):
    auditor = make_member(tree.province, Role.AUDIT_ADMIN, username="auditor")
    record_audit("test.event", acting=Acting(user=clerk, position=clerk.current_position()))
    assert clerk_client.get("/api/v1/audit/events").status_code == 404
    assert admin_client.get("/api/v1/audit/events").status_code == 404
    client = ApiClient(token=bearer_for(auditor))
    events = client.get("/api/v1/audit/events", {"action": "test.event"}).json()
    assert events["count"] == 1
    assert events["items"][0]["actor_username"] == "clerk"
    assert client.get("/api/v1/audit/events", {"action": "auth."}).json()["count"] >= 1
    assert client.get("/api/v1/audit/events", {"since": "2199-01-01T00:00:00"}).status_code == 200
    assert client.get("/api/v1/audit/events", {"since": "0001-01-01T00:00:00"}).status_code == 400
    # An auditor of another province sees none of these.
    other = make_member(tree.other_province, Role.AUDIT_ADMIN, username="auditor2")
    other_client = ApiClient(token=bearer_for(other))
    assert other_client.get("/api/v1/audit/events", {"action": "test.event"}).json()["count"] == 0
    # Reading the trail is itself on the trail.
    viewed = client.get("/api/v1/audit/events", {"action": "audit.viewed"}).json()
    assert viewed["count"] >= 1
    assert viewed["items"][0]["actor_username"] == "auditor"
