"""To-do for the system administrator: a coming year's holidays are not filled in yet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from egov.core.calendar import deadline_state, uncovered_years_warning
from egov.core.todos import TodoItem


class CalendarYearProvider:
    """系统管理员: fill in next year's statutory holidays before the year starts."""

    subsystem = "calendar"
    label = _("Calendar")

    def _years(self, user: object) -> list[int]:
        from egov.orgs.choices import Role

        if not user.has_role(Role.SYSTEM_ADMIN):  # type: ignore[attr-defined]  # an orgs.User
            return []
        return uncovered_years_warning()

    def count_for(self, user: object) -> int:
        return len(self._years(user))

    def items_for(self, user: object, limit: int) -> Sequence[TodoItem]:
        tz = timezone.get_current_timezone()
        items = []
        for year in self._years(user)[:limit]:
            due = datetime.combine(date(year - 1, 12, 31), time(18, 0), tzinfo=tz)
            items.append(
                TodoItem(
                    subsystem=self.subsystem,
                    kind="calendar_year",
                    title=gettext("Fill in the statutory holidays of %(year)d") % {"year": year},
                    url=reverse("core:calendar_admin"),
                    created_at=timezone.now(),
                    due_at=due,
                    state=deadline_state(due, due_soon_working_days=10),
                    object_id=str(year),
                )
            )
        return items
