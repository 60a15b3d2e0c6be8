"""Domain errors of the CA: each names the field at fault where there is one."""

from django.utils.translation import gettext_lazy as _

from egov.core.errors import Conflict, DomainError


class CsrInvalid(DomainError):
    code = "csr_invalid"


class CsrTooLarge(DomainError):
    code = "csr_too_large"


class WeakKey(DomainError):
    code = "weak_key"


class SubjectMismatch(DomainError):
    code = "subject_mismatch"


class NameNotPermitted(DomainError):
    code = "name_not_permitted"


class UnknownCertificate(DomainError):
    code = "unknown_certificate"
    status = 404


class CaOffline(Conflict):
    code = "ca_offline"


class NotInitialised(Conflict):
    code = "pki_not_initialised"

    def __init__(self) -> None:
        super().__init__(_("The CA is not initialised: run `manage.py pki init`."))
