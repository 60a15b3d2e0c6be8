"""To-dos the organisation app gives: locked accounts waiting for the security administrator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from egov.core.choices import DeadlineState
from egov.core.todos import TodoItem
from egov.orgs.choices import Role
from egov.orgs.models import Position, User
from egov.orgs.selectors import managed_organisations


class LockedAccountsProvider:
    """安全管理员: accounts locked after repeated login failures, in the subtree they administer."""

    subsystem = "accounts"
    label = _("Accounts")

    def _locked(self, user: User) -> QuerySet[User]:
        from axes.models import AccessAttempt

        if not user.has_role(Role.SECURITY_ADMIN):
            return User.objects.none()
        since = timezone.now() - timedelta(hours=float(settings.AXES_COOLOFF_TIME))
        locked_names = (
            AccessAttempt.objects.filter(attempt_time__gte=since, username__isnull=False)
            .values("username")
            .annotate(failures=Sum("failures_since_start"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
            .values("username")
        )
        in_scope = Position.objects.filter(
            is_active=True,
            organisation__in=managed_organisations(user, roles={str(Role.SECURITY_ADMIN)}),
        ).values("user_id")
        return User.objects.filter(username__in=locked_names, pk__in=in_scope)

    def count_for(self, user: User) -> int:
        return self._locked(user).count()

    def items_for(self, user: User, limit: int) -> Sequence[TodoItem]:
        from axes.models import AccessAttempt

        users = list(self._locked(user).order_by("username")[:limit])
        last = dict(
            AccessAttempt.objects.filter(username__in=[u.username for u in users])
            .values("username")
            .annotate(last=Max("attempt_time"))
            .values_list("username", "last")
        )
        return [
            TodoItem(
                subsystem=self.subsystem,
                kind="account_locked",
                title=gettext("Account locked after failed logins: %(name)s (%(username)s)")
                % {"name": u.display_name, "username": u.username},
                url=reverse("orgs:user_detail", args=[u.uuid]),
                created_at=last.get(u.username) or timezone.now(),
                state=DeadlineState.DUE_SOON,
                object_id=str(u.uuid),
            )
            for u in users
        ]
