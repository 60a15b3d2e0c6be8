"""Django admin for operators: a read-only view of the CA's rows.

Stored keys are not registered (encrypted or not, key material has no business on a page);
issuing, revoking and CRLs go through the screens and `manage.py pki`, which audit each step.
"""

from __future__ import annotations

from django.contrib import admin

from egov.core.admin import ReadOnlyAdmin
from egov.pki.models import Certificate, CertificateAuthority, CertificateRequest, RevocationList


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug", "kind", "crl_number")
    exclude = ("key_ref",)


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ("common_name", "profile", "issuer", "serial", "not_after", "status")
    list_filter = ("profile", "status", "issuer")
    search_fields = ("common_name", "serial", "fingerprint_sha256")
    list_select_related = ("issuer",)
    exclude = ("der", "key_ref")
    raw_id_fields = ("organisation", "holder", "renewed_from")


@admin.register(CertificateRequest)
class CertificateRequestAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "profile", "status", "created_at")
    list_filter = ("status", "profile")
    list_select_related = ("organisation",)
    exclude = ("csr_der",)
    raw_id_fields = ("organisation", "holder", "submitted_by", "reviewed_by", "certificate")


@admin.register(RevocationList)
class RevocationListAdmin(ReadOnlyAdmin):
    list_display = ("ca", "number", "this_update", "next_update", "revoked_count")
    exclude = ("der",)
