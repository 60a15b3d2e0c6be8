"""do_notify, kinds, preferences and the core services that change notification state."""

from __future__ import annotations

from unittest import mock

import pytest

from egov.core.acting import Acting
from egov.core.choices import AttemptStatus, NotificationChannel
from egov.core.errors import DomainError
from egov.core.models import AuditEvent, Notification, NotificationAttempt, NotificationPreference
from egov.core.notifications import (
    do_notify,
    get_notification_kind,
    is_local_url,
    notification_kinds,
    register_notification_kind,
    unread_count,
)
from egov.core.services import (
    do_mark_notifications_read,
    do_set_notification_preference,
    do_set_notification_preferences,
)
from egov.orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SYSTEM = Acting.system("test")

TEST_KIND = register_notification_kind(
    "test.both", "Test kind", default_channels=(NotificationChannel.EMAIL, NotificationChannel.SMS)
)
QUIET_KIND = register_notification_kind("test.quiet", "Quiet kind", default_channels=())


def test_registry() -> None:
    codes = [k.code for k in notification_kinds()]
    assert "core.calendar_coverage" in codes
    assert codes == sorted(codes)
    assert get_notification_kind("test.both") == TEST_KIND
    assert get_notification_kind("nope") is None
    with pytest.raises(ValueError):
        register_notification_kind("x.bad", "Bad", default_channels=("fax",))
    with pytest.raises(ValueError):
        register_notification_kind("", "Empty")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("/core/notifications/", True),
        ("/orgs/?q=1", True),
        ("", False),
        ("//evil.example/", False),
        ("/\\evil.example", False),
        ("https://evil.example/", False),
        ("javascript:alert(1)", False),
        ("/a\nb", False),
    ],
)
def test_is_local_url(url: str, ok: bool) -> None:
    assert is_local_url(url) is ok


def test_notify_creates_inbox_rows_and_enqueues_after_commit(
    django_capture_on_commit_callbacks,
) -> None:
    alice, bob = UserFactory.create(), UserFactory.create()
    inactive = UserFactory.create(is_active=False)
    with mock.patch("egov.core.tasks.deliver_notification") as task:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            created = do_notify(
                [alice, bob, alice, inactive],
                kind="test.both",
                title="  Please   sign  ",
                url="/x/",
                acting=SYSTEM,
            )
            assert task.enqueue.call_count == 0  # nothing leaves before the commit
        assert len(created) == 2
        assert {n.recipient_id for n in created} == {alice.pk, bob.pk}
        assert created[0].title == "Please sign"
        for callback in callbacks:
            callback()
    calls = sorted(c.args for c in task.enqueue.call_args_list)
    assert calls == sorted((n.pk, channel) for n in created for channel in ("email", "sms"))
    assert AuditEvent.objects.filter(action="core.notification.send").count() == 1


