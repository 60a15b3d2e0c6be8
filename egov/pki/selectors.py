"""Protected reads of the CA for the security administrator (安全管理员), scoped to the
organisations they administer; outside that scope every object is a 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from egov.core.selectors import parse_public_id
from egov.orgs.models import Organisation, User
from egov.orgs.selectors import managed_organisations
from egov.pki.choices import CertificateStatus, RequestStatus
from egov.pki.models import Certificate, CertificateRequest

SECURITY_ROLES = {"security_admin"}
EXPIRING_DAYS = 30


def security_scope(user: User) -> QuerySet[Organisation]:
    return managed_organisations(user, roles=SECURITY_ROLES)


def require_security_admin(user: User) -> None:
    """404 for anyone who administers security nowhere."""
    if not user.is_authenticated or not security_scope(user).exists():
        raise Http404("No such page.")


def list_certificates_for(
    user: User,
    *,
    organisation: Organisation | None = None,
    status: str = "",
    expiring: bool = False,
    q: str = "",
) -> QuerySet[Certificate]:
    qs = Certificate.objects.filter(organisation__in=security_scope(user)).select_related(
        "organisation", "issuer", "holder"
    )
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    if status in CertificateStatus.values:
        qs = qs.filter(status=status)
    if expiring:
        now = timezone.now()
        qs = qs.filter(
            status=CertificateStatus.VALID,
            not_after__gt=now,
            not_after__lte=now + timedelta(days=EXPIRING_DAYS),
        ).order_by("not_after", "id")
    if q:
        qs = qs.filter(Q(common_name__icontains=q) | Q(serial=q.lower()))
    return qs


def list_pending_requests_for(user: User) -> QuerySet[CertificateRequest]:
    return (
        CertificateRequest.objects.filter(
            organisation__in=security_scope(user), status=RequestStatus.PENDING
        )
        .select_related("organisation", "submitted_by", "holder")
        .order_by("created_at", "id")
    )


def access_certificate_by_id(user: User, cert_id: Any) -> Certificate:
    cert = (
        Certificate.objects.filter(organisation__in=security_scope(user))
        .select_related("organisation", "issuer", "holder", "renewed_from")
        .filter(uuid=parse_public_id(cert_id))
        .first()
    )
    if cert is None:
        raise Http404("No such certificate.")
    return cert


def access_request_by_id(user: User, request_id: Any) -> CertificateRequest:
    req = (
        CertificateRequest.objects.filter(organisation__in=security_scope(user))
        .select_related("organisation", "submitted_by", "holder", "certificate")
        .filter(uuid=parse_public_id(request_id))
        .first()
    )
    if req is None:
        raise Http404("No such request.")
    return req
