"""The provincial CA's rows: stored keys, CAs, certificates, requests and CRLs.

Every hash kept here is SHA-256 with an SM3 digest beside it. Private keys live only in
`StoredKey.encrypted_pkcs8` (encrypted PKCS#8 under the key-encryption key, see keystore.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cached_property

from cryptography import x509
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from egov.core.models import TimeStampedModel
from egov.pki.choices import (
    CAKind,
    CertificateStatus,
    Profile,
    RequestStatus,
    RevocationReason,
)


class StoredKey(TimeStampedModel):
    """A private key, encrypted PKCS#8 DER under the key-encryption key; never in clear."""

    key_ref = models.UUIDField(_("key reference"), default=uuid.uuid4, unique=True, editable=False)
    algorithm = models.CharField(_("algorithm"), max_length=20)
    encrypted_pkcs8 = models.BinaryField(_("encrypted PKCS#8"))
    public_key_sha256 = models.CharField(_("public key SHA-256"), max_length=64)
    public_key_sm3 = models.CharField(_("public key SM3"), max_length=64)

    class Meta:
        ordering = ["id"]
        verbose_name = _("stored key")
        verbose_name_plural = _("stored keys")

    def __str__(self) -> str:
        return f"{self.algorithm} {self.key_ref}"


class CertificateAuthority(TimeStampedModel):
    """A CA of the hierarchy: the root (path length 1) or an issuing CA (path length 0).

    `key_ref` is empty when the key is not on this server (the root taken offline).
    """

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CAKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent CA"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    certificate = models.OneToOneField(
        "pki.Certificate",
        verbose_name=_("certificate"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="authority",
    )
    key_ref = models.CharField(_("key reference"), max_length=64, blank=True)
    crl_number = models.PositiveBigIntegerField(_("last CRL number"), default=0)
    ocsp_certificate = models.ForeignKey(
        "pki.Certificate",
        verbose_name=_("OCSP responder certificate"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("certificate authority")
        verbose_name_plural = _("certificate authorities")

    def __str__(self) -> str:
        return self.name

    @property
    def is_online(self) -> bool:
        return bool(self.key_ref)


class Certificate(TimeStampedModel):
    """An X.509 certificate this CA issued (CA certificates included), with its status."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    issuer = models.ForeignKey(
        CertificateAuthority,
        verbose_name=_("issuer"),
        on_delete=models.PROTECT,
        related_name="issued",
    )
    serial = models.CharField(_("serial number (hex)"), max_length=42)
    profile = models.CharField(_("profile"), max_length=20, choices=Profile.choices)
    subject = models.CharField(_("subject"), max_length=500)
    common_name = models.CharField(_("common name"), max_length=200)
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("holder"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    not_before = models.DateTimeField(_("valid from"))
    not_after = models.DateTimeField(_("valid until"), db_index=True)
    der = models.BinaryField(_("DER"))
    fingerprint_sha256 = models.CharField(_("SHA-256 fingerprint"), max_length=64, unique=True)
    fingerprint_sm3 = models.CharField(_("SM3 fingerprint"), max_length=64)
    key_algorithm = models.CharField(_("key algorithm"), max_length=20)
    key_ref = models.CharField(
        _("key reference"),
        max_length=64,
        blank=True,
        help_text=_("set when the key was generated on the server"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CertificateStatus.choices,
        default=CertificateStatus.VALID,
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.PositiveSmallIntegerField(
        _("revocation reason"), choices=RevocationReason.choices, null=True, blank=True
    )
    renewed_from = models.ForeignKey(
        "self",
        verbose_name=_("renewal of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
    )
    expiry_reminded_at = models.DateTimeField(_("expiry reminder sent"), null=True, blank=True)

    class Meta:
        ordering = ["-not_before", "-id"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "serial"], name="pki_cert_issuer_serial"),
            models.CheckConstraint(
                condition=(
                    models.Q(status="valid", revoked_at__isnull=True)
                    | models.Q(status="revoked", revoked_at__isnull=False)
                ),
                name="pki_cert_revoked_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status"], name="pki_cert_org_status"),
            models.Index(fields=["status", "not_after"], name="pki_cert_status_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.common_name} ({self.serial})"

    def get_absolute_url(self) -> str:
        return reverse("pki:certificate_detail", args=[self.uuid])

    @cached_property
    def x509(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(bytes(self.der))

    @property
    def serial_int(self) -> int:
        return int(self.serial, 16)

    @property
    def is_revoked(self) -> bool:
        return self.status == CertificateStatus.REVOKED

    def is_expired(self, at: datetime | None = None) -> bool:
        return self.not_after < (at or timezone.now())


class CertificateRequest(TimeStampedModel):
    """A request for a certificate (证书申请): a CSR, or a key the server generates on approval.

    Reviewed by the security administrator (安全管理员) over the unit.
    """

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="certificate_requests",
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("holder"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificate_requests",
    )
    profile = models.CharField(_("profile"), max_length=20, choices=Profile.choices)
    csr_der = models.BinaryField(_("CSR (DER)"), null=True, blank=True)
    server_generated_key = models.BooleanField(_("key generated on the server"), default=False)
    key_algorithm = models.CharField(_("key algorithm"), max_length=20)
    dns_names = models.JSONField(_("DNS names"), default=list, blank=True)
    csr_sha256 = models.CharField(_("CSR SHA-256"), max_length=64, blank=True)
    csr_sm3 = models.CharField(_("CSR SM3"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    rejection_reason = models.CharField(_("reason for rejection"), max_length=500, blank=True)
    certificate = models.OneToOneField(
        Certificate,
        verbose_name=_("certificate"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="request",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("certificate request")
        verbose_name_plural = _("certificate requests")
        indexes = [models.Index(fields=["status", "organisation"], name="pki_req_status_org")]

    def __str__(self) -> str:
        return f"{self.get_profile_display()} · {self.organisation_id} · {self.status}"


class RevocationList(TimeStampedModel):
    """One CRL a CA produced (DER); the newest per CA is served at its stable URL."""

    ca = models.ForeignKey(
        CertificateAuthority,
        verbose_name=_("CA"),
        on_delete=models.CASCADE,
        related_name="crls",
    )
    number = models.PositiveBigIntegerField(_("CRL number"))
    this_update = models.DateTimeField(_("this update"))
    next_update = models.DateTimeField(_("next update"))
    der = models.BinaryField(_("DER"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    sm3 = models.CharField(_("SM3"), max_length=64)
    revoked_count = models.PositiveIntegerField(_("revoked certificates"), default=0)

    class Meta:
        ordering = ["ca_id", "-number"]
        verbose_name = _("certificate revocation list")
        verbose_name_plural = _("certificate revocation lists")
        constraints = [models.UniqueConstraint(fields=["ca", "number"], name="pki_crl_ca_number")]

    def __str__(self) -> str:
        return f"{self.ca_id} #{self.number}"