def test_preferences_and_defaults_choose_channels(django_capture_on_commit_callbacks) -> None:
    alice, bob = UserFactory.create(), UserFactory.create()
    do_set_notification_preference(
        alice.pk, kind="test.both", channel="sms", enabled=False, acting=SYSTEM
    )
    do_set_notification_preference(
        bob.pk, kind="test.quiet", channel="email", enabled=True, acting=SYSTEM
    )
    with (
        mock.patch("egov.core.tasks.deliver_notification") as task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        a = do_notify([alice, bob], kind="test.both", title="t", acting=SYSTEM)
        q = do_notify([alice, bob], kind="test.quiet", title="t", acting=SYSTEM)
    calls = {c.args for c in task.enqueue.call_args_list}
    by_user = {n.recipient_id: n.pk for n in a}
    quiet = {n.recipient_id: n.pk for n in q}
    assert calls == {
        (by_user[alice.pk], "email"),
        (by_user[bob.pk], "email"),
        (by_user[bob.pk], "sms"),
        (quiet[bob.pk], "email"),
    }


def test_a_refused_enqueue_is_recorded_not_raised(django_capture_on_commit_callbacks) -> None:
    alice = UserFactory.create()
    with (
        mock.patch("egov.core.tasks.deliver_notification") as task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        task.enqueue.side_effect = ConnectionError("down")
        (n,) = do_notify([alice], kind="test.both", title="t", acting=SYSTEM)
    attempts = list(NotificationAttempt.objects.filter(notification=n))
    assert {a.channel for a in attempts} == {"email", "sms"}
    assert all(a.status == AttemptStatus.FAILED and "down" in a.error for a in attempts)


def test_notify_refuses_programming_errors() -> None:
    alice = UserFactory.create()
    with pytest.raises(ValueError):
        do_notify([alice], kind="unknown.kind", title="t", acting=SYSTEM)
    with pytest.raises(ValueError):
        do_notify([alice], kind="test.both", title="t", url="https://evil.example/", acting=SYSTEM)
    with pytest.raises(ValueError):
        do_notify([alice], kind="test.both", title="   ", acting=SYSTEM)
    assert do_notify([], kind="test.both", title="t", acting=SYSTEM) == []
    assert not Notification.objects.exists()


def test_notify_query_count_does_not_grow_with_recipients(django_assert_max_num_queries) -> None:
    few = UserFactory.create_batch(2)
    many = UserFactory.create_batch(20)
    with django_assert_max_num_queries(12) as few_ctx:
        do_notify(few, kind="test.both", title="t", acting=SYSTEM)
    with django_assert_max_num_queries(len(few_ctx.captured_queries)):
        do_notify(many, kind="test.both", title="t", acting=SYSTEM)


def test_unread_count_and_mark_read() -> None:
    alice, bob = UserFactory.create(), UserFactory.create()
    mine = do_notify([alice], kind="test.quiet", title="one", acting=SYSTEM)
    do_notify([alice], kind="test.quiet", title="two", acting=SYSTEM)
    theirs = do_notify([bob], kind="test.quiet", title="x", acting=SYSTEM)
    assert unread_count(alice) == 2
    # Someone else's notification id is ignored.
    changed = do_mark_notifications_read(
        alice.pk, notification_ids=[mine[0].pk, theirs[0].pk], acting=SYSTEM
    )
    assert changed == 1
    assert unread_count(alice) == 1
    assert unread_count(bob) == 1
    assert do_mark_notifications_read(alice.pk, acting=SYSTEM) == 1
    assert unread_count(alice) == 0
    assert do_mark_notifications_read(alice.pk, acting=SYSTEM) == 0
    assert AuditEvent.objects.filter(action="core.notification.read").count() == 2


def test_preference_service_validates() -> None:
    alice = UserFactory.create()
    with pytest.raises(DomainError) as exc:
        do_set_notification_preference(
            alice.pk, kind="nope", channel="email", enabled=True, acting=SYSTEM
        )
    assert exc.value.field == "kind"
    with pytest.raises(DomainError) as exc:
        do_set_notification_preference(
            alice.pk, kind="test.both", channel="in_app", enabled=False, acting=SYSTEM
        )
    assert exc.value.field == "channel"
    assert not NotificationPreference.objects.exists()


def test_preferences_update_in_place_and_audit_changes_only() -> None:
    alice = UserFactory.create()
    wanted = {("test.both", "email"): False, ("test.both", "sms"): True}
    do_set_notification_preferences(alice.pk, wanted=wanted, acting=SYSTEM)
    do_set_notification_preferences(alice.pk, wanted=wanted, acting=SYSTEM)  # no change
    do_set_notification_preferences(alice.pk, wanted={("test.both", "email"): True}, acting=SYSTEM)
    prefs = {
        (p.kind, p.channel): p.enabled for p in NotificationPreference.objects.filter(user=alice)
    }
    assert prefs == {("test.both", "email"): True, ("test.both", "sms"): True}
    assert AuditEvent.objects.filter(action="core.notification_preference.set").count() == 2
