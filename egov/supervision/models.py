"""Supervised tasks (督办事项), the units they are assigned to, reports, extensions, reminders."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from egov.core.models import Notification, TimeStampedModel
from egov.supervision.choices import (
    AttachmentPurpose,
    EventKind,
    ExtensionState,
    ReminderReason,
    ReportCycle,
    Satisfaction,
    TaskSource,
    TaskState,
    UnitRole,
    UnitState,
)


class SupervisionTask(TimeStampedModel):
    """A supervised task with its 五定: person, deadline, quality standard, leader and lead unit.

    `deadline` is the current deadline (working-day calendar); `original_deadline` keeps the one
    set at registration when an extension moves it. `parent` makes a sub-task (拆分) of a task.
    """

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("number"), max_length=40, blank=True, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(_("source"), max_length=30, choices=TaskSource.choices)
    source_reference = models.TextField(_("source reference"), blank=True)
    source_document = models.UUIDField(_("source document"), null=True, blank=True)
    requirement = models.TextField(_("requirement"))
    quality_standard = models.TextField(_("quality standard"))
    responsible_leader = models.CharField(_("responsible leader"), max_length=100)
    responsible_person = models.CharField(_("responsible person"), max_length=100)
    office = models.ForeignKey(
        "orgs.Organisation",
        on_delete=models.PROTECT,
        related_name="supervision_tasks_registered",
        verbose_name=_("supervising office"),
    )
    lead_unit = models.ForeignKey(
        "orgs.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supervision_tasks_led",
        verbose_name=_("lead unit"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subtasks",
        verbose_name=_("parent task"),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    state = models.CharField(
        _("state"), max_length=20, choices=TaskState.choices, default=TaskState.REGISTERED
    )
    deadline = models.DateField(_("deadline"))
    original_deadline = models.DateField(_("original deadline"))
    sign_in_days = models.PositiveSmallIntegerField(_("working days to sign in"), default=2)
    sign_deadline = models.DateField(_("sign-in deadline"), null=True, blank=True)
    report_cycle = models.CharField(
        _("report cycle"), max_length=10, choices=ReportCycle.choices, default=ReportCycle.NONE
    )
    report_day = models.PositiveSmallIntegerField(_("report by working day"), default=5)
    next_report_due = models.DateField(_("next report due"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    approved_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    close_applied_at = models.DateTimeField(null=True, blank=True)
    close_evidence = models.TextField(_("evidence of completion"), blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    completed_on_time = models.BooleanField(null=True, blank=True)
    quality_score = models.PositiveSmallIntegerField(_("quality score"), null=True, blank=True)
    satisfaction = models.CharField(
        _("satisfaction"), max_length=12, choices=Satisfaction.choices, blank=True
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("supervised task")
        verbose_name_plural = _("supervised tasks")
        indexes = [
            models.Index(fields=["state", "deadline"], name="supv_task_state_deadline"),
            models.Index(fields=["lead_unit", "deadline"], name="supv_task_lead_deadline"),
            models.Index(fields=["deadline", "id"], name="supv_task_deadline_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="supv_task_progress_lte_100"
            ),
            models.CheckConstraint(
                condition=Q(quality_score__isnull=True) | Q(quality_score__lte=100),
                name="supv_task_quality_lte_100",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("supervision:task_detail", args=[self.uuid])


class TaskUnit(TimeStampedModel):
    """A unit a task is assigned to: the one lead unit (主办) or a co-unit (会办)."""

    task = models.ForeignKey(SupervisionTask, on_delete=models.CASCADE, related_name="units")
    organisation = models.ForeignKey(
        "orgs.Organisation", on_delete=models.PROTECT, related_name="supervision_assignments"
    )
    role = models.CharField(_("role"), max_length=4, choices=UnitRole.choices)
    state = models.CharField(
        _("state"), max_length=12, choices=UnitState.choices, default=UnitState.ASSIGNED
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    return_reason = models.TextField(_("reason for return"), blank=True)

    class Meta:
        ordering = ["task_id", "role", "id"]
        verbose_name = _("assigned unit")
        verbose_name_plural = _("assigned units")
        constraints = [
            models.UniqueConstraint(fields=["task", "organisation"], name="supv_unit_once"),
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(role="lead") & ~Q(state="returned"),
                name="supv_one_lead_unit",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "state"], name="supv_unit_org_state")]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.organisation_id}:{self.role}"


class ProgressReport(TimeStampedModel):
    """A unit's progress report (进展报告): text and percent complete."""

    task = models.ForeignKey(SupervisionTask, on_delete=models.CASCADE, related_name="reports")
    unit = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("progress"))
    percent = models.PositiveSmallIntegerField(_("percent complete"))
    period_due = models.DateField(_("report due"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        constraints = [
            models.CheckConstraint(condition=Q(percent__lte=100), name="supv_report_percent")
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.percent}%"


class ExtensionRequest(TimeStampedModel):
    """申请延期: a new deadline asked for by the lead unit; the old one is kept beside it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task = models.ForeignKey(SupervisionTask, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    old_deadline = models.DateField(_("old deadline"))
    new_deadline = models.DateField(_("new deadline"))
    reason = models.TextField(_("reason"))
    state = models.CharField(
        max_length=10, choices=ExtensionState.choices, default=ExtensionState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=Q(state="pending"), name="supv_one_pending_extension"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.old_deadline} → {self.new_deadline}"


class Reminder(TimeStampedModel):
    """A reminder (自动提醒) or urging notice (催办单) about a task, with the notifications sent.

    Automatic reminders are unique per task, reason and day: the periodic job never sends one
    twice. The linked `Notification` rows show delivery and reading per recipient.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task = models.ForeignKey(SupervisionTask, on_delete=models.CASCADE, related_name="reminders")
    reason = models.CharField(_("reason"), max_length=16, choices=ReminderReason.choices)
    day = models.DateField(_("day"))
    text = models.TextField(_("text"), blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    notifications = models.ManyToManyField(Notification, related_name="+", blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["task", "reason", "day"],
                condition=~Q(reason="urge"),
                name="supv_reminder_once_a_day",
            )
        ]
        indexes = [
            models.Index(fields=["day", "reason"], name="supv_reminder_day"),
            models.Index(fields=["task", "created_at"], name="supv_reminder_task_created"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.reason}:{self.day}"


class TaskEvent(models.Model):
    """One line of the task's history (流转记录)."""

    task = models.ForeignKey(SupervisionTask, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    unit = models.ForeignKey(
        "orgs.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("task event")
        verbose_name_plural = _("task events")

    def __str__(self) -> str:
        return f"{self.task_id}:{self.kind}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    return f"supervision/{instance.task.uuid}/{uuid.uuid4().hex}"


class Attachment(TimeStampedModel):
    """A file given with a progress report or with the evidence of an application to close."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task = models.ForeignKey(SupervisionTask, on_delete=models.CASCADE, related_name="attachments")
    report = models.ForeignKey(
        ProgressReport,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=AttachmentPurpose.choices)
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name
