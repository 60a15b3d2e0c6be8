"""Factories for the CA's rows. Certificates and requests come from the services (a real
certificate needs a real signature), so these factories call them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import factory
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from egov.core.acting import Acting
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import OrganisationFactory
from egov.pki import services
from egov.pki.choices import Profile
from egov.pki.models import Certificate, CertificateRequest

SYSTEM = Acting.system("test")


def make_csr(
    organisation: Organisation | None = None,
    *,
    key: Any = None,
    code: str | None = None,
    name: str | None = None,
    fmt: serialization.Encoding = serialization.Encoding.PEM,
) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if organisation is not None or name:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, name or organisation.name))  # type: ignore[union-attr]
    if organisation is not None or code:
        attrs.append(
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, code or organisation.code)  # type: ignore[union-attr]
        )
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, "request"))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attrs))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(fmt)


def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


class SealCertificateFactory(factory.Factory[Certificate]):
    """A seal certificate with a key held by the server (the CA must be initialised)."""

    class Meta:
        model = Certificate

    organisation = factory.SubFactory(OrganisationFactory)
    profile = Profile.ORG_SEAL
    dns_names: list[str] = []

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> Certificate:
        return services.do_issue_with_server_key(
            kwargs["organisation"],
            kwargs["profile"],
            holder=kwargs.get("holder"),
            dns_names=kwargs.get("dns_names") or None,
            acting=SYSTEM,
        )


class CertificateRequestFactory(factory.Factory[CertificateRequest]):
    class Meta:
        model = CertificateRequest

    organisation = factory.SubFactory(OrganisationFactory)
    profile = Profile.ORG_SEAL
    acting = SYSTEM

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> CertificateRequest:
        org = kwargs["organisation"]
        csr = kwargs.get("csr")
        return services.do_submit_request(
            org,
            profile=kwargs["profile"],
            csr=csr,
            generate_key_on_server=csr is None,
            holder=kwargs.get("holder"),
            dns_names=kwargs.get("dns_names"),
            acting=kwargs["acting"],
        )


# Typed shortcuts: factory-boy's classes are not typed to return their model.
new_seal = cast("Callable[..., Certificate]", SealCertificateFactory)
new_request = cast("Callable[..., CertificateRequest]", CertificateRequestFactory)
new_organisation = cast("Callable[..., Organisation]", OrganisationFactory)
