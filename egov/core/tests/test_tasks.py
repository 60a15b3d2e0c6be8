"""Notification delivery tasks, the SMS gateways and the calendar coverage job.

Tests marked `tasks` go through the configured task backend: the immediate backend normally,
RQ on Redis when REDIS_URL is set (CI runs `pytest -m tasks` again that way), where an in-process
RQ worker drains the queue in burst mode.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar, cast
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import override_settings

from egov.core.acting import Acting
from egov.core.choices import AttemptStatus, NotificationChannel
from egov.core.models import Notification, NotificationAttempt
from egov.core.notifications import do_notify, register_notification_kind
from egov.core.sms import HttpSmsGateway, LoggingSmsGateway, SmsError, get_sms_gateway
from egov.core.tasks import check_calendar_coverage, deliver_notification
from egov.orgs.choices import Role
from egov.orgs.tests.factories import UserFactory, make_member

pytestmark = pytest.mark.django_db
SYSTEM = Acting.system("test")
SH = ZoneInfo("Asia/Shanghai")

register_notification_kind(
    "test.tasks",
    "Task test kind",
    default_channels=(NotificationChannel.EMAIL, NotificationChannel.SMS),
)


def uses_rq() -> bool:
    return "RQBackend" in settings.TASKS["default"]["BACKEND"]


@pytest.fixture
def task_queue() -> Iterator[None]:
    """An empty queue before and after the test when the backend is RQ."""
    if uses_rq():
        import django_rq

        django_rq.get_queue("default").empty()
        yield
        django_rq.get_queue("default").empty()
    else:
        yield


def run_queued() -> None:
    """Run what is queued: RQ needs a worker; the immediate backend already ran it."""
    if uses_rq():
        import django_rq
        from rq import SimpleWorker, Worker

        # SimpleWorker runs jobs in this process, inside the test's database transaction.
        django_rq.get_worker(
            "default",
            job_class="django_tasks_rq.Job",
            worker_class=cast("type[Worker]", SimpleWorker),
        ).work(burst=True)


def notify(user: Any, kind: str = "test.tasks", **kwargs: Any) -> Notification:
    (notification,) = do_notify(
        [user], kind=kind, title="请签收", url="/core/x/", acting=SYSTEM, **kwargs
    )
    return notification


def attempts(notification: Notification) -> dict[str, tuple[str, str, str]]:
    return {
        a.channel: (a.status, a.address, a.error)
        for a in NotificationAttempt.objects.filter(notification=notification)
    }


@pytest.mark.tasks
def test_delivery_by_email_and_sms_through_the_backend(
    task_queue: None, django_capture_on_commit_callbacks
) -> None:
    user = UserFactory.create(email="clerk@example.gov.cn", phone="13900000001")
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(user)
    run_queued()
    assert attempts(notification) == {
        "email": ("sent", "clerk@example.gov.cn", ""),
        "sms": ("sent", "13900000001", ""),
    }
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["clerk@example.gov.cn"]
    assert mail.outbox[0].subject == "请签收"
    assert "/core/x/" in mail.outbox[0].body


@pytest.mark.tasks
def test_missing_addresses_are_skipped_with_the_reason(
    task_queue: None, django_capture_on_commit_callbacks
) -> None:
    user = UserFactory.create(email="", phone="")
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(user)
    run_queued()
    assert attempts(notification) == {
        "email": ("skipped", "", "no e-mail address"),
        "sms": ("skipped", "", "no mobile phone number"),
    }
    assert mail.outbox == []


@pytest.mark.tasks
@override_settings(EMAIL_BACKEND="egov.core.tests.test_tasks.BrokenEmailBackend")
def test_a_failing_email_backend_is_a_failed_attempt(
    task_queue: None, django_capture_on_commit_callbacks
) -> None:
    user = UserFactory.create(phone="")
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(user)
    run_queued()
    status, _address, error = attempts(notification)["email"]
    assert status == "failed"
    assert "relay refused" in error


class BrokenEmailBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("relay refused")


@pytest.mark.tasks
def test_delivery_task_enqueued_directly(task_queue: None) -> None:
    user = UserFactory.create(phone="")
    notification = notify(user, kind="core.calendar_coverage")
    result = deliver_notification.enqueue(notification.pk, "email")
    run_queued()
    if not uses_rq():
        assert result.return_value == "sent"
    assert attempts(notification)["email"][0] == "sent"


def test_delivery_edge_cases() -> None:
    user = UserFactory.create(phone="13900000002")
    notification = notify(user)
    assert deliver_notification.call(notification.pk, "email") == "sent"
    # Already sent on that channel: not sent twice.
    assert deliver_notification.call(notification.pk, "email") == "skipped"
    assert len(mail.outbox) == 1
    assert deliver_notification.call(notification.pk, "fax") == "skipped"
    assert attempts(notification)["fax"] == ("skipped", "", "unknown channel")
    assert deliver_notification.call(999_999, "email") == "missing"
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert deliver_notification.call(notification.pk, "sms") == "skipped"
    assert attempts(notification)["sms"] == ("skipped", "", "account disabled")


# --- SMS gateways ---------------------------------------------------------------------------


class GatewayHandler(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    status_to_send: ClassVar[int] = 200

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        type(self).received.append(
            {
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "type": self.headers.get("Content-Type"),
                "json": json.loads(body),
            }
        )
        self.send_response(type(self).status_to_send)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[GatewayHandler]]]:
    handler = type("Handler", (GatewayHandler,), {"received": [], "status_to_send": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sms/send", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_http_gateway_posts_json_with_a_bearer_token(gateway: Any) -> None:
    url, handler = gateway
    HttpSmsGateway(url=url, token="s3cret", timeout=5).send("13900000003", "请及时签收")
    assert handler.received == [
        {
            "path": "/sms/send",
            "auth": "Bearer s3cret",
            "type": "application/json; charset=utf-8",
            "json": {"to": "13900000003", "message": "请及时签收"},
        }
    ]


def test_http_gateway_raises_on_non_2xx(gateway: Any) -> None:
    url, handler = gateway
    handler.status_to_send = 503
    with pytest.raises(SmsError, match="503"):
        HttpSmsGateway(url=url, token="t", timeout=5).send("13900000003", "x")


def test_http_gateway_raises_when_unreachable(gateway: Any) -> None:
    url, _handler = gateway
    closed = url.replace("/sms/send", "").rsplit(":", 1)[0] + ":1/sms"
    with pytest.raises(SmsError, match="unreachable"):
        HttpSmsGateway(url=closed, token="t", timeout=2).send("1", "x")
    with pytest.raises(SmsError):
        HttpSmsGateway(url="file:///etc/passwd", token="t")


@pytest.mark.tasks
def test_sms_failure_through_the_configured_gateway_is_recorded(
    gateway: Any, task_queue: None, django_capture_on_commit_callbacks
) -> None:
    url, handler = gateway
    handler.status_to_send = 500
    user = UserFactory.create(email="", phone="13900000004")
    with override_settings(
        EGOV_SMS_GATEWAY="egov.core.sms.HttpSmsGateway",
        EGOV_SMS_GATEWAY_URL=url,
        EGOV_SMS_GATEWAY_TOKEN="tok",
    ):
        with django_capture_on_commit_callbacks(execute=True):
            notification = notify(user)
        run_queued()
    status, address, error = attempts(notification)["sms"]
    assert (status, address) == ("failed", "13900000004")
    assert "500" in error
    assert handler.received[0]["json"]["to"] == "13900000004"


def test_gateway_setting_chooses_the_class() -> None:
    assert isinstance(get_sms_gateway(), LoggingSmsGateway)
    LoggingSmsGateway().send("13900000005", "hello")


# --- the calendar coverage job --------------------------------------------------------------


@pytest.mark.tasks
def test_calendar_coverage_notifies_system_admins_once(
    task_queue: None, django_capture_on_commit_callbacks
) -> None:
    admin = make_member(None, Role.SYSTEM_ADMIN)
    clerk = make_member(None, Role.CLERK)
    with time_machine.travel(datetime(2026, 11, 25, 2, 0, tzinfo=SH), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            result = check_calendar_coverage.enqueue()
            run_queued()  # RQ: the check runs here and enqueues the e-mail on commit
        run_queued()  # RQ: the e-mail is sent here
        if not uses_rq():
            assert result.return_value == [2027]
        notes = list(Notification.objects.filter(kind="core.calendar_coverage"))
        assert [n.recipient_id for n in notes] == [admin.pk]
        assert "2027" in notes[0].title
        assert NotificationAttempt.objects.get(notification=notes[0]).status == AttemptStatus.SENT
        # Next day, the first one still unread: no second notice.
        with django_capture_on_commit_callbacks(execute=True):
            check_calendar_coverage.enqueue()
            run_queued()
        run_queued()
        assert Notification.objects.filter(kind="core.calendar_coverage").count() == 1
    assert not Notification.objects.filter(recipient=clerk).exists()


def test_calendar_coverage_is_quiet_when_covered() -> None:
    make_member(None, Role.SYSTEM_ADMIN)
    with time_machine.travel(datetime(2025, 6, 1, 2, 0, tzinfo=SH), tick=False):
        assert check_calendar_coverage.call() == []
    assert not Notification.objects.exists()


@pytest.mark.tasks
def test_a_large_batch_fans_out_from_a_worker(
    task_queue: None, django_capture_on_commit_callbacks
) -> None:
    users = UserFactory.create_batch(30, phone="")
    with django_capture_on_commit_callbacks(execute=True):
        created = do_notify(users, kind="test.tasks", title="通知", acting=SYSTEM)
        run_queued()  # RQ: the fan-out task runs here and enqueues the deliveries
    run_queued()  # RQ: the deliveries run here
    statuses = list(
        NotificationAttempt.objects.filter(notification__in=created).values_list(
            "channel", "status"
        )
    )
    assert sorted(set(statuses)) == [("email", "sent"), ("sms", "skipped")]
    assert len(statuses) == 60
    assert len(mail.outbox) == 30
