"""Browser test (Playwright, Chromium): a notice from the provincial general office fails to
reach a city government (its seal certificate was not issued yet, so it cannot sign a receipt);
the office's clerk (收发员) sees "1 delivery failed" in the to-do centre, opens the exchange
console on the failed deliveries, retries once the seal is there, and after the worker runs the
delivery is delivered and the to-do is gone."""

from __future__ import annotations

import pytest

from egov.exchange import services, worker
from egov.exchange.choices import DeliveryState
from egov.exchange.models import Delivery
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.handlers import KIND
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import DEFAULT_PASSWORD, OrganisationFactory, make_member
from egov.pki import services as pki

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
FAILED_LINK = '[data-testid="todo-items"] a[href="/exchange/?state=failed"]'


def log_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("todo-centre").wait_for()


def test_clerk_retries_a_failed_delivery(page, live_server, settings, ca, handler, screenshot_dir):
    settings.EGOV_EXCHANGE_MAX_ATTEMPTS = 1
    province = OrganisationFactory(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE
    )
    office: Organisation = OrganisationFactory(
        name="河北省人民政府办公厅", kind=OrgKind.GENERAL_OFFICE, parent=province
    )
    city: Organisation = OrganisationFactory(
        name="唐山市人民政府", level=OrgLevel.CITY, parent=province
    )
    pki.do_issue_demo_seals([office], acting=SYSTEM)
    make_member(office, Role.CLERK, username="sfy", full_name="收发员")

    [delivery] = services.do_dispatch(
        kind=KIND,
        sender=office,
        recipients=[city],
        payload={"title": "关于做好春节期间值班工作的通知"},
        title="关于做好春节期间值班工作的通知",
        acting=SYSTEM,
    )
    assert worker.run_once().failed == 1

    # 1. The clerk sees the failed delivery in the to-do centre and opens the console from it.
    log_in(page, "sfy")
    link = page.locator(FAILED_LINK)
    link.wait_for()
    assert "1" in link.inner_text()
    link.click()
    row = page.locator(f'[data-testid="delivery-row"][data-envelope="{delivery.envelope_id}"]')
    row.wait_for()
    assert row.get_attribute("data-state") == "failed"
    assert "no_seal_certificate" in row.inner_text()
    assert page.get_by_test_id("count-failed").inner_text().endswith("1")
    page.screenshot(path=str(screenshot_dir / "exchange-failed.png"), full_page=True)

    # 2. The city's seal is issued; the clerk retries; the delivery is in flight again.
    pki.do_issue_demo_seals([city], acting=SYSTEM)
    row.get_by_test_id("retry").click()
    page.wait_for_selector(
        f'[data-testid="delivery-row"][data-envelope="{delivery.envelope_id}"]'
        '[data-state="pending"]'
    )

    # 3. The worker runs: delivered, with the city's signed receipt; no to-do left.
    assert worker.run_once().delivered == 1
    page.reload()
    page.wait_for_selector(
        f'[data-testid="delivery-row"][data-envelope="{delivery.envelope_id}"]'
        '[data-state="delivered"]'
    )
    assert Delivery.objects.get(pk=delivery.pk).state == DeliveryState.DELIVERED
    page.goto("/")
    page.get_by_test_id("todo-centre").wait_for()
    assert page.locator(FAILED_LINK).count() == 0
