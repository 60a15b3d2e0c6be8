"""Password policy: length, character classes, history, forced change and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from egov.core.acting import Acting
from egov.core.models import AuditEvent
from egov.orgs.choices import Role
from egov.orgs.identity import do_change_password
from egov.orgs.models import PasswordHistory, User
from egov.orgs.passwords import (
    CharacterClassValidator,
    character_classes,
    password_change_required,
)
from egov.orgs.tests.factories import DEFAULT_PASSWORD, make_member
from egov.orgs.tests.otp_helpers import TOTPDeviceFactory, current_code

HOME = "/"


def change(client: Client, old: str, new: str, again: str | None = None):
    return client.post(
        reverse("accounts:password_change"),
        {
            "old_password": old,
            "new_password1": new,
            "new_password2": new if again is None else again,
        },
    )


def error_codes(password: str, user: User | None = None) -> set[str]:
    try:
        validate_password(password, user)
    except ValidationError as error:
        return {e.code for e in error.error_list if e.code}
    return set()


# ---------------------------------------------------------------------------------------------
# Validators


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Abcdefg1", True),  # lower, upper, digit
        ("abcdef1!", True),  # lower, digit, symbol
        ("ABCDEF1!", True),  # upper, digit, symbol
        ("Abcdefg!", True),  # lower, upper, symbol
        ("abcdefgh", False),
        ("abcdefg1", False),
        ("ABCDEFG!", False),
        ("12345678!", False),
        ("政务平台政务平台1a", False),  # CJK letters are no class of their own
    ],
)
def test_character_classes(password, ok):
    validator = CharacterClassValidator(min_classes=3)
    if ok:
        validator.validate(password)
    else:
        with pytest.raises(ValidationError) as info:
            validator.validate(password)
        assert info.value.error_list[0].code == "password_too_simple"


@given(st.text(max_size=40))
def test_character_classes_counts_between_zero_and_four(password):
    assert 0 <= character_classes(password) <= 4


@pytest.mark.django_db
def test_policy_as_configured():
    assert "password_too_short" in error_codes("Ab1!x")
    assert "password_too_simple" in error_codes("abcdefghij")
    assert "password_too_long" in error_codes("Ab1!" * 40)
    assert error_codes("Hebei#Office2026") == set()


@pytest.mark.django_db
def test_history_refuses_current_and_recent_passwords(client):
    user = make_member(None, Role.CLERK)
    first = DEFAULT_PASSWORD
    assert "password_reused" in error_codes(first, user)
    passwords = ["Second#Pass21", "Third#Pass321", "Fourth#Pass4321"]
    for new in passwords:
        do_change_password(user, new, acting=Acting.system("test"))
    user.refresh_from_db()
    for old in [first, *passwords]:
        assert "password_reused" in error_codes(old, user), old
    assert error_codes("Brand#New2026x", user) == set()
    assert PasswordHistory.objects.filter(user=user).count() == 3


@pytest.mark.django_db
def test_history_forgets_passwords_older_than_the_window():
    user = make_member(None, Role.CLERK)
    for n in range(7):
        do_change_password(user, f"Rotate#{n}Pass!", acting=Acting.system("test"))
    user.refresh_from_db()
    assert "password_reused" not in error_codes(DEFAULT_PASSWORD, user)  # 7 changes ago
    assert "password_reused" in error_codes("Rotate#3Pass!", user)


# ---------------------------------------------------------------------------------------------
# Change through the page


@pytest.mark.django_db
def test_change_password_writes_history_and_audit(client):
    user = make_member(None, Role.CLERK)
    old_hash = user.password
    client.force_login(user)
    assert client.get(reverse("accounts:password_change")).status_code == 200
    with time_machine.travel("2026-07-24 09:00 +0800", tick=False):
        client.force_login(user)
        response = change(client, DEFAULT_PASSWORD, "Hebei#Office2026")
        # This session stays logged in.
        assert client.get(HOME).status_code == 200
    assert response.status_code == 302
    assert response.url == HOME
    user.refresh_from_db()
    assert user.check_password("Hebei#Office2026")
    assert user.password_changed_at is not None
    assert user.password_changed_at.isoformat() == "2026-07-24T01:00:00+00:00"
    assert not user.must_change_password
    assert PasswordHistory.objects.get(user=user).password == old_hash
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.outcome == "success"
    assert event.actor_id == user.pk


@pytest.mark.django_db
def test_change_password_logs_out_other_sessions():
    user = make_member(None, Role.CLERK)
    here, elsewhere = Client(), Client()
    here.force_login(user)
    elsewhere.force_login(user)
    change(here, DEFAULT_PASSWORD, "Hebei#Office2026")
    assert here.get(HOME).status_code == 200
    assert elsewhere.get(HOME).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "again", "field"),
    [
        ("Wrong#Old123", "Hebei#Office2026", None, "old_password"),
        (DEFAULT_PASSWORD, "Hebei#Office2026", "Hebei#Office2027", "new_password2"),
        (DEFAULT_PASSWORD, "short1A", None, "new_password1"),
        (DEFAULT_PASSWORD, "alllowercase", None, "new_password1"),
        (DEFAULT_PASSWORD, DEFAULT_PASSWORD, None, "new_password1"),
        (DEFAULT_PASSWORD, "Ab1!" * 40, None, "new_password1"),
        ("x" * 5000, "Hebei#Office2026", None, "old_password"),
        ("", "", None, "old_password"),
    ],
    ids=["wrong-old", "mismatch", "short", "simple", "reused", "too-long", "huge-old", "blank"],
)
def test_bad_password_change_names_the_field_and_changes_nothing(client, old, new, again, field):
    user = make_member(None, Role.CLERK)
    before = user.password
    client.force_login(user)
    response = change(client, old, new, again)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    user.refresh_from_db()
    assert user.password == before
    assert not PasswordHistory.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.outcome == "failure"
    assert field in event.details["fields"]


@pytest.mark.django_db
def test_guessing_the_current_password_locks_the_account_as_at_login(client):
    from axes.models import AccessAttempt

    user = make_member(None, Role.CLERK)
    client.force_login(user)
    for _ in range(4):
        assert change(client, "Wrong#Guess123", "Hebei#Office2026").status_code == 400
    response = change(client, "Wrong#Guess124", "Hebei#Office2026")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 1
    assert AuditEvent.objects.get(action="auth.locked_out").details["stage"] == "password_change"
    # Locked: the right password does not log in now.
    response = Client().post(
        reverse("accounts:login"), {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    # Axes keeps the form data of each failure: never the passwords typed.
    kept = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "Wrong#Guess" not in kept
    assert "Hebei#Office2026" not in kept


@pytest.mark.django_db
def test_a_wrong_new_password_does_not_count_towards_the_lock(client):
    user = make_member(None, Role.CLERK)
    client.force_login(user)
    for _ in range(6):
        assert change(client, DEFAULT_PASSWORD, "alllowercase").status_code == 400
    assert not AuditEvent.objects.filter(action="auth.locked_out").exists()
    assert client.get(HOME).status_code == 200


# ---------------------------------------------------------------------------------------------
# Forced change and expiry


@pytest.mark.django_db
def test_initial_password_must_be_changed_first(client):
    user = make_member(None, Role.CLERK, must_change_password=True)
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.url == reverse("accounts:password_change")
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:password_change"))
    page = client.get(reverse("accounts:password_change"))
    assert 'data-testid="password-change-required"' in page.content.decode()
    assert client.get("/api/v1/anything").json()["code"] == "password_change_required"
    # Logging out stays possible.
    assert change(client, DEFAULT_PASSWORD, "Hebei#Office2026").status_code == 302
    assert client.get(HOME).status_code == 200


@pytest.mark.django_db
def test_second_factor_comes_before_the_forced_password_change(client):
    user = make_member(None, Role.SIGNER, must_change_password=True)
    device = TOTPDeviceFactory.create(user=user)
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.url == reverse("accounts:otp_verify")
    response = client.post(reverse("accounts:otp_verify"), {"token": current_code(device)})
    assert response.url == reverse("accounts:password_change")
    assert client.get(HOME).status_code == 302


@pytest.mark.django_db
def test_expired_password_redirects_to_change(client, settings):
    settings.EGOV_PASSWORD_MAX_AGE_DAYS = 90
    start = timezone.now()
    user = make_member(None, Role.CLERK, password_changed_at=start)
    with time_machine.travel(start + timedelta(days=89), tick=False):
        client.force_login(user)
        assert client.get(HOME).status_code == 200
    with time_machine.travel(start + timedelta(days=91), tick=False):
        client.force_login(user)
        response = client.get(HOME)
        assert response.status_code == 302
        assert response.url == f"{reverse('accounts:password_change')}?next=%2F"
        assert change(client, DEFAULT_PASSWORD, "Hebei#Office2026").url == HOME
        assert client.get(HOME).status_code == 200


@pytest.mark.django_db
def test_unknown_change_date_counts_from_account_creation(settings):
    settings.EGOV_PASSWORD_MAX_AGE_DAYS = 30
    user = make_member(None, Role.CLERK, date_joined=timezone.now() - timedelta(days=31))
    assert user.password_changed_at is None
    assert password_change_required(user)


@pytest.mark.django_db
def test_expiry_off_by_default(settings):
    assert settings.EGOV_PASSWORD_MAX_AGE_DAYS == 0
    user = make_member(None, Role.CLERK, date_joined=timezone.now() - timedelta(days=3650))
    assert not password_change_required(user)
