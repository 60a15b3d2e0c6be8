"""Login, lockout, the TOTP second factor, logout, position switch and the idle timeout."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from egov.core.models import AuditEvent
from egov.orgs.choices import Role
from egov.orgs.models import User
from egov.orgs.tests.factories import (
    DEFAULT_PASSWORD,
    OrganisationFactory,
    PositionFactory,
    UserFactory,
    make_member,
)
from egov.orgs.tests.otp_helpers import TOTPDeviceFactory, current_code, login_verified

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
HOME = "/"


def login_url() -> str:
    return reverse("accounts:login")


def post_login(client: Client, username: str, password: str = DEFAULT_PASSWORD, **extra):
    return client.post(login_url(), {"username": username, "password": password}, **extra)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def clerk() -> User:
    return make_member(OrganisationFactory.create(name="河北省人民政府办公厅"), Role.CLERK)


@pytest.fixture
def signer() -> User:
    return make_member(None, Role.SIGNER)


# ---------------------------------------------------------------------------------------------
# URLs are the real ones


def test_urls_are_mounted_under_accounts():
    assert login_url() == LOGIN
    assert reverse("accounts:logout") == "/accounts/logout/"
    assert reverse("accounts:otp_verify").startswith("/accounts/")
    assert reverse("accounts:otp_setup").startswith("/accounts/")
    assert reverse("accounts:password_change").startswith("/accounts/")
    assert reverse("accounts:switch_position").startswith("/accounts/")
    assert reverse("web:home") == HOME


def test_login_page_renders_with_language_switch(client):
    response = client.get(login_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="login-form"' in html
    assert reverse("set_language") in html
    assert 'name="language"' in html


def test_anonymous_home_goes_to_login(client):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


# ---------------------------------------------------------------------------------------------
# Step 1: password


def test_clerk_logs_in_and_is_audited_with_ip(client, clerk):
    response = post_login(client, clerk.username, REMOTE_ADDR="10.20.30.40")
    assert response.status_code == 302
    assert response.url == HOME
    assert is_logged_in(client)
    assert client.get(HOME).status_code == 200
    [event] = events("auth.login")
    assert event.actor_id == clerk.pk
    assert event.actor_username == clerk.username
    assert event.source_ip == "10.20.30.40"
    assert event.outcome == "success"
    assert event.organisation_name == "河北省人民政府办公厅"
    assert event.position_id_snapshot is not None
    assert event.details["second_factor"] == "not_required"


def test_wrong_password_is_refused_and_audited_without_the_password(client, clerk):
    response = post_login(client, clerk.username, "Wrong#Pass123", REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 400
    assert 'data-testid="form-error"' in response.content.decode()
    assert not is_logged_in(client)
    [event] = events("auth.login_failed")
    assert event.outcome == "failure"
    assert event.actor_id is None
    assert event.actor_username == clerk.username
    assert event.details["username"] == clerk.username
    assert event.object_id == str(clerk.pk)
    assert event.source_ip == "10.0.0.9"
    assert "Wrong#Pass123" not in str(event.details)
    assert "Wrong#Pass123" not in event.object_repr
    assert not events("auth.login")


def test_unknown_user_is_audited_with_the_name_tried(client):
    response = post_login(client, "nobody-here")
    assert response.status_code == 400
    [event] = events("auth.login_failed")
    assert event.details["username"] == "nobody-here"
    assert event.object_id == ""


def test_inactive_user_cannot_log_in(client):
    user = make_member(None, Role.CLERK, is_active=False)
    response = post_login(client, user.username)
    assert response.status_code == 400
    assert not is_logged_in(client)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "", "password": ""},
        {"username": "x" * 5000, "password": "y"},
        {"username": "someone", "password": "p" * 5000},
        {"username": ["a", "b"], "password": "c"},
    ],
    ids=["empty", "blank", "long-username", "long-password", "list"],
)
def test_malformed_login_input_is_a_clear_error(client, data):
    response = client.post(login_url(), data)
    assert response.status_code == 400
    assert "field-error" in response.content.decode() or "form-error" in response.content.decode()
    assert not is_logged_in(client)


def test_wrong_content_type_is_a_clear_error(client):
    response = client.post(login_url(), data='{"username": "a"}', content_type="application/json")
    assert response.status_code == 400


def test_login_refuses_other_methods(client):
    assert client.put(login_url()).status_code == 405


def test_login_keeps_a_safe_next_and_drops_an_unsafe_one(client, clerk):
    response = client.post(
        login_url(),
        {"username": clerk.username, "password": DEFAULT_PASSWORD, "next": "/todos/?a=1"},
    )
    assert response.url == "/todos/?a=1"
    client.post(reverse("accounts:logout"))
    response = client.post(
        login_url(),
        {"username": clerk.username, "password": DEFAULT_PASSWORD, "next": "https://evil.example/"},
    )
    assert response.url == HOME


def test_logged_in_user_visiting_login_goes_home(client, clerk):
    client.force_login(clerk)
    response = client.get(login_url())
    assert response.status_code == 302
    assert response.url == HOME


# ---------------------------------------------------------------------------------------------
# Lockout (django-axes)


def test_five_wrong_passwords_lock_the_account(client, clerk):
    for attempt in range(1, 5):
        response = post_login(client, clerk.username, f"Wrong#{attempt}xyz")
        assert response.status_code == 400, attempt
    response = post_login(client, clerk.username, "Wrong#5xyz")
    assert response.status_code == 429
    assert 'data-testid="locked-out"' in response.content.decode()
    assert int(response["Retry-After"]) > 0
    [locked] = events("auth.locked_out")
    assert locked.outcome == "denied"
    assert locked.details["username"] == clerk.username
    assert len(events("auth.login_failed")) == 5

    # The right password does not help while the lock lasts ...
    response = post_login(client, clerk.username)
    assert response.status_code == 429
    assert not is_logged_in(client)
    assert events("auth.login_failed")[-1].details["reason"] == "locked_out"
    assert len(events("auth.locked_out")) == 1

    # ... and after the cool-off (30 minutes) it does.
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=False):
        response = post_login(client, clerk.username)
        assert response.status_code == 302
        assert is_logged_in(client)


def test_lockout_applies_from_another_address_too(client, clerk):
    for attempt in range(5):
        post_login(client, clerk.username, f"Wrong#{attempt}xyz", REMOTE_ADDR="10.0.0.1")
    other = Client(REMOTE_ADDR="10.0.0.2")
    response = post_login(other, clerk.username)
    assert response.status_code == 429
    assert not is_logged_in(other)


def test_lockout_page_says_whom_to_call(client, clerk, settings):
    settings.EGOV_HELPDESK = "安全管理员 0311-87654321"
    for attempt in range(5):
        response = post_login(client, clerk.username, f"Wrong#{attempt}xyz")
    html = response.content.decode()
    assert 'data-testid="helpdesk"' in html
    assert "0311-87654321" in html
    assert 'data-testid="locked-until"' in html


def test_lockout_answers_json_to_api_clients(client, clerk):
    for attempt in range(5):
        response = post_login(
            client, clerk.username, f"Wrong#{attempt}xyz", HTTP_ACCEPT="application/json"
        )
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "locked_out"
    assert body["details"][0]["retry_at"]


def test_a_successful_login_resets_the_failure_count(client, clerk):
    for attempt in range(4):
        post_login(client, clerk.username, f"Wrong#{attempt}xyz")
    assert post_login(client, clerk.username).status_code == 302
    client.post(reverse("accounts:logout"))
    for attempt in range(4):
        assert post_login(client, clerk.username, f"Wrong#{attempt}xyz").status_code == 400


# ---------------------------------------------------------------------------------------------
# Step 2: TOTP


@pytest.mark.parametrize(
    "role", [Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.SIGNER]
)
def test_second_factor_roles_must_pass_the_otp_step(client, role):
    user = make_member(None, role)
    TOTPDeviceFactory.create(user=user)
    response = post_login(client, user.username)
    assert response.status_code == 302
    assert response.url == reverse("accounts:otp_verify")
    [event] = events("auth.login")
    assert event.details["second_factor"] == "pending"
    # Half-logged-in: nothing else is reachable.
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp_verify"))
    response = client.get("/orgs/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp_verify"))


def test_clerk_needs_no_second_factor(client, clerk):
    response = post_login(client, clerk.username)
    assert response.url == HOME
    assert client.get(HOME).status_code == 200


def test_staff_need_a_second_factor(client):
    user = make_member(None, Role.CLERK, is_staff=True)
    response = post_login(client, user.username)
    assert response.url == reverse("accounts:otp_setup")


def test_half_logged_in_api_call_gets_the_error_shape(client, signer):
    TOTPDeviceFactory.create(user=signer)
    post_login(client, signer.username)
    response = client.get("/api/v1/anything")
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"


def test_htmx_request_while_half_logged_in_is_told_to_navigate(client, signer):
    TOTPDeviceFactory.create(user=signer)
    post_login(client, signer.username)
    response = client.get(HOME, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("accounts:otp_verify")


def test_signer_verifies_with_a_code_from_the_device(client, signer):
    device = TOTPDeviceFactory.create(user=signer)
    post_login(client, signer.username, REMOTE_ADDR="10.9.8.7")
    response = client.get(reverse("accounts:otp_verify"))
    assert response.status_code == 200
    assert 'data-testid="otp-form"' in response.content.decode()
    response = client.post(reverse("accounts:otp_verify"), {"token": current_code(device)})
    assert response.status_code == 302
    assert response.url == HOME
    assert client.get(HOME).status_code == 200
    [event] = events("auth.otp_verified")
    assert event.actor_id == signer.pk
    assert event.source_ip == "127.0.0.1"


def test_otp_step_returns_to_the_page_first_asked_for(client, signer):
    device = TOTPDeviceFactory.create(user=signer)
    client.post(
        login_url(),
        {"username": signer.username, "password": DEFAULT_PASSWORD, "next": "/todos/"},
    )
    response = client.post(reverse("accounts:otp_verify"), {"token": current_code(device)})
    assert response.url == "/todos/"


def test_wrong_code_is_refused_audited_and_throttled(client, signer):
    device = TOTPDeviceFactory.create(user=signer)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        post_login(client, signer.username)
        right = current_code(device)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        response = client.post(reverse("accounts:otp_verify"), {"token": wrong})
        assert response.status_code == 400
        assert 'data-testid="error-token"' in response.content.decode()
        [event] = events("auth.otp_failed")
        assert event.outcome == "failure"
        assert event.actor_id == signer.pk
        # Straight after a failure the device refuses even the right code (back-off) ...
        response = client.post(reverse("accounts:otp_verify"), {"token": right})
        assert response.status_code == 429
        assert client.get(HOME).status_code == 302
        # ... and accepts it once the back-off has passed.
        traveller.shift(timedelta(seconds=2))
        response = client.post(reverse("accounts:otp_verify"), {"token": right})
        assert response.status_code == 302
        assert client.get(HOME).status_code == 200


@pytest.mark.parametrize("token", ["", "abcdef", "12345", "1" * 17, "１２３４５６"])
def test_malformed_code_is_a_field_error_and_not_counted(client, signer, token):
    device = TOTPDeviceFactory.create(user=signer)
    post_login(client, signer.username)
    response = client.post(reverse("accounts:otp_verify"), {"token": token})
    assert response.status_code == 400
    assert 'data-testid="error-token"' in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert not events("auth.otp_failed")


def test_five_wrong_codes_lock_the_account_and_log_out(client, signer):
    device = TOTPDeviceFactory.create(user=signer)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post_login(client, signer.username)
        right = int(current_code(device))
        for attempt in range(5):
            traveller.shift(timedelta(seconds=2**attempt + 1))
            wrong = f"{(right + 500_000 + attempt) % 1_000_000:06d}"
            response = client.post(reverse("accounts:otp_verify"), {"token": wrong})
        assert response.status_code == 429
        assert 'data-testid="locked-out"' in response.content.decode()
        assert not is_logged_in(client)
        assert len(events("auth.otp_failed")) == 5
        [locked] = events("auth.locked_out")
        assert locked.details["stage"] == "login"
        # The password step is locked too.
        assert post_login(client, signer.username).status_code == 429


def test_signer_without_device_enrols_then_lands_home(client, signer):
    response = post_login(client, signer.username)
    assert response.url == reverse("accounts:otp_setup")
    response = client.get(reverse("accounts:otp_setup"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html  # the QR code, drawn locally
    assert 'data-testid="totp-secret"' in html
    device = TOTPDevice.objects.get(user=signer)
    assert not device.confirmed
    secret = html.split('data-secret="', 1)[1].split('"', 1)[0]
    padded = secret + "=" * (-len(secret) % 8)
    assert base64.b32decode(padded) == device.bin_key
    # Reloading shows the same secret (no new device each time).
    client.get(reverse("accounts:otp_setup"))
    assert TOTPDevice.objects.filter(user=signer).count() == 1

    response = client.post(reverse("accounts:otp_setup"), {"token": current_code(device)})
    assert response.status_code == 302
    assert response.url == HOME
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(HOME).status_code == 200
    assert len(events("auth.otp_enrolled")) == 1
    assert len(events("auth.otp_enrolment_started")) == 1


def test_enrolment_with_a_wrong_code_does_not_confirm(client, signer):
    post_login(client, signer.username)
    client.get(reverse("accounts:otp_setup"))
    device = TOTPDevice.objects.get(user=signer)
    wrong = f"{(int(current_code(device)) + 3) % 1_000_000:06d}"
    response = client.post(reverse("accounts:otp_setup"), {"token": wrong})
    assert response.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    assert events("auth.otp_failed")[0].details["stage"] == "enrolment"
    assert client.get(HOME).status_code == 302


def test_existing_device_cannot_be_replaced_by_enrolling_again(client, signer):
    TOTPDeviceFactory.create(user=signer)
    post_login(client, signer.username)
    response = client.get(reverse("accounts:otp_setup"))
    assert response.status_code == 302
    assert response.url == reverse("accounts:otp_verify")
    response = client.post(reverse("accounts:otp_setup"), {"token": "123456"})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=signer).count() == 1


def test_clerk_has_no_enrolment_page(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("accounts:otp_setup")).status_code == 404


def test_otp_pages_need_a_login(client):
    for name in ("accounts:otp_verify", "accounts:otp_setup", "accounts:password_change"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(LOGIN)


def test_a_new_password_login_needs_the_code_again(client, signer):
    device = TOTPDeviceFactory.create(user=signer)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post_login(client, signer.username)
        client.post(reverse("accounts:otp_verify"), {"token": current_code(device)})
        assert client.get(HOME).status_code == 200
        traveller.shift(timedelta(seconds=1))
        post_login(client, signer.username)
        assert client.get(HOME).status_code == 302


# ---------------------------------------------------------------------------------------------
# Logout


def test_logout_is_post_only_and_audited(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert is_logged_in(client)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response.url == LOGIN
    assert not is_logged_in(client)
    [event] = events("auth.logout")
    assert event.actor_id == clerk.pk
    assert client.get(HOME).status_code == 302


def test_anonymous_logout_is_harmless(client):
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert not events("auth.logout")


def test_logout_needs_the_csrf_token():
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(make_member(None, Role.CLERK))
    assert csrf_client.post(reverse("accounts:logout")).status_code == 403
    assert "_auth_user_id" in csrf_client.session


# ---------------------------------------------------------------------------------------------
# Position switch


def test_switch_to_another_own_position(client):
    user = make_member(OrganisationFactory.create(), Role.CLERK)
    other_org = OrganisationFactory.create(name="河北省发展和改革委员会")
    other = PositionFactory.create(
        user=user, organisation=other_org, is_primary=False, roles=[Role.DRAFTER]
    )
    client.force_login(user)
    response = client.post(
        reverse("accounts:switch_position"), {"position": str(other.uuid), "next": "/todos/"}
    )
    assert response.status_code == 302
    assert response.url == "/todos/"
    assert client.session["position_id"] == other.pk
    [event] = events("auth.position_switched")
    assert event.position_id_snapshot == other.pk
    assert event.organisation_name == "河北省发展和改革委员会"
    # Later requests act in the chosen position.
    client.get(HOME)
    assert client.session["position_id"] == other.pk


def test_switch_position_refuses_someone_elses_position(client, clerk):
    stranger = PositionFactory.create(user=UserFactory.create(), roles=[Role.SIGNER])
    client.force_login(clerk)
    response = client.post(reverse("accounts:switch_position"), {"position": str(stranger.uuid)})
    assert response.status_code == 404
    assert "position_id" not in client.session
    assert not events("auth.position_switched")


def test_switch_position_refuses_an_inactive_own_position(client, clerk):
    old = PositionFactory.create(user=clerk, is_primary=False, is_active=False)
    client.force_login(clerk)
    response = client.post(reverse("accounts:switch_position"), {"position": str(old.uuid)})
    assert response.status_code == 404


@pytest.mark.parametrize("value", ["", "not-a-uuid", "1", "x" * 5000])
def test_switch_position_malformed_input_names_the_field(client, clerk, value):
    client.force_login(clerk)
    response = client.post(reverse("accounts:switch_position"), {"position": value})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "position"


def test_switch_position_is_post_only_and_needs_login(client, clerk):
    response = client.post(reverse("accounts:switch_position"), {"position": "x"})
    assert response.status_code == 302
    client.force_login(clerk)
    assert client.get(reverse("accounts:switch_position")).status_code == 405


def test_switch_position_ignores_an_unsafe_next(client):
    user = make_member(None, Role.CLERK)
    other = PositionFactory.create(user=user, is_primary=False)
    client.force_login(user)
    response = client.post(
        reverse("accounts:switch_position"),
        {"position": str(other.uuid), "next": "//evil.example/"},
    )
    assert response.url == HOME


# ---------------------------------------------------------------------------------------------
# Idle timeout


def test_session_ends_after_thirty_idle_minutes(client, clerk, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        post_login(client, clerk.username)
        traveller.shift(timedelta(minutes=29))
        assert client.get(HOME).status_code == 200  # activity renews the session
        traveller.shift(timedelta(minutes=29))
        assert client.get(HOME).status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get(HOME)
        assert response.status_code == 302
        assert response.url.startswith(LOGIN)


# ---------------------------------------------------------------------------------------------
# Django admin


def test_admin_site_requires_a_second_factor():
    assert isinstance(admin.site, OTPAdminSite)


def test_admin_login_is_our_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    response = client.get(response.url)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert "next=%2Fadmin%2F" in response.url


def test_verified_staff_reach_the_admin(client):
    user = make_member(None, Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True)
    login_verified(client, user)
    assert client.get("/admin/").status_code == 200


def test_unverified_staff_do_not_reach_the_admin(client):
    user = make_member(None, Role.CLERK, is_staff=True, is_superuser=True)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp_verify"))


def test_admin_logout_is_audited(client):
    user = make_member(None, Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True)
    login_verified(client, user)
    response = client.post("/admin/logout/")
    assert response.status_code == 302
    assert not is_logged_in(client)
    assert len(events("auth.logout")) == 1


@pytest.mark.parametrize("url", ["/admin/password_change/", "/admin/password_change/done/"])
def test_admin_password_change_goes_through_the_accounts_page(client, url):
    user = make_member(None, Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True)
    login_verified(client, user)
    new = "Xy7#kq!pLm2w"
    body = {"old_password": DEFAULT_PASSWORD, "new_password1": new, "new_password2": new}
    response = client.post(url, body)
    # Django's own form would change the password without history, date or audit event.
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert not events("auth.password_changed")
    response = client.get(url)
    assert response.status_code == 302
    if url.endswith("done/"):
        assert response.url == reverse("admin:index")
        return
    assert response.url.startswith(reverse("accounts:password_change"))
    assert "next=%2Fadmin%2F" in response.url
    response = client.post(response.url, body)
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    user.refresh_from_db()
    assert user.check_password(new)
    assert user.password_changed_at is not None
    assert user.password_history.count() == 1
    assert len(events("auth.password_changed")) == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time"
)
@pytest.mark.django_db(transaction=True)
def test_a_code_brought_twice_at_once_is_accepted_once(signer):
    """Replay protection holds under concurrency (two browsers, one code, the same moment)."""
    answers: list[int] = []

    def verify(barrier: threading.Barrier, browser: Client, code: str) -> None:
        try:
            barrier.wait(timeout=10)
            response = browser.post(reverse("accounts:otp_verify"), {"token": code})
            answers.append(response.status_code)
        finally:
            connection.close()

    for _ in range(3):  # the window is narrow: try a few times
        answers.clear()
        device = TOTPDeviceFactory.create(user=signer)
        clients = [Client(), Client()]
        for browser in clients:
            browser.force_login(signer)  # the password step passed; the second factor is due
        barrier = threading.Barrier(2)
        code = current_code(device)
        threads = [
            threading.Thread(target=verify, args=(barrier, browser, code)) for browser in clients
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(answers) == [302, 400]
        TOTPDevice.objects.filter(user=signer).delete()
