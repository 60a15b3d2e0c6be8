"""To-dos of the CA: certificate requests waiting for the security administrator's review."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from egov.core.choices import DeadlineState
from egov.core.todos import TodoItem
from egov.orgs.choices import Role
from egov.orgs.models import User
from egov.pki.models import CertificateRequest
from egov.pki.selectors import list_pending_requests_for


class PendingRequestsProvider:
    """安全管理员: certificate requests of the units they look after, not submitted by them."""

    subsystem = "pki"
    label = _("Certificates")

    def _pending(self, user: User) -> QuerySet[CertificateRequest]:
        if not user.has_role(Role.SECURITY_ADMIN):
            return CertificateRequest.objects.none()
        return list_pending_requests_for(user).exclude(submitted_by=user)

    def count_for(self, user: User) -> int:
        return self._pending(user).count()

    def items_for(self, user: User, limit: int) -> Sequence[TodoItem]:
        return [
            TodoItem(
                subsystem=self.subsystem,
                kind="certificate_request",
                title=gettext("Certificate request to review: %(org)s · %(profile)s")
                % {"org": req.organisation.name, "profile": req.get_profile_display()},
                url=reverse("pki:request_detail", args=[req.uuid]),
                created_at=req.created_at,
                state=DeadlineState.DUE_SOON,
                object_id=str(req.uuid),
            )
            for req in self._pending(user)[:limit]
        ]
