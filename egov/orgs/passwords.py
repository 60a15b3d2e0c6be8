"""Password policy (GB/T 22239 level 3, 身份鉴别): complexity, no reuse, optional expiry.

The validators plug into Django's AUTH_PASSWORD_VALIDATORS (settings/base.py); expiry is read by
`egov.orgs.middleware.AccountPolicyMiddleware`, which sends the person to change their password.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Longest password accepted anywhere (forms refuse longer ones before hashing them).
MAX_PASSWORD_LENGTH = 128
# How many previous hashes are kept per user (more than any sensible `history` setting).
KEPT_HISTORY = 24


def character_classes(password: str) -> int:
    """How many of: lower-case letters, upper-case letters, digits, other symbols."""
    return sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )


class CharacterClassValidator:
    """At least `min_classes` of: lower-case letters, upper-case letters, digits, other symbols."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password: str, user: Any = None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                self.get_help_text(),
                code="password_too_simple",
                params={"n": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _(
            "Your password must contain at least %(n)d of: lower-case letters, upper-case letters, "
            "digits, symbols."
        ) % {"n": self.min_classes}


class MaximumLengthValidator:
    """Refuses absurdly long passwords (they cost hashing time and are never typed by a person)."""

    def __init__(self, max_length: int = MAX_PASSWORD_LENGTH):
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(self.get_help_text(), code="password_too_long")

    def get_help_text(self) -> str:
        return _("Your password may have at most %(n)d characters.") % {"n": self.max_length}


class PasswordHistoryValidator:
    """The new password may be neither the current one nor any of the last `history` ones."""

    def __init__(self, history: int = 5):
        self.history = history

    def validate(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None:
            return
        if user.password and check_password(password, user.password):
            raise ValidationError(self._message(), code="password_reused")
        for old in user.password_history.all()[: self.history]:
            if check_password(password, old.password):
                raise ValidationError(self._message(), code="password_reused")

    def _message(self) -> str:
        return ngettext(
            "Your password may not be the same as your last password.",
            "Your password may not be the same as any of your last %(n)d passwords.",
            self.history,
        ) % {"n": self.history}

    def get_help_text(self) -> str:
        return self._message()


def password_max_age() -> timedelta | None:
    days = int(getattr(settings, "EGOV_PASSWORD_MAX_AGE_DAYS", 0) or 0)
    return timedelta(days=days) if days > 0 else None


def password_expires_at(user: Any) -> datetime | None:
    """When the user's password expires, or None when expiry is off.

    A password whose change date is unknown counts from the day the account was created.
    """
    max_age = password_max_age()
    if max_age is None:
        return None
    changed_at = user.password_changed_at or user.date_joined
    return changed_at + max_age if changed_at is not None else None


def password_has_expired(user: Any, now: datetime | None = None) -> bool:
    expires_at = password_expires_at(user)
    return expires_at is not None and (now or timezone.now()) >= expires_at


def password_change_required(user: Any) -> bool:
    """An initial or reset password (must_change_password) or an expired one must be changed."""
    return bool(user.must_change_password) or password_has_expired(user)
