"""To-do of the exchange for the clerks (收发员): deliveries from their units that FAILED, as one
item linking to the console filtered on failed deliveries (a constant number of queries)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from egov.core.choices import DeadlineState
from egov.core.todos import TodoItem
from egov.exchange.choices import DeliveryState
from egov.exchange.selectors import visible_deliveries
from egov.orgs.models import User


class FailedDeliveriesProvider:
    subsystem = "exchange"
    label = _("Document exchange")

    def count_for(self, user: User) -> int:
        # One item, whatever the number of failed deliveries behind it.
        return int(visible_deliveries(user).filter(state=DeliveryState.FAILED).exists())

    def items_for(self, user: User, limit: int) -> Sequence[TodoItem]:
        found = visible_deliveries(user).filter(state=DeliveryState.FAILED)
        summary = found.aggregate(n=Count("id"), last=Max("updated_at"))
        count = int(summary["n"] or 0)
        if not count or limit < 1:
            return []
        return [
            TodoItem(
                subsystem=self.subsystem,
                kind="delivery_failed",
                title=ngettext("%(count)d delivery failed", "%(count)d deliveries failed", count)
                % {"count": count},
                url=reverse("exchange:console") + "?state=" + DeliveryState.FAILED,
                created_at=summary["last"] or timezone.now(),
                state=DeadlineState.DUE_SOON,
                object_id="failed",
                extra={"count": str(count)},
            )
        ]
