"""The notification inbox and the delivery preferences page."""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factory.django import DjangoModelFactory

from egov.core.choices import NotificationChannel
from egov.core.models import AuditEvent, Notification, NotificationPreference
from egov.core.notifications import register_notification_kind
from egov.orgs.models import User
from egov.orgs.tests.factories import UserFactory, make_member

pytestmark = pytest.mark.django_db
LIST = "/core/notifications/"
PREFS = "/core/notifications/preferences/"
READ_ALL = "/core/notifications/read-all/"

register_notification_kind(
    "test.views", "View test kind", default_channels=(NotificationChannel.EMAIL,)
)


class NotificationFactory(DjangoModelFactory[Notification]):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = "test.views"
    title = factory.Sequence(lambda n: f"通知{n}")
    body = ""
    url = "/core/notifications/"
    read_at = None


@pytest.fixture
def clerk() -> User:
    return make_member(None, "clerk")


@pytest.fixture
def clerk_client(client: Client, clerk: User) -> Client:
    client.force_login(clerk)
    return client


def open_url(n: Notification) -> str:
    return f"/core/notifications/{n.uuid}/open/"


def test_urls() -> None:
    assert reverse("core:notification_list") == LIST
    assert reverse("core:notification_preferences") == PREFS
    assert reverse("core:notification_read_all") == READ_ALL
    u = uuid.uuid4()
    assert reverse("core:notification_open", args=[u]) == f"/core/notifications/{u}/open/"


def test_anonymous_is_sent_to_log_in(client: Client) -> None:
    for url in (LIST, PREFS):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]
    assert client.post(READ_ALL).status_code == 302


def test_inbox_lists_my_notifications_unread_first(clerk_client: Client, clerk: User) -> None:
    now = timezone.now()
    old_unread = NotificationFactory.create(recipient=clerk)
    new_read = NotificationFactory.create(recipient=clerk, read_at=now)
    newer_unread = NotificationFactory.create(recipient=clerk)
    Notification.objects.filter(pk=old_unread.pk).update(created_at=now - timedelta(days=2))
    NotificationFactory.create()  # someone else's
    response = clerk_client.get(LIST)
    assert response.status_code == 200
    listed = [n.pk for n in response.context["page"].object_list]
    assert listed == [newer_unread.pk, old_unread.pk, new_read.pk]
    assert b'data-testid="read-all"' in response.content


def test_open_marks_read_and_redirects_to_a_local_path(clerk_client: Client, clerk: User) -> None:
    n = NotificationFactory.create(recipient=clerk, url="/core/calendar/?year=2027")
    response = clerk_client.get(open_url(n))
    assert response.status_code == 302
    assert response["Location"] == "/core/calendar/?year=2027"
    n.refresh_from_db()
    assert n.read_at is not None
    assert AuditEvent.objects.filter(action="core.notification.read").count() == 1
    # Opening again does not write again.
    clerk_client.get(open_url(n))
    assert AuditEvent.objects.filter(action="core.notification.read").count() == 1


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_open_never_redirects_off_site(clerk_client: Client, clerk: User, url: str) -> None:
    n = NotificationFactory.create(recipient=clerk, url=url)
    response = clerk_client.get(open_url(n))
    assert response.status_code == 302
    assert response["Location"] == LIST


def test_open_someone_elses_or_a_bad_id_is_404(clerk_client: Client) -> None:
    theirs = NotificationFactory.create()
    assert clerk_client.get(open_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert clerk_client.get(f"/core/notifications/{uuid.uuid4()}/open/").status_code == 404
    assert clerk_client.get("/core/notifications/not-a-uuid/open/").status_code == 404


def test_read_all(clerk_client: Client, clerk: User) -> None:
    NotificationFactory.create_batch(3, recipient=clerk)
    theirs = NotificationFactory.create()
    assert clerk_client.get(READ_ALL).status_code == 405
    response = clerk_client.post(READ_ALL)
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=clerk, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_paging_is_forgiving(clerk_client: Client, clerk: User) -> None:
    NotificationFactory.create_batch(35, recipient=clerk)
    for page in ("2", "abc", "-1", "99999", "1" * 50):
        assert clerk_client.get(LIST, {"page": page}).status_code == 200
    assert len(clerk_client.get(LIST, {"page": "2"}).context["page"].object_list) == 5


def test_inbox_queries_do_not_grow_with_rows(clerk_client: Client, clerk: User) -> None:
    NotificationFactory.create_batch(2, recipient=clerk)
    clerk_client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        clerk_client.get(LIST)
    NotificationFactory.create_batch(40, recipient=clerk)
    with CaptureQueriesContext(connection) as many:
        clerk_client.get(LIST)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_preferences_page_shows_defaults_and_saves(clerk_client: Client, clerk: User) -> None:
    response = clerk_client.get(PREFS)
    assert response.status_code == 200
    rows = {row["kind"].code: row for row in response.context["rows"]}
    cells = {c["channel"]: c["checked"] for c in rows["test.views"]["cells"]}
    assert cells == {"email": True, "sms": False}

    response = clerk_client.post(
        PREFS,
        {"pref:test.views:sms": "on", "pref:unknown.kind:email": "on", "pref:test.views:fax": "on"},
    )
    assert response.status_code == 302
    prefs = {
        (p.kind, p.channel): p.enabled
        for p in NotificationPreference.objects.filter(user=clerk, kind="test.views")
    }
    assert prefs == {("test.views", "email"): False, ("test.views", "sms"): True}
    assert not NotificationPreference.objects.filter(kind="unknown.kind").exists()
    response = clerk_client.get(PREFS)
    rows = {row["kind"].code: row for row in response.context["rows"]}
    assert {c["channel"]: c["checked"] for c in rows["test.views"]["cells"]} == {
        "email": False,
        "sms": True,
    }


def test_preferences_are_per_user(clerk_client: Client, clerk: User) -> None:
    other = UserFactory.create()
    clerk_client.post(PREFS, {})
    assert not NotificationPreference.objects.filter(user=other).exists()
    assert NotificationPreference.objects.filter(user=clerk, enabled=False).exists()


def test_preferences_page_queries_are_constant(clerk_client: Client) -> None:
    clerk_client.get(PREFS)
    with CaptureQueriesContext(connection) as first:
        clerk_client.get(PREFS)
    register_notification_kind("test.views_extra", "Extra", default_channels=())
    with CaptureQueriesContext(connection) as second:
        clerk_client.get(PREFS)
    assert len(second.captured_queries) == len(first.captured_queries)


def test_read_all_button_only_with_unread(clerk_client: Client, clerk: User) -> None:
    NotificationFactory.create(recipient=clerk, read_at=timezone.now())
    response = clerk_client.get(LIST)
    assert response.context["unread_total"] == 0
    assert b'data-testid="read-all"' not in response.content


def test_oversized_preferences_post_is_refused(clerk_client: Client, clerk: User) -> None:
    data = {f"pref:test.views:x{i}": "on" for i in range(2500)}
    response = clerk_client.post(PREFS, data)
    assert response.status_code == 400
    assert not NotificationPreference.objects.filter(user=clerk).exists()
