"""Browser test (Playwright, Debian's Chromium): one notice from the provincial general office
through drafting, review, sign-off (the leader passes the TOTP step), re-check, registration,
layout, sealing and dispatch (the leader signs off on a phone); then at the city government through signing-for, registration,
screening, proposed handling, the leader's instruction, assignment, handling and closure.

The exchange worker runs in the test process between the two offices (same node, same
database): the envelope, its signed receipt and the signed-for notice travel for real.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from egov.core.acting import Acting
from egov.documents.models import IncomingDocument, OutgoingDocument
from egov.exchange import worker
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import DEFAULT_PASSWORD, OrganisationFactory, make_member
from egov.orgs.tests.otp_helpers import TOTPDeviceFactory, current_code
from egov.pki import services as pki

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SYSTEM = Acting.system("test")


def log_in(page, username: str, device=None) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    if device is not None:
        page.get_by_test_id("otp-form").wait_for()
        page.locator("#id_token").fill(current_code(device))
        page.get_by_test_id("otp-submit").click()
    page.get_by_test_id("todo-centre").wait_for()


def open_todo(page, title_part: str) -> None:
    page.goto("/")
    page.get_by_test_id("todo-centre").get_by_text(re.compile(title_part)).first.click()
    page.get_by_test_id("state").wait_for()


def expect_state(page, state: str) -> None:
    page.wait_for_selector(f'[data-testid="state"][data-state="{state}"]')


TITLE = "关于做好2026年冬季安全生产工作的通知"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def run_worker() -> worker.RunStats:
    """The exchange worker, in a thread of its own as in production (Playwright's sync API keeps
    an event loop running in the test's thread)."""
    from django.db import connection

    def run() -> worker.RunStats:
        try:
            return worker.run_once()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def test_notice_from_draft_to_closure(page, live_server, ca, screenshot_dir):
    province: Organisation = OrganisationFactory(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE
    )
    office: Organisation = OrganisationFactory(
        name="河北省人民政府办公厅",
        kind=OrgKind.GENERAL_OFFICE,
        parent=province,
        doc_code="冀政办发",
    )
    city: Organisation = OrganisationFactory(
        name="石家庄市人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY, parent=province
    )
    unit: Organisation = OrganisationFactory(
        name="石家庄市政府办公室秘书科",
        kind=OrgKind.INTERNAL_UNIT,
        level=OrgLevel.CITY,
        parent=city,
    )
    pki.do_issue_demo_seals([office, city], acting=SYSTEM)
    make_member(office, Role.DRAFTER, username="ngr", full_name="张拟稿")
    make_member(office, Role.REVIEWER, username="shr", full_name="王审核")
    signer = make_member(office, Role.SIGNER, username="qfr", full_name="李签发")
    make_member(office, Role.CLERK, username="sfy", full_name="赵收发")
    make_member(city, Role.CLERK, username="sjz.sfy", full_name="钱收发")
    leader = make_member(city, Role.SIGNER, username="sjz.ld", full_name="孙市长")
    make_member(unit, Role.HANDLER, username="sjz.cb", full_name="周承办")
    signer_device = TOTPDeviceFactory.create(user=signer)
    leader_device = TOTPDeviceFactory.create(user=leader)

    # 1. Drafting (拟稿).
    log_in(page, "ngr")
    page.goto("/documents/out/")
    page.get_by_test_id("new-draft").click()
    page.locator("#id_title").fill(TITLE)
    page.locator("#id_body").fill(
        "各市人民政府：\n一、提高思想认识\n冬季是安全生产事故易发多发期。\n"
        "<script>alert('x')</script>请认真贯彻落实。"
    )
    page.locator("#id_main_recipients").select_option(label="石家庄市人民政府")
    page.get_by_test_id("save-draft").click()
    expect_state(page, "draft")
    assert page.get_by_test_id("body").locator("script").count() == 0
    page.locator("#id_reviewers").select_option(label="王审核")
    page.get_by_test_id("submit").click()
    expect_state(page, "in_review")
    page.screenshot(path=str(screenshot_dir / "documents-in-review.png"), full_page=True)

    # 2. Review (审核) and sign-off (签发) on the leader's to-do list.
    log_in(page, "shr")
    open_todo(page, TITLE)
    page.get_by_test_id("approve").click()
    expect_state(page, "awaiting_sign_off")
    # The leader signs off on a phone (390 × 844), late in the evening.
    page.set_viewport_size(PHONE)
    log_in(page, "qfr", signer_device)
    open_todo(page, TITLE)
    page.locator("#id_comment").fill("同意印发。")
    page.screenshot(path=str(screenshot_dir / "documents-sign-off-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_test_id("approve").click()
    expect_state(page, "signed_off")
    page.set_viewport_size(DESKTOP)

    # 3. The clerk re-checks, registers, lays out, seals and dispatches.
    log_in(page, "sfy")
    open_todo(page, TITLE)
    for step, state in [
        ("recheck", "signed_off"),
        ("register", "registered"),
        ("render", "rendered"),
        ("seal", "sealed"),
        ("dispatch", "dispatched"),
    ]:
        page.get_by_test_id(step).click()
        expect_state(page, state)
    number = page.get_by_test_id("number").inner_text()
    assert re.fullmatch(r"冀政办发〔\d{4}〕1号", number)
    page.screenshot(path=str(screenshot_dir / "documents-dispatched.png"), full_page=True)
    doc = OutgoingDocument.objects.get()
    assert doc.sealed_sha256

    assert run_worker().delivered == 1

    # 4. The city signs for it, registers and screens it, proposes handling.
    log_in(page, "sjz.sfy")
    open_todo(page, TITLE)
    page.get_by_test_id("sign-for").click()
    expect_state(page, "signed_for")
    page.get_by_test_id("register").click()
    expect_state(page, "registered")
    page.get_by_test_id("screen").click()
    expect_state(page, "screened")
    page.get_by_test_id("propose-form").locator("textarea").fill("拟请秘书科牵头办理。")
    page.get_by_test_id("propose").click()
    expect_state(page, "proposed")
    run_worker()  # the signed-for notice goes back to the issuer

    # 5. The leader instructs (批示), on the phone if need be.
    page.set_viewport_size(PHONE)
    log_in(page, "sjz.ld", leader_device)
    open_todo(page, TITLE)
    page.get_by_test_id("instruct-form").locator("textarea").fill("同意，抓好落实。")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_test_id("instruct").click()
    expect_state(page, "instructed")
    page.set_viewport_size(DESKTOP)

    # 6. Assignment (分办), handling (承办), closure (办结).
    log_in(page, "sjz.sfy")
    open_todo(page, TITLE)
    page.locator("#id_lead").select_option(label="石家庄市政府办公室秘书科")
    page.get_by_test_id("assign").click()
    expect_state(page, "in_handling")
    log_in(page, "sjz.cb")
    open_todo(page, TITLE)
    page.get_by_test_id("handle-form").locator("textarea").fill("已部署全市安全检查。")
    page.get_by_test_id("handle").click()
    expect_state(page, "in_handling")
    log_in(page, "sjz.sfy")
    page.goto(f"/documents/in/{IncomingDocument.objects.get().uuid}/")
    page.get_by_test_id("answer-form").locator("textarea").fill("已落实。")
    page.get_by_test_id("answer").click()
    expect_state(page, "answered")
    page.get_by_test_id("close").click()
    expect_state(page, "closed")
    page.screenshot(path=str(screenshot_dir / "documents-closed.png"), full_page=True)

    # The issuer sees the copy signed for.
    log_in(page, "sfy")
    page.goto(f"/documents/out/{doc.uuid}/")
    page.wait_for_selector('[data-testid="recipient-row"][data-state="signed_for"]')
