"""To-dos of the supervision app: tasks waiting for the user, with their due dates and states.

For supervisors and leaders: tasks to approve, to assign, to review, extensions to decide.
For the units' handlers and clerks: tasks to sign for; for handlers, tasks to report on.
A constant number of queries (one per kind) whatever the number of tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from egov.core.calendar import WorkingCalendar
from egov.core.choices import DeadlineState
from egov.core.todos import TodoItem
from egov.orgs.choices import Role
from egov.orgs.models import User
from egov.supervision import selectors
from egov.supervision.choices import ExtensionState, TaskState, UnitState
from egov.supervision.deadlines import DUE_SOON_WORKING_DAYS
from egov.supervision.models import SupervisionTask

SUPERVISOR = frozenset({str(Role.SUPERVISOR)})
HANDLER = frozenset({str(Role.HANDLER)})


def _end_of_day(d: date | None) -> datetime | None:
    if d is None:
        return None
    return timezone.make_aware(datetime.combine(d, time(23, 59, 59)))


class SupervisionTodoProvider:
    subsystem = "supervision"
    label = _("Supervision")

    def _kinds(
        self, user: User
    ) -> list[tuple[str, Callable[[SupervisionTask], str], QuerySet[SupervisionTask], str]]:
        """(kind, title, queryset, due field) for each kind of to-do the user may have."""
        base = SupervisionTask.objects.all()
        kinds = []
        held = selectors.held_positions(user)
        office_q = selectors.supervised_offices_q(user, prefix="office__")
        supervisor_q = selectors.supervised_offices_q(user, prefix="office__", roles=SUPERVISOR)
        if any(h.roles & selectors.SUPERVISING_ROLES for h in held):
            kinds.append(
                (
                    "approve",
                    lambda t: gettext("Approve: %(t)s") % {"t": t.title},
                    base.filter(office_q, state=TaskState.REGISTERED),
                    "deadline",
                )
            )
            kinds.append(
                (
                    "decide_extension",
                    lambda t: gettext("Decide the extension: %(t)s") % {"t": t.title},
                    base.filter(office_q, extensions__state=ExtensionState.PENDING),
                    "deadline",
                )
            )
        if any(h.roles & SUPERVISOR for h in held):
            kinds.append(
                (
                    "assign",
                    lambda t: gettext("Assign: %(t)s") % {"t": t.title},
                    base.filter(supervisor_q, state__in=[TaskState.APPROVED, TaskState.RETURNED]),
                    "deadline",
                )
            )
            kinds.append(
                (
                    "review",
                    lambda t: gettext("Review the application to close: %(t)s") % {"t": t.title},
                    base.filter(supervisor_q, state=TaskState.CLOSING),
                    "deadline",
                )
            )
        unit_ids = selectors.member_unit_ids(user, selectors.UNIT_ROLES)
        if unit_ids:
            kinds.append(
                (
                    "acknowledge",
                    lambda t: gettext("Sign for: %(t)s") % {"t": t.title},
                    base.filter(
                        state__in=[TaskState.ASSIGNED, TaskState.IN_PROGRESS],
                        units__organisation_id__in=unit_ids,
                        units__state=UnitState.ASSIGNED,
                    ),
                    "sign_deadline",
                )
            )
        handler_ids = selectors.member_unit_ids(user, HANDLER)
        if handler_ids:
            kinds.append(
                (
                    "report",
                    lambda t: gettext("Report progress: %(t)s") % {"t": t.title},
                    base.filter(
                        state=TaskState.IN_PROGRESS,
                        units__organisation_id__in=handler_ids,
                        units__state=UnitState.ACKNOWLEDGED,
                    ),
                    "next_report_due",
                )
            )
        return kinds

    def count_for(self, user: User) -> int:
        return sum(qs.values("pk").distinct().count() for _k, _t, qs, _d in self._kinds(user))

    def items_for(self, user: User, limit: int) -> Sequence[TodoItem]:
        today = timezone.localdate()
        cal = WorkingCalendar.load(today, today + timedelta(days=30))
        items: list[TodoItem] = []
        for kind, title, qs, due_field in self._kinds(user):
            for task in qs.distinct().order_by("deadline", "id")[:limit]:
                due = getattr(task, due_field) or task.deadline
                state = self._state(due, today, cal)
                items.append(
                    TodoItem(
                        subsystem=self.subsystem,
                        kind=kind,
                        title=title(task),
                        url=task.get_absolute_url(),
                        created_at=task.updated_at,
                        due_at=_end_of_day(due),
                        state=state,
                        object_id=str(task.uuid),
                    )
                )
        return items

    @staticmethod
    def _state(due: date, today: date, cal: WorkingCalendar) -> str:
        if today > due:
            return DeadlineState.OVERDUE
        if (due - today).days > 20:  # more than 3 working days away whatever the holidays
            return DeadlineState.ON_TIME
        if cal.working_days_between(today, due) <= DUE_SOON_WORKING_DAYS:
            return DeadlineState.DUE_SOON
        return DeadlineState.ON_TIME
