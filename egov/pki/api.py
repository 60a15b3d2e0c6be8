"""API of the provincial CA for the security administrator (安全管理员):
`/pki/certificates`, `/pki/certificates/{uuid}`, `/pki/requests` (CSR submit).

Mount with `api.add_router("", "egov.pki.api.router")`. Reads go through the pki selectors
(outside the person's security scope: 404); the request goes through `pki.services`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from egov.api.errors import READ_ERRORS, WRITE_ERRORS, InvalidReference, errors
from egov.api.pagination import Page, PageQuery, paginate
from egov.api.schemas import CleanSchema, InputSchema
from egov.core.acting import Acting
from egov.orgs.models import Organisation, User
from egov.pki import selectors, services
from egov.pki.models import Certificate, CertificateRequest

router = Router(tags=["pki"])


class RequestProfile(StrEnum):
    """The profiles a unit may request (choices.REQUESTABLE_PROFILES)."""

    ORG_SEAL = "org_seal"
    PERSON_SIGNING = "person_signing"
    SERVER_TLS = "server_tls"


class CertificateView(StrEnum):
    ALL = "all"
    EXPIRING = "expiring"
    REVOKED = "revoked"


class CertificateOut(Schema):
    uuid: UUID
    serial: str
    ca: str
    profile: str
    subject: str
    common_name: str
    organisation: UUID | None
    holder: UUID | None
    not_before: datetime
    not_after: datetime
    status: str
    revoked_at: datetime | None
    revocation_reason: int | None
    key_algorithm: str
    fingerprint_sha256: str
    fingerprint_sm3: str

    @staticmethod
    def resolve_ca(obj: Certificate) -> str:
        return obj.issuer.slug

    @staticmethod
    def resolve_organisation(obj: Certificate) -> UUID | None:
        return obj.organisation.uuid if obj.organisation is not None else None

    @staticmethod
    def resolve_holder(obj: Certificate) -> UUID | None:
        return obj.holder.uuid if obj.holder is not None else None


class CertificateDetailOut(CertificateOut):
    pem: str

    @staticmethod
    def resolve_pem(obj: Certificate) -> str:
        from cryptography.hazmat.primitives import serialization

        return obj.x509.public_bytes(serialization.Encoding.PEM).decode()


class CertificateFilters(CleanSchema):
    view: CertificateView = CertificateView.ALL
    organisation: UUID | None = None
    q: str = Field("", max_length=100)


class RequestIn(InputSchema):
    organisation: UUID
    profile: RequestProfile
    csr_pem: str = Field("", max_length=services.MAX_CSR_BYTES * 2)
    generate_key: bool = False
    holder: str = Field("", max_length=150, description="user name, for person_signing")
    dns_names: list[str] = Field(default_factory=list, max_length=50)


class RequestOut(Schema):
    uuid: UUID
    organisation: UUID
    profile: str
    status: str
    server_generated_key: bool
    key_algorithm: str
    dns_names: list[str]
    csr_sha256: str
    csr_sm3: str
    created_at: datetime

    @staticmethod
    def resolve_organisation(obj: CertificateRequest) -> UUID:
        return obj.organisation.uuid


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth sets a real User


def _organisation(user: User, org_id: UUID | None, field: str) -> Organisation | None:
    if org_id is None:
        return None
    org = selectors.security_scope(user).filter(uuid=org_id).first()
    if org is None:
        raise InvalidReference(_("No such organisation in your scope."), field=field)
    return org


@router.get(
    "/pki/certificates",
    response={200: Page[CertificateOut], **errors(*READ_ERRORS)},
    summary="Certificates of the organisations the security administrator looks after",
)
def list_certificates(
    request: HttpRequest, filters: Query[CertificateFilters], paging: Query[PageQuery]
) -> Any:
    user = _user(request)
    selectors.require_security_admin(user)
    rows = selectors.list_certificates_for(
        user,
        organisation=_organisation(user, filters.organisation, "organisation"),
        status="revoked" if filters.view == CertificateView.REVOKED else "",
        expiring=filters.view == CertificateView.EXPIRING,
        q=filters.q.strip(),
    )
    return paginate(rows.order_by("-not_before", "-id"), paging)


@router.get(
    "/pki/certificates/{uuid}",
    response={200: CertificateDetailOut, **errors(*READ_ERRORS)},
    summary="One certificate, with its PEM",
)
def get_certificate(request: HttpRequest, uuid: UUID) -> Any:
    return selectors.access_certificate_by_id(_user(request), uuid)


@router.post(
    "/pki/requests",
    response={201: RequestOut, **errors(*WRITE_ERRORS)},
    summary="Submit a certificate request (a CSR, or a key generated on approval)",
)
def submit_request(request: HttpRequest, payload: RequestIn) -> Any:
    user = _user(request)
    selectors.require_security_admin(user)
    organisation = _organisation(user, payload.organisation, "organisation")
    if organisation is None:  # pragma: no cover - the schema requires it
        raise Http404
    holder = None
    if payload.holder:
        holder = (
            User.objects.filter(
                username=payload.holder,
                is_active=True,
                positions__organisation=organisation,
                positions__is_active=True,
            )
            .distinct()
            .first()
        )
        if holder is None:
            raise InvalidReference(_("No such person in the organisation."), field="holder")
    req = services.do_submit_request(
        organisation,
        profile=str(payload.profile.value),
        csr=payload.csr_pem or None,
        generate_key_on_server=payload.generate_key,
        holder=holder,
        dns_names=payload.dns_names,
        acting=Acting.from_request(request),
    )
    req.organisation = organisation
    return Status(201, req)
