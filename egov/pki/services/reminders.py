"""Expiry reminders: each holder and the unit's security administrators, once."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.orgs.models import User
from egov.pki.choices import (
    CertificateStatus,
)
from egov.pki.models import Certificate

EXPIRY_NOTICE_KIND = "pki.certificate_expiring"


def do_send_expiry_reminders(*, acting: Acting, days: int = 30) -> int:
    """Notify each holder and the unit's security administrators once before expiry."""
    import egov.pki.notifications  # noqa: F401  (registers the kind)
    from egov.core.notifications import do_notify

    now = timezone.now()
    due = list(
        Certificate.objects.filter(
            status=CertificateStatus.VALID,
            expiry_reminded_at__isnull=True,
            not_after__gt=now,
            not_after__lte=now + timedelta(days=days),
            organisation__isnull=False,
        ).select_related("organisation", "holder")
    )
    sent = 0
    for cert in due:
        if cert.organisation is None:
            raise RuntimeError("cert.organisation is missing")
        org_ids = [*cert.organisation.ancestor_ids, cert.organisation.pk]
        recipients = list(
            User.objects.filter(
                is_active=True,
                positions__is_active=True,
                positions__organisation_id__in=org_ids,
                positions__role_grants__role="security_admin",
            ).distinct()
        )
        if cert.holder is not None and cert.holder not in recipients:
            recipients.append(cert.holder)
        with transaction.atomic():
            if recipients:
                do_notify(
                    recipients,
                    kind=EXPIRY_NOTICE_KIND,
                    title=_("Certificate of %(name)s expires on %(date)s")
                    % {"name": cert.common_name, "date": cert.not_after.date().isoformat()},
                    body=_("Serial %s. Renew it before it expires.") % cert.serial,
                    url=cert.get_absolute_url(),
                    acting=acting,
                )
            Certificate.objects.filter(pk=cert.pk).update(expiry_reminded_at=now)
            sent += 1
    return sent
