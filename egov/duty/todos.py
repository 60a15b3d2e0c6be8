"""To-dos of the duty app: reports to acknowledge, handovers to take, swaps to approve, zero-reports owed."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from egov.core.choices import DeadlineState
from egov.core.todos import TodoItem
from egov.duty import selectors
from egov.orgs.models import Organisation, User


class DutyTodoProvider:
    """值班: constant queries whatever the number of items (one per kind)."""

    subsystem = "duty"
    label = _("Duty")

    def _zero_owed(self, user: User) -> QuerySet[Organisation]:
        return selectors.owed_zero_reports(
            timezone.localdate(), selectors.own_duty_organisations(user)
        )

    def count_for(self, user: User) -> int:
        if not user.is_authenticated:
            return 0
        return (
            selectors.receipts_waiting_for(user).values("report_id").distinct().count()
            + selectors.pending_handovers_for(user).count()
            + selectors.swaps_to_approve(user).count()
            + self._zero_owed(user).count()
        )

    def items_for(self, user: User, limit: int) -> Sequence[TodoItem]:
        items: list[TodoItem] = []
        seen: set[int] = set()
        for receipt in selectors.receipts_waiting_for(user).order_by("sent_at")[: limit * 2]:
            if receipt.report_id in seen:
                continue
            seen.add(receipt.report_id)
            report = receipt.report
            items.append(
                TodoItem(
                    subsystem=self.subsystem,
                    kind="report_acknowledge",
                    title=gettext("Acknowledge report: %(title)s") % {"title": report.title},
                    url=report.get_absolute_url(),
                    created_at=receipt.sent_at,
                    due_at=receipt.next_escalation_at,
                    state=DeadlineState.OVERDUE if receipt.escalations else DeadlineState.DUE_SOON,
                    object_id=str(report.uuid),
                )
            )
        for handover in selectors.pending_handovers_for(user).select_related("outgoing")[:limit]:
            items.append(
                TodoItem(
                    subsystem=self.subsystem,
                    kind="handover_acknowledge",
                    title=gettext("Take over the duty from %(name)s")
                    % {"name": handover.outgoing.display_name},
                    url=handover.get_absolute_url(),
                    created_at=handover.created_at,
                    state=DeadlineState.DUE_SOON,
                    object_id=str(handover.uuid),
                )
            )
        for swap in selectors.swaps_to_approve(user)[:limit]:
            items.append(
                TodoItem(
                    subsystem=self.subsystem,
                    kind="swap_approve",
                    title=gettext("Approve a shift change asked by %(name)s")
                    % {"name": swap.requested_by.display_name},
                    url=reverse("duty:swap_detail", args=[swap.uuid]),
                    created_at=swap.created_at,
                    object_id=str(swap.uuid),
                )
            )
        for org in self._zero_owed(user)[:limit]:
            items.append(
                TodoItem(
                    subsystem=self.subsystem,
                    kind="zero_report",
                    title=gettext("Today's zero-report for %(unit)s") % {"unit": org.name},
                    url=reverse("duty:zero_report"),
                    created_at=timezone.now(),
                    state=DeadlineState.DUE_SOON,
                    object_id=str(org.uuid),
                )
            )
        return items[:limit]
