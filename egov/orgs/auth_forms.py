"""Forms for the login, second-factor, password-change and position-switch screens."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.utils.translation import gettext_lazy as _

from egov.orgs.passwords import MAX_PASSWORD_LENGTH


class LoginForm(AuthenticationForm):
    """User name and password. `authenticate(request, ...)` runs inside, so django-axes counts it."""

    # AuthenticationForm sets the length only on the widget; this one refuses longer input
    # before it reaches authenticate() (and axes' 255-character columns).
    username = UsernameField(
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _(
            "The user name or password is wrong. After %(limit)d failed attempts the account "
            "is locked for a while."
        ),
        "inactive": _("This account is disabled."),
    }

    def get_invalid_login_error(self) -> forms.ValidationError:
        from django.conf import settings

        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"limit": settings.AXES_FAILURE_LIMIT},
        )


class TokenForm(forms.Form):
    """A six-digit code from the authenticator app (spaces are ignored)."""

    token = forms.CharField(
        label=_("Verification code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": "[0-9 ]*",
            }
        ),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        if not token.isascii() or not token.isdigit() or len(token) not in (6, 8):
            raise forms.ValidationError(
                _("Enter the 6-digit code shown in your authenticator app."), code="format"
            )
        return token


class PasswordChangeForm(forms.Form):
    """Old password, then the new one twice; the new one must pass AUTH_PASSWORD_VALIDATORS."""

    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields[
            "new_password1"
        ].help_text = password_validation.password_validators_help_text_html()

    def clean_old_password(self) -> str:
        old = self.cleaned_data["old_password"]
        if not self.user.check_password(old):
            raise forms.ValidationError(
                _("Your current password is wrong."), code="password_incorrect"
            )
        return old

    def clean_new_password2(self) -> str:
        new1 = self.cleaned_data.get("new_password1")
        new2 = self.cleaned_data["new_password2"]
        if new1 and new1 != new2:
            raise forms.ValidationError(
                _("The two new passwords are not the same."), code="password_mismatch"
            )
        return new2

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new1 = cleaned.get("new_password1")
        if new1 and "new_password2" not in self.errors:
            try:
                password_validation.validate_password(new1, self.user)
            except forms.ValidationError as error:
                self.add_error("new_password1", error)
        return cleaned


class SwitchPositionForm(forms.Form):
    position = forms.UUIDField(label=_("Position"))
    next = forms.CharField(required=False, max_length=2000)
