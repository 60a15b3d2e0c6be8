"""Browser test (Playwright, Chromium): the general office registers a task from a leader's
instruction and splits it for two cities; one reports and closes on time, the other goes overdue
and shows red on the dashboard with its reminder.

The clock moves with time_machine (the live server runs in this process); the overdue reminder
comes from the reminder job run with the travelled clock. No sleeping.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.calendar import add_working_days
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.tests.factories import DEFAULT_PASSWORD, OrganisationFactory, make_member
from egov.supervision import services
from egov.supervision.models import Reminder, SupervisionTask

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("todo-centre").wait_for()


def fill_task(page, title: str, deadline: str, *, source: str = "leader_instruction") -> None:
    page.locator("#id_title").fill(title)
    page.locator("#id_source").select_option(source)
    page.locator("#id_source_reference").fill("省长批示：请省政府办公厅督促落实。")
    page.locator("#id_requirement").fill("按批示要求抓紧落实，按期报送结果。")
    page.locator("#id_quality_standard").fill("问题整改到位，群众满意。")
    page.locator("#id_responsible_leader").fill("王副省长")
    page.locator("#id_responsible_person").fill("李处长")
    page.locator("#id_deadline").fill(deadline)
    page.get_by_test_id("submit").click()
    page.get_by_test_id("state").wait_for()


def approve_and_assign(page, unit_name: str) -> None:
    page.get_by_test_id("approve").click()
    page.get_by_test_id("assign-form").wait_for()
    page.locator("#id_lead_unit").select_option(label=unit_name)
    page.get_by_test_id("assign").click()
    page.wait_for_selector('[data-testid="state"][data-state="assigned"]')


def test_register_assign_close_and_overdue(page, live_server, screenshot_dir):
    province = OrganisationFactory(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE
    )
    office = OrganisationFactory(
        name="河北省人民政府办公厅", kind=OrgKind.GENERAL_OFFICE, parent=province
    )
    sjz = OrganisationFactory(name="石家庄市人民政府", level=OrgLevel.CITY, parent=province)
    ts = OrganisationFactory(name="唐山市人民政府", level=OrgLevel.CITY, parent=province)
    make_member(office, Role.SUPERVISOR, username="dcy", full_name="督查员")
    make_member(sjz, Role.HANDLER, username="sjz", full_name="石家庄承办人")
    make_member(ts, Role.HANDLER, username="ts", full_name="唐山承办人")

    today = timezone.localdate()
    due = add_working_days(today, 3)
    parent_due = add_working_days(today, 10)

    # 1. The general office registers the task from the leader's instruction and approves it.
    log_in(page, "dcy")
    page.goto("/supervision/")
    page.get_by_test_id("register-task").click()
    fill_task(page, "落实省长关于大气污染治理的批示", parent_due.isoformat())
    page.get_by_test_id("approve").click()
    page.wait_for_selector('[data-testid="state"][data-state="approved"]')
    parent_url = page.url

    # 2. It splits the task for the two cities and assigns each.
    for city, name in ((sjz, "石家庄市落实批示"), (ts, "唐山市落实批示")):
        page.goto(parent_url)
        page.get_by_test_id("split").click()
        fill_task(page, name, due.isoformat())
        approve_and_assign(page, city.name)
    sub_a = SupervisionTask.objects.get(lead_unit=sjz)
    sub_b = SupervisionTask.objects.get(lead_unit=ts)
    assert sub_a.parent is not None and sub_b.parent == sub_a.parent

    # 3. Shijiazhuang signs for it, reports and applies to close, on time.
    log_in(page, "sjz")
    page.goto(sub_a.get_absolute_url())
    page.get_by_test_id("acknowledge").click()
    page.wait_for_selector('[data-testid="state"][data-state="in_progress"]')
    page.locator("#id_text").fill("已完成整改，报送结果。")
    page.locator("#id_percent").fill("100")
    page.get_by_test_id("report").click()
    page.get_by_test_id("reports").wait_for()
    page.get_by_test_id("close-form").locator("xpath=..").locator("summary").click()
    page.locator("#id_evidence").fill("整改报告及现场照片已上传。")
    page.get_by_test_id("apply-close").click()
    page.wait_for_selector('[data-testid="state"][data-state="closing"]')

    # 4. The supervisor reviews and closes it: green.
    log_in(page, "dcy")
    page.goto(sub_a.get_absolute_url())
    page.locator("#id_decision").select_option("pass")
    page.locator("#id_quality_score").fill("95")
    page.get_by_test_id("review").click()
    page.wait_for_selector('[data-testid="state"][data-state="done"]')
    assert page.get_by_test_id("colour").first.get_attribute("data-colour") == "done"

    # 5. The day after the deadline: the reminder job runs, Tangshan's task is red with a reminder.
    next_day = timezone.make_aware(datetime.combine(due + timedelta(days=1), time(9, 0)))
    with time_machine.travel(next_day, tick=True):
        assert services.do_send_due_reminders(acting=Acting.system("e2e")) >= 1
        assert Reminder.objects.filter(task=sub_b, reason="overdue").exists()
        log_in(page, "dcy")
        page.goto("/supervision/")
        row = page.locator(f'[data-testid="overdue-table"] [data-task="{sub_b.uuid}"]')
        row.wait_for()
        assert row.get_attribute("data-colour") == "overdue"
        assert row.locator(".state-overdue").is_visible()
        assert row.get_by_test_id("last-reminder").get_attribute("data-reason") == "overdue"
        assert page.locator(f'[data-task="{sub_a.uuid}"]').count() == 0
        assert page.get_by_test_id("count-overdue").inner_text() == "1"
        page.screenshot(path=str(screenshot_dir / "supervision-dashboard.png"), full_page=True)
