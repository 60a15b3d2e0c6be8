"""Forms of the CA screens: validation of input only; the rules live in services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from egov.orgs.models import Organisation
from egov.pki.choices import REQUESTABLE_PROFILES, Profile, RevocationReason
from egov.pki.services import MAX_CSR_BYTES, REVOCABLE_REASONS


class CertificateFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or serial"), required=False, max_length=100)
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        required=False,
        to_field_name="uuid",
    )

    def __init__(self, *args: Any, scope: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = scope  # type: ignore[attr-defined]


class RequestForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none(), to_field_name="uuid"
    )
    profile = forms.ChoiceField(
        label=_("Profile"),
        choices=[(p.value, p.label) for p in REQUESTABLE_PROFILES],
    )
    csr = forms.FileField(
        label=_("Certificate signing request (PEM or DER)"),
        required=False,
        help_text=_("At most 64 KiB. Leave empty to have the key generated on the server."),
    )
    generate_key = forms.BooleanField(label=_("Generate the key on the server"), required=False)
    holder = forms.CharField(
        label=_("Holder's user name"),
        required=False,
        max_length=150,
        help_text=_("For a person's signing certificate."),
    )
    dns_names = forms.CharField(
        label=_("DNS names"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For a server certificate: one name a line."),
    )

    def __init__(self, *args: Any, scope: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = scope  # type: ignore[attr-defined]

    def clean_csr(self) -> bytes | None:
        upload = self.cleaned_data.get("csr")
        if not upload:
            return None
        if upload.size > MAX_CSR_BYTES:
            raise forms.ValidationError(
                _("The CSR is larger than %(max)s bytes."), params={"max": MAX_CSR_BYTES}
            )
        return bytes(upload.read())

    def clean_dns_names(self) -> list[str]:
        text = self.cleaned_data.get("dns_names") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class RevokeForm(forms.Form):
    reason = forms.TypedChoiceField(
        label=_("Reason"),
        coerce=int,
        choices=[(r.value, r.label) for r in RevocationReason if int(r) in REVOCABLE_REASONS],
    )


__all__ = ["CertificateFilterForm", "Profile", "RejectForm", "RequestForm", "RevokeForm"]
