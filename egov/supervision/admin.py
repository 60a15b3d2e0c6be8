"""Django admin for operators: a read-only view of supervised tasks and their rows.

Every change goes through the pages and the API, which check the state machine and audit each step.
"""

from __future__ import annotations

from django.contrib import admin

from egov.core.admin import ReadOnlyAdmin
from egov.supervision.models import ExtensionRequest, Reminder, SupervisionTask, TaskUnit


@admin.register(SupervisionTask)
class SupervisionTaskAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "source", "state", "deadline", "lead_unit")
    list_filter = ("state", "source")
    search_fields = ("number", "title")
    list_select_related = ("lead_unit",)
    raw_id_fields = ("office", "lead_unit", "parent", "registered_by")


@admin.register(TaskUnit)
class TaskUnitAdmin(ReadOnlyAdmin):
    list_display = ("task", "organisation", "role", "state")
    list_select_related = ("task", "organisation")
    raw_id_fields = ("task", "organisation", "acknowledged_by")


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ("task", "old_deadline", "new_deadline", "state")
    list_select_related = ("task",)
    raw_id_fields = ("task", "requested_by", "decided_by")


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("task", "reason", "day", "created_at")
    list_filter = ("reason",)
    list_select_related = ("task",)
    raw_id_fields = ("task", "sent_by", "notifications")
