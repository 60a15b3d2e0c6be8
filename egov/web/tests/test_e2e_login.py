"""Logging in through a real browser (Playwright driving Debian's Chromium, headless).

Done means: a demo clerk logs in and sees the to-do centre; a 签发人 logs in through the TOTP
step, both with a device already set up and by enrolling one on the spot.
"""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from egov.orgs.choices import Role
from egov.orgs.tests.factories import DEFAULT_PASSWORD, OrganisationFactory, make_member
from egov.orgs.tests.otp_helpers import TOTPDeviceFactory, current_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, username: str, password: str = DEFAULT_PASSWORD, screenshot=None) -> None:
    page.goto("/")
    # Anonymous visitors land on the login page, which carries the node name.
    assert re.search(r"/accounts/login/", page.url)
    assert page.get_by_test_id("node-name").is_visible()
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_test_id("login-submit").click()


def test_clerk_logs_in_and_sees_the_todo_centre(page, live_server, screenshot_dir):
    org = OrganisationFactory.create(name="河北省人民政府办公厅", short_name="省政府办公厅")
    clerk = make_member(org, Role.CLERK, username="clerk.demo", full_name="张收发")

    log_in(page, clerk.username, screenshot=screenshot_dir / "login.png")

    page.get_by_test_id("todo-centre").wait_for()
    assert page.url == f"{live_server.url}/"
    assert page.get_by_test_id("username").inner_text() == "张收发"
    page.screenshot(path=str(screenshot_dir / "home-clerk.png"), full_page=True)

    # Logging out (a POST from the top bar) returns to the login page.
    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-form").wait_for()
    page.goto("/")
    assert "/accounts/login/" in page.url


def test_wrong_password_shows_an_error_on_the_login_page(page):
    clerk = make_member(None, Role.CLERK)
    log_in(page, clerk.username, "Wrong#Pass123")
    page.get_by_test_id("form-error").wait_for()
    assert "/accounts/login/" in page.url
    # The refused form is answered with 400, which Chromium logs as a failed load.
    assert all("400" in message for message in page.console_errors)
    page.console_errors.clear()


def test_signer_logs_in_through_the_totp_step(page, live_server, screenshot_dir):
    signer = make_member(None, Role.SIGNER, username="signer.demo", full_name="李签发")
    device = TOTPDeviceFactory.create(user=signer)

    log_in(page, signer.username)

    page.get_by_test_id("otp-form").wait_for()
    assert page.url.endswith("/accounts/otp/")
    page.screenshot(path=str(screenshot_dir / "otp-verify.png"), full_page=True)
    # Nothing else is reachable before the code.
    page.goto("/")
    page.get_by_test_id("otp-form").wait_for()

    page.locator("#id_token").fill(current_code(device))
    page.get_by_test_id("otp-submit").click()

    page.get_by_test_id("todo-centre").wait_for()
    assert page.url == f"{live_server.url}/"
    page.screenshot(path=str(screenshot_dir / "home-signer.png"), full_page=True)


def test_signer_without_a_device_enrols_and_lands_home(page, live_server, screenshot_dir):
    signer = make_member(None, Role.SIGNER, username="signer.new")

    log_in(page, signer.username)

    page.get_by_test_id("otp-setup-form").wait_for()
    assert page.locator("[data-testid=totp-qr] svg").is_visible()
    page.screenshot(path=str(screenshot_dir / "otp-setup.png"), full_page=True)
    # Read the key as a person would type it into the app (grouped in fours).
    shown = page.get_by_test_id("totp-secret").inner_text()
    secret = "".join(shown.split())
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert key == TOTPDevice.objects.get(user=signer).bin_key

    page.locator("#id_token").fill(f"{totp(key):06d}")
    page.get_by_test_id("otp-submit").click()

    page.get_by_test_id("todo-centre").wait_for()
    assert page.url == f"{live_server.url}/"
    assert TOTPDevice.objects.get(user=signer).confirmed
