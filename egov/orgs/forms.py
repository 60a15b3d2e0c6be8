"""HTML forms for organisations, people, positions and imports (input validation only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.uscc import InvalidCode, validate_uscc


def _clean_uscc(value: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if not value and not required:
        return ""
    try:
        return validate_uscc(value)
    except InvalidCode as exc:
        raise forms.ValidationError(
            _("Not a valid unified social credit code: %(reason)s"),
            code="invalid_uscc",
            params={"reason": str(exc)},
        ) from None


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or code"), required=False, max_length=100)
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", _("All levels")), *OrgLevel.choices]
    )
    kind = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("All types")), *OrgKind.choices]
    )
    parent = forms.UUIDField(label=_("Within"), required=False, widget=forms.HiddenInput)
    inactive = forms.BooleanField(label=_("Include inactive"), required=False)


class OrganisationForm(forms.Form):
    code = forms.CharField(label=_("Unified social credit code"), max_length=18)
    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=50, required=False)
    doc_code = forms.CharField(
        label=_("Document code"),
        max_length=20,
        required=False,
        help_text=_("机关代字, used in document numbers, e.g. 冀政办"),
    )
    kind = forms.ChoiceField(label=_("Type"), choices=OrgKind.choices)
    level = forms.ChoiceField(label=_("Level"), choices=OrgLevel.choices)
    division_code = forms.RegexField(
        label=_("Administrative division code"),
        regex=r"^\d{6}$",
        required=False,
        error_messages={"invalid": _("The division code must be 6 digits.")},
    )
    parent_code = forms.CharField(
        label=_("Parent organisation code"),
        max_length=18,
        required=False,
        help_text=_("Changing it moves the organisation and everything below it."),
    )
    sort_order = forms.IntegerField(label=_("Order"), min_value=0, max_value=2**31 - 1, initial=0)
    node_code = forms.CharField(label=_("Node"), max_length=50, required=False)

    def clean_code(self) -> str:
        return _clean_uscc(self.cleaned_data["code"])

    def clean_parent_code(self) -> str:
        return _clean_uscc(self.cleaned_data.get("parent_code", ""), required=False)


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or user name"), required=False, max_length=100)
    organisation = forms.UUIDField(
        label=_("Organisation"), required=False, widget=forms.HiddenInput
    )
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices]
    )


class UserEditForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"), required=False, max_length=254)
    phone = forms.RegexField(
        label=_("Mobile phone"),
        regex=r"^[0-9+\- ]{3,20}$",
        required=False,
        error_messages={"invalid": _("Enter a phone number of digits only.")},
    )


class UserCreateForm(UserEditForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    organisation_code = forms.CharField(label=_("Organisation code"), max_length=18)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        max_length=128,
        help_text=_(
            "At least 8 characters of three kinds. The person must change it at first login. "
            "Leave empty to create the account without a password."
        ),
    )

    field_order = [
        "username",
        "full_name",
        "organisation_code",
        "title",
        "email",
        "phone",
        "password",
    ]

    def clean_organisation_code(self) -> str:
        return _clean_uscc(self.cleaned_data["organisation_code"])


class PositionAddForm(forms.Form):
    organisation_code = forms.CharField(label=_("Organisation code"), max_length=18)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)

    def clean_organisation_code(self) -> str:
        return _clean_uscc(self.cleaned_data["organisation_code"])


class PositionRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("An Excel workbook (.xlsx) or a CSV file whose first row names the columns."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.csv,text/csv"
