"""Token flow: issue, use, expire, refresh with rotation, reuse detection, revoke, lockout, 2FA."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_otp.oath import TOTP

from egov.api.auth import hash_token, make_access_token
from egov.api.models import ApiDevice
from egov.api.testing import ApiClient
from egov.api.tests.factories import ApiDeviceFactory, TOTPDeviceFactory
from egov.core.models import AuditEvent
from egov.orgs.choices import Role
from egov.orgs.tests.factories import DEFAULT_PASSWORD, make_member

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/refresh"
REVOKE_URL = "/api/v1/auth/revoke"
ME_URL = "/api/v1/me"


def _login(client: ApiClient, username: str, password: str = DEFAULT_PASSWORD, **extra: str):
    body = {"username": username, "password": password, "device_id": "phone-1", **extra}
    return client.post_json(TOKEN_URL, body)


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


@pytest.fixture
def anon() -> ApiClient:
    return ApiClient()


def test_issue_use_and_expire(anon, clerk):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        response = _login(anon, "clerk", device_name="张三的手机")
        assert response.status_code == 200
        tokens = response.json()
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 15 * 60
        device = ApiDevice.objects.get(uuid=tokens["device"])
        assert device.user == clerk and device.name == "张三的手机"
        # Only the hash of the refresh token is stored.
        assert device.refresh_token_hash == hash_token(tokens["refresh_token"])
        assert tokens["refresh_token"] not in device.refresh_token_hash

        client = ApiClient(token=tokens["access_token"])
        assert client.get(ME_URL).json()["user"]["username"] == "clerk"

        traveller.shift(timedelta(minutes=14))
        assert client.get(ME_URL).status_code == 200
        traveller.shift(timedelta(minutes=2))
        response = client.get(ME_URL)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert "auth.token_issued" in _actions()


def test_refresh_rotates_and_reuse_revokes_the_device(anon, clerk):
    first = _login(anon, "clerk").json()
    second = anon.post_json(REFRESH_URL, {"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["device"] == first["device"]
    assert ApiClient(token=second["access_token"]).get(ME_URL).status_code == 200
    assert "auth.token_refreshed" in _actions()

    # The old refresh token comes back: someone copied it. The device is signed out.
    reused = anon.post_json(REFRESH_URL, {"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "invalid_token"
    assert reused.json()["details"][0]["field"] == "refresh_token"
    device = ApiDevice.objects.get(uuid=first["device"])
    assert device.revoked_at is not None and device.revoked_reason == "refresh_token_reused"
    # Every token of that device stops working, the newest too.
    assert ApiClient(token=second["access_token"]).get(ME_URL).status_code == 401
    again = anon.post_json(REFRESH_URL, {"refresh_token": second["refresh_token"]})
    assert again.status_code == 401
    assert "auth.device_revoked" in _actions()


def test_refresh_token_expires(anon, clerk):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        tokens = _login(anon, "clerk").json()
        traveller.shift(timedelta(days=31))
        response = anon.post_json(REFRESH_URL, {"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


@pytest.mark.parametrize("token", ["", "garbage", "a" * 400, "e30:1:abc"])
def test_refresh_with_a_forged_token(anon, clerk, token):
    response = anon.post_json(REFRESH_URL, {"refresh_token": token})
    assert response.status_code in (401, 422)
    assert not ApiDevice.objects.filter(revoked_at__isnull=False).exists()


def test_revoke_signs_the_device_out(anon, clerk):
    tokens = _login(anon, "clerk").json()
    response = anon.post_json(REVOKE_URL, {"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 204
    assert ApiClient(token=tokens["access_token"]).get(ME_URL).status_code == 401
    assert (
        anon.post_json(REFRESH_URL, {"refresh_token": tokens["refresh_token"]}).status_code == 401
    )
    # Signing in again on the same device gives a new, working device row.
    fresh = _login(anon, "clerk").json()
    assert fresh["device"] != tokens["device"]
    assert ApiClient(token=fresh["access_token"]).get(ME_URL).status_code == 200


def test_devices_list_and_delete(anon, clerk):
    tokens = _login(anon, "clerk").json()
    client = ApiClient(token=tokens["access_token"])
    other = ApiDeviceFactory.create(user=clerk, device_id="tablet")
    stranger_device = ApiDeviceFactory.create()
    listed = client.get("/api/v1/auth/devices").json()
    assert listed["count"] == 2
    assert {d["current"] for d in listed["items"]} == {True, False}
    # Another user's device: 404, untouched.
    response = client.delete(f"/api/v1/auth/devices/{stranger_device.uuid}")
    assert response.status_code == 404
    stranger_device.refresh_from_db()
    assert stranger_device.revoked_at is None
    assert client.delete(f"/api/v1/auth/devices/{other.uuid}").status_code == 204
    other.refresh_from_db()
    assert other.revoked_at is not None
    assert client.delete("/api/v1/auth/devices/not-a-uuid").status_code in (404, 422)


def test_wrong_password_is_audited_and_locks_out_after_five(anon, clerk):
    for _ in range(4):
        response = _login(anon, "clerk", password="wrong-password")
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
    response = _login(anon, "clerk", password="wrong-password")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    # Locked: the right password does not help now.
    response = _login(anon, "clerk")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert not ApiDevice.objects.exists()
    failures = AuditEvent.objects.filter(action="auth.token_failed")
    assert failures.count() == 6
    assert set(failures.values_list("actor_username", flat=True)) == {"clerk"}


def test_unknown_user_gets_the_same_answer(anon, db):
    response = _login(anon, "nobody")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_a_password_that_must_change_blocks_token_issue(anon, clerk):
    clerk.must_change_password = True
    clerk.save(update_fields=["must_change_password"])
    response = _login(anon, "clerk")
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"
    assert not ApiDevice.objects.exists()


def test_refresh_refused_while_the_password_must_change(anon, clerk):
    tokens = _login(anon, "clerk").json()
    clerk.must_change_password = True
    clerk.save(update_fields=["must_change_password"])
    response = anon.post_json(REFRESH_URL, {"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"
    # Not a theft: the device stays signed in and refreshes once the password is changed.
    clerk.must_change_password = False
    clerk.save(update_fields=["must_change_password"])
    response = anon.post_json(REFRESH_URL, {"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200


def test_inactive_user_cannot_use_tokens(anon, clerk):
    tokens = _login(anon, "clerk").json()
    clerk.is_active = False
    clerk.save(update_fields=["is_active"])
    assert ApiClient(token=tokens["access_token"]).get(ME_URL).status_code == 401


def test_second_factor_roles_need_a_totp_code(anon, tree):
    make_member(tree.province, Role.SECURITY_ADMIN, username="secadmin")
    response = _login(anon, "secadmin")
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_setup_required"

    from egov.orgs.models import User

    device = TOTPDeviceFactory.create(user=User.objects.get(username="secadmin"))
    response = _login(anon, "secadmin")
    assert response.status_code == 401
    assert response.json()["code"] == "otp_required"
    assert response.json()["details"][0]["field"] == "otp"

    response = _login(anon, "secadmin", otp="000000")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_otp"
    assert not ApiDevice.objects.exists()

    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    response = _login(anon, "secadmin", otp=f"{code:06d}")
    assert response.status_code == 200, response.json()


def test_session_auth_needs_csrf_on_writes(clerk, tree):
    from django.test import Client

    from egov.api.testing import check_response

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(clerk)
    response = browser.get(ME_URL)
    check_response("GET", ME_URL, response)
    assert response.status_code == 200
    url = "/api/v1/notifications/read-all"
    response = browser.post(url)
    check_response("POST", url, response)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    browser.get("/api/v1/docs")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post(url, HTTP_X_CSRFTOKEN=token)
    check_response("POST", url, response)
    assert response.status_code == 200


def test_session_of_a_second_factor_role_must_be_verified(tree):
    admin = make_member(tree.province, Role.AUDIT_ADMIN, username="auditor")
    client = ApiClient()
    client.force_login(admin)
    assert client.get(ME_URL).status_code in (401, 403)


def test_a_token_for_another_user_id_is_refused(clerk, sysadmin):
    device = ApiDeviceFactory.create(user=clerk)
    token = make_access_token(device)
    device.user = sysadmin
    forged = make_access_token(device)
    assert ApiClient(token=token).get(ME_URL).status_code == 200
    assert ApiClient(token=forged).get(ME_URL).status_code == 401
    assert ApiClient(token=token + "x").get(ME_URL).status_code == 401


def test_a_password_change_signs_every_device_out(anon, clerk):
    from django.test import Client

    tokens = _login(anon, "clerk").json()
    access = ApiClient(token=tokens["access_token"])
    assert access.get(ME_URL).status_code == 200
    browser = Client()
    browser.force_login(clerk)
    new = "Xy7#kq!pLm2w"
    response = browser.post(
        "/accounts/password/",
        {"old_password": DEFAULT_PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    # As for the person's other browser sessions: the device signed in with the old password.
    assert access.get(ME_URL).status_code == 401
    response = anon.post_json(REFRESH_URL, {"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    device = ApiDevice.objects.get(uuid=tokens["device"])
    assert device.revoked_at is not None and device.revoked_reason == "password_changed"
    # Signing in again with the new password works.
    fresh = _login(anon, "clerk", password=new)
    assert fresh.status_code == 200
    assert ApiClient(token=fresh.json()["access_token"]).get(ME_URL).status_code == 200


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time"
)
@pytest.mark.django_db(transaction=True)
def test_two_sign_ins_of_one_new_device_at_once(clerk):
    """A client retrying on a slow network: both sign-ins succeed (no IntegrityError, no 500)."""
    answers: list[int] = []

    def sign_in(barrier: threading.Barrier, device_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(_login(ApiClient(), "clerk", device_id=device_id).status_code)
        finally:
            connection.close()

    for round_ in range(5):  # the window is narrow: try a few times
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=sign_in, args=(barrier, f"phone-{round_}")) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert answers == [200] * 10
    assert ApiDevice.objects.filter(user=clerk, revoked_at__isnull=True).count() == 5
