"""Enumerations of the provincial CA: kinds of CA, profiles, states and RFC 5280 reasons."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CAKind(models.TextChoices):
    ROOT = "root", _("Root CA")
    ORGANISATION = "organisation", _("Issuing CA for organisations")
    PERSON = "person", _("Issuing CA for persons")


class Profile(models.TextChoices):
    """What a certificate is for; each profile fixes its key usages (see profiles.py)."""

    ROOT_CA = "root_ca", _("Root CA")
    ISSUING_CA = "issuing_ca", _("Issuing CA")
    ORG_SEAL = "org_seal", _("Organisation seal")  # 单位电子印章
    PERSON_SIGNING = "person_signing", _("Person signing")  # 个人签名
    SERVER_TLS = "server_tls", _("Node / server TLS")  # 节点、服务器
    OCSP_RESPONDER = "ocsp_responder", _("OCSP responder")


# Profiles a unit may request (the CA profiles are made by `pki init` only).
REQUESTABLE_PROFILES = (Profile.ORG_SEAL, Profile.PERSON_SIGNING, Profile.SERVER_TLS)


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")


class RequestStatus(models.TextChoices):
    """申请 → 审核 (approved, which issues at once) or rejected. Transitions in services.py."""

    PENDING = "pending", _("Pending review")
    ISSUED = "issued", _("Approved and issued")
    REJECTED = "rejected", _("Rejected")


class RevocationReason(models.IntegerChoices):
    """CRLReason codes of RFC 5280 §5.3.1 (7 is not used by the standard)."""

    UNSPECIFIED = 0, _("Unspecified")
    KEY_COMPROMISE = 1, _("Key compromise")
    CA_COMPROMISE = 2, _("CA compromise")
    AFFILIATION_CHANGED = 3, _("Affiliation changed")
    SUPERSEDED = 4, _("Superseded")
    CESSATION_OF_OPERATION = 5, _("Cessation of operation")
    CERTIFICATE_HOLD = 6, _("Certificate hold")
    REMOVE_FROM_CRL = 8, _("Remove from CRL")
    PRIVILEGE_WITHDRAWN = 9, _("Privilege withdrawn")
    AA_COMPROMISE = 10, _("AA compromise")
