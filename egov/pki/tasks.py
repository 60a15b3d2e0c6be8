"""Background entry points of the CA: expiry reminders and the CRL schedule (periodic jobs)."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from egov.core.acting import Acting
from egov.core.scheduling import register_periodic
from egov.pki import services
from egov.pki.models import CertificateAuthority

# CRLs are valid for 7 days (services.CRL_VALIDITY) and regenerated daily, so relying parties
# always hold a current one even if a run is missed.
CRL_EVERY = timedelta(days=1)
REMINDERS_EVERY = timedelta(days=1)


@task()
def send_expiry_reminders() -> int:
    return services.do_send_expiry_reminders(acting=Acting.system("pki.expiry_reminders"))


@task()
def regenerate_crls() -> int:
    """Fresh CRLs, and new OCSP responder certificates for those about to expire."""
    if not CertificateAuthority.objects.exists():
        return 0
    acting = Acting.system("pki.crl_schedule")
    services.do_renew_expiring_ocsp_responders(acting=acting)
    return len(services.do_generate_all_crls(acting=acting))


register_periodic("pki.expiry_reminders", send_expiry_reminders, every=REMINDERS_EVERY)
register_periodic("pki.regenerate_crls", regenerate_crls, every=CRL_EVERY)
