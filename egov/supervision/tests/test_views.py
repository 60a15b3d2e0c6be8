"""The pages: dashboard, list, register, task page and its acts; scope, bad input, query budgets."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from egov.orgs.tests.otp_helpers import login_verified
from egov.supervision.choices import TaskState
from egov.supervision.models import SupervisionTask
from egov.supervision.tests.factories import SupervisionTaskFactory, TaskUnitFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def url(name: str, task=None) -> str:
    return reverse(f"supervision:{name}", args=[task.uuid] if task is not None else [])


REGISTER = {
    "title": "落实省长批示",
    "source": "leader_instruction",
    "source_reference": "批示",
    "requirement": "落实",
    "quality_standard": "全面完成",
    "responsible_leader": "王副省长",
    "responsible_person": "李处长",
    "deadline": "2026-04-30",
    "sign_in_days": "2",
    "report_cycle": "none",
    "report_day": "5",
}


def test_pages_render_for_a_supervisor(client, world):
    task = world.in_progress(date(2026, 4, 30))
    client.force_login(world.supervisor)
    for name in ("dashboard", "task_list", "task_create", "rankings"):
        assert client.get(url(name)).status_code == 200, name
    response = client.get(url("task_detail", task))
    assert response.status_code == 200
    assert b'data-testid="urge-form"' in response.content


def test_register_through_the_form(client, world):
    client.force_login(world.supervisor)
    response = client.post(url("task_create"), {**REGISTER, "office": world.office.pk})
    task = SupervisionTask.objects.get()
    assert response.status_code == 302 and response["Location"] == task.get_absolute_url()
    assert (task.state, task.registered_by, task.deadline) == (
        TaskState.REGISTERED,
        world.supervisor,
        date(2026, 4, 30),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deadline", "2026-03-01"),  # in the past
        ("deadline", "not a date"),
        ("deadline", "99999-01-01"),
        ("title", ""),
        ("title", "x" * 201),
        ("source", "rumour"),
        ("sign_in_days", "abc"),
        ("report_day", "21"),
        ("quality_standard", ""),
        ("office", "999999"),
    ],
)
def test_register_form_bad_input(client, world, field, value):
    client.force_login(world.supervisor)
    response = client.post(
        url("task_create"), {**REGISTER, "office": world.office.pk, field: value}
    )
    assert response.status_code == 400
    assert f'data-testid="error-{field}"'.encode() in response.content
    assert not SupervisionTask.objects.exists()


def test_register_page_is_for_supervisors_only(client, world):
    client.force_login(world.handler_a)
    assert client.get(url("task_create")).status_code == 404


def test_the_flow_through_the_pages(client, world):
    task = world.register(date(2026, 4, 30))
    login_verified(client, world.leader)
    assert client.post(url("task_approve", task)).status_code == 302
    client.force_login(world.supervisor)
    response = client.post(
        url("task_assign", task), {"lead_unit": world.city_a.pk, "co_units": [world.city_b.pk]}
    )
    assert response.status_code == 302
    client.force_login(world.clerk_a)
    assert client.post(url("task_acknowledge", task)).status_code == 302
    client.force_login(world.handler_a)
    assert (
        client.post(url("task_report", task), {"text": "进展", "percent": "50"}).status_code == 302
    )
    assert client.post(url("task_apply_close", task), {"evidence": "完成"}).status_code == 302
    client.force_login(world.supervisor)
    response = client.post(
        url("task_review", task), {"decision": "pass", "quality_score": "95", "satisfaction": ""}
    )
    assert response.status_code == 302
    assert client.post(url("task_archive", task)).status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.ARCHIVED and task.quality_score == 95


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("task_report", {"text": "", "percent": "50"}, "text"),
        ("task_report", {"text": "x", "percent": "101"}, "percent"),
        ("task_report", {"text": "x", "percent": "lots"}, "percent"),
        ("task_report", {"text": "x" * 5001, "percent": "1"}, "text"),
        ("task_apply_close", {"evidence": ""}, "evidence"),
        ("task_extension", {"new_deadline": "2026-04-29", "reason": "x"}, "new_deadline"),
        ("task_extension", {"new_deadline": "2027-12-31", "reason": "x"}, "new_deadline"),
        ("task_extension", {"new_deadline": "bad", "reason": "x"}, "new_deadline"),
        ("task_extension", {"new_deadline": "2026-05-08", "reason": ""}, "reason"),
    ],
)
def test_unit_forms_bad_input(client, world, name, data, field):
    task = world.in_progress(date(2026, 4, 30))
    client.force_login(world.handler_a)
    response = client.post(url(name, task), data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"'.encode() in response.content
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS and not task.reports.exists()
    assert not task.extensions.exists()


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("task_urge", {"text": ""}, "text"),
        ("task_review", {"decision": "maybe"}, "decision"),
        ("task_review", {"decision": "pass", "quality_score": ""}, "quality_score"),
        ("task_review", {"decision": "pass", "quality_score": "-5"}, "quality_score"),
        ("task_review", {"decision": "back", "reason": ""}, "reason"),
        ("extension_decide", {"decision": "approve"}, "decision"),  # nothing pending
    ],
)
def test_supervisor_forms_bad_input(client, world, name, data, field):
    task = world.in_progress(date(2026, 4, 30))
    if name == "task_review":
        from egov.supervision import services

        services.do_apply_close(task, evidence="x", acting=world.acting(world.handler_a))
    client.force_login(world.supervisor)
    response = client.post(url(name, task), data)
    assert response.status_code == 400
    assert f'data-field="{field}"'.encode() in response.content


def test_assign_form_refuses_units_outside_the_scope(client, world):
    task = world.register(date(2026, 4, 30))
    from egov.supervision import services

    services.do_approve_task(task, acting=world.acting(world.leader))
    client.force_login(world.supervisor)
    response = client.post(url("task_assign", task), {"lead_unit": world.outside.pk})
    assert response.status_code == 400
    assert b'data-testid="error-lead_unit"' in response.content
    response = client.post(
        url("task_assign", task), {"lead_unit": world.city_a.pk, "co_units": [world.city_a.pk]}
    )
    assert response.status_code == 400
    assert b'data-testid="error-co_units"' in response.content


def test_a_refused_step_is_shown_not_raised(client, world):
    task = world.register(date(2026, 4, 30))
    client.force_login(world.supervisor)
    response = client.post(url("task_archive", task))  # not done yet: invalid transition
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.REGISTERED


def test_scope_outside_is_404(client, world):
    task = world.in_progress(date(2026, 4, 30), co=False)
    for user in (world.outsider, world.other_supervisor, world.handler_b):
        client.force_login(user)
        assert client.get(url("task_detail", task)).status_code == 404
        assert (
            client.post(url("task_report", task), {"text": "x", "percent": "1"}).status_code == 404
        )
        assert client.post(url("task_urge", task), {"text": "x"}).status_code == 404
    assert client.get("/supervision/tasks/not-a-uuid/").status_code == 404
    client.force_login(world.handler_a)
    assert client.get(url("task_detail", task)).status_code == 200


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get(url("dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_monthly_export(client, world):
    task = world.in_progress(date(2026, 3, 31))
    client.force_login(world.supervisor)
    response = client.get(url("export_monthly") + "?month=2026-03")
    assert response.status_code == 200
    wb = load_workbook(BytesIO(response.content))
    ranking, tasks = wb.worksheets
    assert ranking.cell(3, 2).value == world.city_a.name
    assert tasks.cell(2, 1).value == task.number
    assert client.get(url("export_monthly") + "?month=2026-13").status_code == 400
    assert client.get(url("export_monthly") + "?month=0000-01").status_code == 400
    assert client.get(url("dashboard") + "?month=garbage").status_code == 200


def _grow(world, n: int) -> None:
    for i in range(n):
        task = SupervisionTaskFactory(
            office=world.office,
            lead_unit=world.city_a if i % 2 else world.city_b,
            state=TaskState.IN_PROGRESS,
            deadline=date(2026, 3, 1 + i % 28),
        )
        TaskUnitFactory(task=task, organisation=task.lead_unit, state="acknowledged")


@pytest.mark.parametrize("name", ["dashboard", "task_list", "rankings"])
def test_query_budget_does_not_grow_with_rows(client, world, name, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(world.supervisor)
    counts = []
    for n in (3, 30):
        _grow(world, n)
        for user in (world.supervisor, world.handler_a):
            client.force_login(user)
            client.get(url(name))
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url(name)).status_code == 200
            counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[2] and counts[1] == counts[3], counts
    assert max(counts) <= 40  # the base page (navigation, to-do counts) included


def test_task_page_query_budget(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from egov.supervision import services

    task = world.in_progress(date(2026, 4, 30))
    client.force_login(world.supervisor)
    counts = []
    for _ in range(2):
        for _i in range(5):
            services.do_urge_task(task, text="催", acting=world.acting(world.supervisor))
            services.do_report_progress(
                task, text="x", percent=5, acting=world.acting(world.handler_a)
            )
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url("task_detail", task)).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_split_into_a_subtask_through_the_form(client, world):
    parent = world.register(date(2026, 4, 30))
    client.force_login(world.supervisor)
    page = client.get(url("task_create") + f"?parent={parent.uuid}")
    assert page.status_code == 200 and b'data-testid="parent"' in page.content
    data = {
        **REGISTER,
        "office": world.office.pk,
        "parent": str(parent.uuid),
        "deadline": "2026-04-15",
    }
    assert client.post(url("task_create"), data).status_code == 302
    assert parent.subtasks.count() == 1
    data["deadline"] = "2026-05-15"  # after the parent's deadline
    response = client.post(url("task_create"), data)
    assert response.status_code == 400 and b'data-testid="error-deadline"' in response.content
    client.force_login(world.other_supervisor)
    assert client.get(url("task_create") + f"?parent={parent.uuid}").status_code == 404


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    return tmp_path


def test_report_and_evidence_with_attachments(client, world, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from egov.supervision.models import Attachment

    task = world.in_progress(date(2026, 4, 30), co=False)
    client.force_login(world.handler_a)
    files = [
        SimpleUploadedFile("进展报告.pdf", b"%PDF-1.4 report", "application/pdf"),
        SimpleUploadedFile("photo.png", b"\x89PNG....", "image/png"),
    ]
    response = client.post(
        url("task_report", task), {"text": "进展", "percent": "50", "attachments": files}
    )
    assert response.status_code == 302
    evidence = SimpleUploadedFile("结果.docx", b"PK docx", "application/octet-stream")
    response = client.post(
        url("task_apply_close", task), {"evidence": "完成", "attachments": [evidence]}
    )
    assert response.status_code == 302
    rows = list(Attachment.objects.order_by("id"))
    assert [(a.name, a.purpose, a.report_id is not None) for a in rows] == [
        ("进展报告.pdf", "report", True),
        ("photo.png", "report", True),
        ("结果.docx", "evidence", False),
    ]
    page = client.get(url("task_detail", task))
    assert page.content.count(b'data-testid="attachment"') == 3
    download = reverse("supervision:attachment_download", args=[task.uuid, rows[0].uuid])
    got = client.get(download)
    assert got.status_code == 200 and b"".join(got.streaming_content) == b"%PDF-1.4 report"
    client.force_login(world.outsider)
    assert client.get(download).status_code == 404
    client.force_login(world.handler_a)
    bad = reverse("supervision:attachment_download", args=[task.uuid, "not-a-uuid"])
    assert client.get(bad).status_code == 404


@pytest.mark.parametrize(
    ("name", "content"),
    [("virus.exe", b"MZ"), ("noextension", b"x"), ("empty.pdf", b""), ("big.pdf", b"x" * 2048)],
)
def test_bad_attachments_are_refused_and_nothing_is_written(
    client, world, media, monkeypatch, name, content
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from egov.supervision import services
    from egov.supervision.models import Attachment

    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 1024)
    task = world.in_progress(date(2026, 4, 30), co=False)
    client.force_login(world.handler_a)
    upload = SimpleUploadedFile(name, content)
    response = client.post(
        url("task_report", task), {"text": "进展", "percent": "50", "attachments": [upload]}
    )
    assert response.status_code == 400
    assert b'data-testid="error-attachments"' in response.content
    assert not task.reports.exists() and not Attachment.objects.exists()
    too_many = [SimpleUploadedFile(f"f{i}.pdf", b"x") for i in range(11)]
    response = client.post(
        url("task_apply_close", task), {"evidence": "完成", "attachments": too_many}
    )
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS and not Attachment.objects.exists()
