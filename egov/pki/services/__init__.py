"""Every write of the provincial CA, by concept: keys and CSRs (`keys`), the CA and
certificate rows (`certificates`), the hierarchy and the root offline (`hierarchy`), issuing and
the request lifecycle (`lifecycle`), revocation and CRLs (`revocation`), expiry reminders
(`reminders`). Every name stays importable from `egov.pki.services`.

State machine of a request (证书申请): pending → issued (approved by the unit's security
administrator, which issues at once) or pending → rejected. A certificate: valid → revoked.
Each step records an audit event (`pki.*`).
"""

from __future__ import annotations

from egov.pki.services.certificates import (
    _digests,
    _issuer_info,
    _save_certificate,
    get_ca,
)
from egov.pki.services.hierarchy import (
    ISSUING_SLUGS,
    OCSP_RENEW_BEFORE,
    ROOT_SLUG,
    InitResult,
    _create_issuing,
    _create_root,
    _issue_ocsp_responder,
    ca_name_prefix,
    do_init_hierarchy,
    do_renew_expiring_ocsp_responders,
    do_renew_ocsp_responder,
    do_root_offline,
    do_root_online,
)
from egov.pki.services.keys import (
    _HOSTNAME,
    MAX_CSR_BYTES,
    MAX_RSA_BITS,
    MIN_RSA_BITS,
    _normalise_code,
    check_csr_subject,
    check_dns_names,
    check_public_key,
    generate_key,
    parse_csr,
)
from egov.pki.services.lifecycle import (
    PROFILE_CA,
    REQUEST_TRANSITIONS,
    _check_reviewer,
    _issue,
    _lock_request,
    _subject_for,
    do_approve_request,
    do_issue_demo_seals,
    do_issue_with_server_key,
    do_reject_request,
    do_renew_certificate,
    do_submit_request,
)
from egov.pki.services.reminders import (
    EXPIRY_NOTICE_KIND,
    do_send_expiry_reminders,
)
from egov.pki.services.revocation import (
    _REASON_FLAGS,
    CRL_VALIDITY,
    REVOCABLE_REASONS,
    ROOT_CRL_VALIDITY,
    _generate_crl,
    do_generate_all_crls,
    do_generate_crl,
    do_revoke_certificate,
    find_certificate,
)

__all__ = [
    "CRL_VALIDITY",
    "EXPIRY_NOTICE_KIND",
    "ISSUING_SLUGS",
    "MAX_CSR_BYTES",
    "MAX_RSA_BITS",
    "MIN_RSA_BITS",
    "OCSP_RENEW_BEFORE",
    "PROFILE_CA",
    "REQUEST_TRANSITIONS",
    "REVOCABLE_REASONS",
    "ROOT_CRL_VALIDITY",
    "ROOT_SLUG",
    "_HOSTNAME",
    "_REASON_FLAGS",
    "InitResult",
    "_check_reviewer",
    "_create_issuing",
    "_create_root",
    "_digests",
    "_generate_crl",
    "_issue",
    "_issue_ocsp_responder",
    "_issuer_info",
    "_lock_request",
    "_normalise_code",
    "_save_certificate",
    "_subject_for",
    "ca_name_prefix",
    "check_csr_subject",
    "check_dns_names",
    "check_public_key",
    "do_approve_request",
    "do_generate_all_crls",
    "do_generate_crl",
    "do_init_hierarchy",
    "do_issue_demo_seals",
    "do_issue_with_server_key",
    "do_reject_request",
    "do_renew_certificate",
    "do_renew_expiring_ocsp_responders",
    "do_renew_ocsp_responder",
    "do_revoke_certificate",
    "do_root_offline",
    "do_root_online",
    "do_send_expiry_reminders",
    "do_submit_request",
    "find_certificate",
    "generate_key",
    "get_ca",
    "parse_csr",
]
