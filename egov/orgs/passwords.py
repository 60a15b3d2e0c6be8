"""Password policy (GB/T 22239 level 3, 身份鉴别): character classes and no reuse."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class CharacterClassValidator:
    """At least `min_classes` of: lower-case letters, upper-case letters, digits, other symbols."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password: str, user: Any = None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        return _(
            "Your password must contain at least %(n)d of: lower-case letters, upper-case letters, "
            "digits, symbols."
        ) % {"n": self.min_classes}


class PasswordHistoryValidator:
    """The new password may not be any of the user's last `history` passwords."""

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
