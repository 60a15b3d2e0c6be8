"""The night call, on a phone (390×844): a county officer files a first report for a 重大 incident,
the city acknowledges, the province sees it, a follow-up and a final report close it; an
unacknowledged report escalates when the escalation job runs on a travelled clock (no sleeping).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.models import Notification
from egov.duty import reporting
from egov.duty.choices import EscalationStep, ReportState
from egov.duty.models import EmergencyReport, ReportReceipt
from egov.duty.tests.conftest import build_tree
from egov.web.tests.test_e2e_login import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def switch_user(page: Any, username: str) -> None:
    page.context.clear_cookies()
    log_in(page, username)
    page.get_by_test_id("todo-centre").wait_for()


def fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"


def test_night_report_from_a_phone(page: Any, screenshot_dir: Any) -> None:
    page.set_viewport_size(PHONE)
    duty = build_tree(timezone.now())
    local = timezone.localtime()

    # The county officer gets the call and files the first report from the phone.
    switch_user(page, duty.county_officer.username)
    page.goto("/duty/")
    page.get_by_test_id("file-report").click()
    form = page.get_by_test_id("report-form")
    form.wait_for()
    page.locator("#id_title").fill("正定县某化工厂爆炸")
    page.locator("#id_category").select_option("accident")
    page.locator("#id_grade").select_option("II")
    page.locator("#id_occurred_at").fill((local - timedelta(minutes=25)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#id_learned_at").fill((local - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#id_place").fill("正定县某镇")
    page.locator("#id_source").fill("县应急管理局")
    page.locator("#id_injured").fill("3")
    page.locator("#id_course").fill("22时许发生爆炸，已组织救援。")
    fits_the_phone(page)
    submit = page.get_by_test_id("submit")
    box = submit.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 300  # one thumb away
    page.screenshot(path=str(screenshot_dir / "duty-report-phone.png"), full_page=True)
    submit.click()
    page.get_by_test_id("report-title").wait_for()
    report = EmergencyReport.objects.get()
    assert page.get_by_test_id("report-state").get_attribute("data-state") == "open"
    fits_the_phone(page)

    # The city officer on duty acknowledges from the console.
    switch_user(page, duty.city_officer.username)
    page.goto("/duty/")
    page.get_by_test_id(f"report-{report.uuid}").get_by_role("link").click()
    page.get_by_test_id("acknowledge").click()
    page.get_by_test_id(f"ack-{duty.city.pk}").wait_for()
    assert ReportReceipt.objects.get(organisation=duty.city).acknowledged_by == duty.city_officer

    # The province sees it on its console.
    switch_user(page, duty.province_officer.username)
    page.goto("/duty/")
    page.get_by_test_id(f"report-{report.uuid}").wait_for()
    assert page.get_by_test_id("to-acknowledge").count() == 1
    fits_the_phone(page)

    # Follow-up and final report from the county close it.
    switch_user(page, duty.county_officer.username)
    page.goto(report.get_absolute_url())
    page.locator("#id_text").fill("续报：3人受伤，均已送医。")
    page.get_by_test_id("submit-follow-up").click()
    page.locator("[data-testid=submissions] li[data-kind=follow_up]").wait_for()
    page.locator("#id_text").fill("终报：救援结束，善后处置中。")
    page.get_by_test_id("submit-final").click()
    page.locator("[data-testid=report-state][data-state=closed]").wait_for()
    report.refresh_from_db()
    assert report.state == ReportState.CLOSED

    # The province never acknowledged the first report: the job escalates it to the leader.
    receipt = ReportReceipt.objects.get(
        organisation=duty.province, submission__kind="first", report=report
    )
    with time_machine.travel(receipt.next_escalation_at, tick=False):
        escalated = reporting.do_escalate_due(acting=Acting.system("e2e"))
    assert escalated >= 1
    receipt.refresh_from_db()
    assert receipt.step == EscalationStep.LEADER
    assert Notification.objects.filter(
        kind="duty.escalation", recipient=duty.province_leader
    ).exists()
    switch_user(page, duty.province_leader.username)
    page.goto(report.get_absolute_url())
    page.get_by_test_id("acknowledge").click()
    page.get_by_test_id(f"ack-{duty.province.pk}").first.wait_for()
    receipt.refresh_from_db()
    assert receipt.acknowledged_by == duty.province_leader and receipt.next_escalation_at is None
    page.screenshot(path=str(screenshot_dir / "duty-report-closed-phone.png"), full_page=True)
