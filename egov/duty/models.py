"""Duty (值班): rosters, handover, the call register, zero-reports and emergency reports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from egov.core.models import TimeStampedModel
from egov.duty.choices import (
    Category,
    DayKind,
    DueKind,
    DutyRole,
    EscalationStep,
    Frequency,
    Grade,
    HandoverState,
    ReportState,
    SubmissionKind,
    SwapKind,
    SwapState,
)
from egov.orgs.choices import Role

TEXT_MAX = 4000


class DutyTeam(TimeStampedModel):
    """A duty team (值班组) of one organisation; its shifts make the roster."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="duty_teams",
    )
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organisation_id", "name"]
        verbose_name = _("duty team")
        verbose_name_plural = _("duty teams")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="duty_team_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ShiftPattern(TimeStampedModel):
    """A recurrence rule for a team's shifts: daily or weekly on some weekdays, from a start time.

    `day_kind` restricts the days by the working-day calendar (holidays, adjusted workdays).
    """

    team = models.ForeignKey(
        DutyTeam, verbose_name=_("team"), on_delete=models.CASCADE, related_name="patterns"
    )
    name = models.CharField(_("name"), max_length=100)
    frequency = models.CharField(
        _("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.DAILY
    )
    interval = models.PositiveSmallIntegerField(
        _("every"), default=1, help_text=_("every n days or weeks")
    )
    weekdays = models.CharField(
        _("weekdays"),
        max_length=20,
        blank=True,
        help_text=_("weekly patterns: days as numbers, Monday 0 to Sunday 6, comma separated"),
    )
    day_kind = models.CharField(
        _("days"), max_length=10, choices=DayKind.choices, default=DayKind.ANY
    )
    start_time = models.TimeField(_("start time"))
    duration_minutes = models.PositiveIntegerField(_("length in minutes"), default=24 * 60)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["team_id", "name"]
        verbose_name = _("shift pattern")
        verbose_name_plural = _("shift patterns")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(interval__gte=1), name="duty_pattern_interval_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=1, duration_minutes__lte=7 * 24 * 60),
                name="duty_pattern_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def weekday_set(self) -> set[int]:
        return {int(d) for d in self.weekdays.split(",") if d.strip().isdigit()}


class Shift(TimeStampedModel):
    """One shift of a team, from `starts_at` to `ends_at`, with its officers and leader."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(
        DutyTeam, verbose_name=_("team"), on_delete=models.CASCADE, related_name="shifts"
    )
    pattern = models.ForeignKey(
        ShiftPattern,
        verbose_name=_("pattern"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shifts",
    )
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"), db_index=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at", "team_id"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [
            models.UniqueConstraint(fields=["team", "starts_at"], name="duty_shift_unique_start"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="duty_shift_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.starts_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("duty:shift_detail", args=[self.uuid])


class ShiftAssignment(TimeStampedModel):
    """A person on a shift, as duty officer (值班员) or leader on duty (带班领导).

    The times are copied from the shift so that overlapping shifts of one person are one
    indexed query.
    """

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    shift = models.ForeignKey(
        Shift, verbose_name=_("shift"), on_delete=models.CASCADE, related_name="assignments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="duty_assignments",
    )
    role = models.CharField(_("role"), max_length=10, choices=DutyRole.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        ordering = ["shift_id", "role", "id"]
        verbose_name = _("shift assignment")
        verbose_name_plural = _("shift assignments")
        constraints = [
            models.UniqueConstraint(fields=["shift", "user"], name="duty_assignment_unique_person")
        ]
        indexes = [models.Index(fields=["user", "starts_at", "ends_at"], name="duty_assign_user")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class SwapRequest(TimeStampedModel):
    """A swap (换班: two people exchange shifts) or take-over (替班), waiting for approval."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=SwapKind.choices)
    assignment = models.ForeignKey(
        ShiftAssignment,
        verbose_name=_("shift given away"),
        on_delete=models.CASCADE,
        related_name="swap_requests",
    )
    counterpart = models.ForeignKey(
        ShiftAssignment,
        verbose_name=_("shift taken in exchange"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="swap_counterparts",
    )
    taker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken over by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duty_takeovers",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="duty_swap_requests",
    )
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("organisation"), on_delete=models.PROTECT
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=SwapState.choices, default=SwapState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("swap request")
        verbose_name_plural = _("swap requests")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.assignment}"


class Handover(TimeStampedModel):
    """交接班: the outgoing officer's notes and open items, closed when the incoming one acknowledges."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("organisation"), on_delete=models.PROTECT
    )
    outgoing = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("outgoing officer"),
        on_delete=models.PROTECT,
        related_name="handovers_given",
    )
    incoming = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("incoming officer"),
        on_delete=models.PROTECT,
        related_name="handovers_received",
    )
    from_shift = models.ForeignKey(
        Shift, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_shift = models.ForeignKey(
        Shift, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(_("notes"), max_length=TEXT_MAX, blank=True)
    open_items = models.TextField(
        _("open items"), max_length=TEXT_MAX, blank=True, help_text=_("one item per line")
    )
    state = models.CharField(
        _("state"), max_length=15, choices=HandoverState.choices, default=HandoverState.OPEN
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")

    def __str__(self) -> str:
        return f"{self.outgoing} → {self.incoming}"

    def get_absolute_url(self) -> str:
        return reverse("duty:handover_detail", args=[self.uuid])

    def item_lines(self) -> list[str]:
        return [line.strip() for line in self.open_items.splitlines() if line.strip()]


class CallRecord(TimeStampedModel):
    """值班电话记录: one call taken on duty, with every field of the paper register."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="duty_calls",
    )
    received_at = models.DateTimeField(_("time of call"), db_index=True)
    caller_unit = models.CharField(_("caller's unit"), max_length=200)
    caller_name = models.CharField(_("caller's name"), max_length=100)
    caller_title = models.CharField(_("caller's title"), max_length=100, blank=True)
    caller_phone = models.CharField(_("caller's phone"), max_length=30)
    place = models.CharField(_("place"), max_length=200, blank=True)
    what_happened = models.TextField(_("what happened"), max_length=TEXT_MAX)
    cause = models.TextField(_("cause"), max_length=TEXT_MAX, blank=True)
    measures = models.TextField(_("measures taken"), max_length=TEXT_MAX, blank=True)
    impact_and_trend = models.TextField(_("impact and trend"), max_length=TEXT_MAX, blank=True)
    already_told = models.CharField(_("already told"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    report = models.ForeignKey(
        "duty.EmergencyReport",
        verbose_name=_("emergency report"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("call record")
        verbose_name_plural = _("call records")

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.caller_unit}"

    def get_absolute_url(self) -> str:
        return reverse("duty:call_detail", args=[self.uuid])


class ZeroReportObligation(TimeStampedModel):
    """A unit that owes a daily zero-report (零报告) when nothing happened."""

    organisation = models.OneToOneField(
        "orgs.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="zero_report_obligation",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organisation_id"]
        verbose_name = _("zero-report obligation")
        verbose_name_plural = _("zero-report obligations")

    def __str__(self) -> str:
        return str(self.organisation)


class ZeroReport(TimeStampedModel):
    """A unit's daily zero-report: nothing to report today."""

    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="zero_reports",
    )
    day = models.DateField(_("day"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("filed by"), on_delete=models.PROTECT
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-day", "organisation_id"]
        verbose_name = _("zero-report")
        verbose_name_plural = _("zero-reports")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "day"], name="duty_zero_report_once")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.day}"


class ReportingRule(TimeStampedModel):
    """Time limits for reporting one grade (and optionally one category), editable per province.

    Rows without a province are the defaults (seeded by a data migration); a province overrides
    them with its own rows. A category-specific row wins over a row for every category.
    """

    province = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("province"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="duty_reporting_rules",
    )
    category = models.CharField(
        _("category"), max_length=10, choices=Category.choices, blank=True, default=""
    )
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices)
    phone_minutes = models.PositiveIntegerField(_("report by phone within (minutes)"))
    written_minutes = models.PositiveIntegerField(_("report in writing within (minutes)"))
    follow_up_minutes = models.PositiveIntegerField(_("follow-up every (minutes)"))
    daily_after_hours = models.PositiveIntegerField(
        _("daily reports after (hours)"), help_text=_("counted from the time of the event")
    )
    escalation_minutes = models.PositiveIntegerField(
        _("escalate an unacknowledged report after (minutes)")
    )
    escalation_role = models.CharField(
        _("named role escalated to last"), max_length=30, choices=Role.choices, default=Role.SIGNER
    )

    class Meta:
        ordering = ["province_id", "grade", "category"]
        verbose_name = _("reporting rule")
        verbose_name_plural = _("reporting rules")
        constraints = [
            models.UniqueConstraint(
                fields=["province", "category", "grade"], name="duty_rule_unique"
            ),
            models.UniqueConstraint(
                fields=["category", "grade"],
                condition=models.Q(province__isnull=True),
                name="duty_rule_default_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    phone_minutes__gte=1,
                    written_minutes__gte=1,
                    follow_up_minutes__gte=1,
                    escalation_minutes__gte=1,
                ),
                name="duty_rule_positive_limits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_grade_display()} {self.get_category_display() or '*'}"


class EmergencyReport(TimeStampedModel):
    """An emergency or major event reported upward (突发事件报告): the case and its deadlines.

    `next_due_at` is the next report owed (the written first report, a follow-up or a daily
    report); a report is flagged red (overdue) on every level above from that minute on.
    """

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("reporting unit"),
        on_delete=models.PROTECT,
        related_name="emergency_reports",
    )
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices)
    is_sensitive = models.BooleanField(_("sensitive"), default=False)
    source = models.CharField(_("source of the information"), max_length=200)
    occurred_at = models.DateTimeField(_("time of the event"))
    learned_at = models.DateTimeField(_("time learned"))
    place = models.CharField(_("place"), max_length=200)
    deaths = models.PositiveIntegerField(_("dead"), default=0)
    injured = models.PositiveIntegerField(_("injured"), default=0)
    missing = models.PositiveIntegerField(_("missing"), default=0)
    losses = models.TextField(_("losses"), max_length=TEXT_MAX, blank=True)
    course = models.TextField(_("course of events"), max_length=TEXT_MAX)
    state = models.CharField(
        _("state"), max_length=10, choices=ReportState.choices, default=ReportState.OPEN
    )
    rule = models.ForeignKey(
        ReportingRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="+"
    )
    phone_due_at = models.DateTimeField(_("phone report due"))
    written_due_at = models.DateTimeField(_("written report due"))
    first_reported_at = models.DateTimeField(_("written first report at"), null=True, blank=True)
    reported_late = models.BooleanField(_("first report late"), default=False)
    follow_up_count = models.PositiveSmallIntegerField(_("follow-ups"), default=0)
    last_report_at = models.DateTimeField(_("last report at"))
    next_due_at = models.DateTimeField(_("next report due"), null=True, blank=True)
    next_due_kind = models.CharField(
        _("next report"), max_length=10, choices=DueKind.choices, blank=True, default=""
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("emergency report")
        verbose_name_plural = _("emergency reports")
        indexes = [models.Index(fields=["state", "next_due_at"], name="duty_report_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(learned_at__gte=models.F("occurred_at")),
                name="duty_report_learned_after_event",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("duty:report_detail", args=[self.uuid])


class ReportSubmission(TimeStampedModel):
    """One report on a case: by phone, first (首报), follow-up n (续报), daily, final (终报)."""

    report = models.ForeignKey(
        EmergencyReport,
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        related_name="submissions",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=SubmissionKind.choices)
    number = models.PositiveSmallIntegerField(_("number"), default=0)
    submitted_at = models.DateTimeField(_("submitted at"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT
    )
    text = models.TextField(_("text"), max_length=TEXT_MAX)
    deaths = models.PositiveIntegerField(_("dead"), default=0)
    injured = models.PositiveIntegerField(_("injured"), default=0)
    missing = models.PositiveIntegerField(_("missing"), default=0)
    due_at = models.DateTimeField(_("was due"), null=True, blank=True)
    late = models.BooleanField(_("late"), default=False)

    class Meta:
        ordering = ["report_id", "submitted_at", "id"]
        verbose_name = _("report submission")
        verbose_name_plural = _("report submissions")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "kind", "number"], name="duty_submission_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.report} · {self.get_kind_display()} {self.number or ''}".strip()


class ReportReceipt(TimeStampedModel):
    """A submission's arrival at one level above (city, province) and its acknowledgement (签收).

    Unacknowledged, it escalates every `rule.escalation_minutes`: duty officer → leader on
    duty → the rule's named role. `next_escalation_at` is cleared on acknowledgement, which is
    what stops the escalation.
    """

    submission = models.ForeignKey(
        ReportSubmission,
        verbose_name=_("submission"),
        on_delete=models.CASCADE,
        related_name="receipts",
    )
    report = models.ForeignKey(
        EmergencyReport, verbose_name=_("report"), on_delete=models.CASCADE, related_name="receipts"
    )
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("receiving level"),
        on_delete=models.PROTECT,
        related_name="duty_receipts",
    )
    sent_at = models.DateTimeField(_("sent at"))
    step = models.PositiveSmallIntegerField(
        _("escalation step"), choices=EscalationStep.choices, default=EscalationStep.OFFICER
    )
    escalations = models.PositiveSmallIntegerField(_("escalations"), default=0)
    next_escalation_at = models.DateTimeField(_("next escalation"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["submission_id", "organisation__path"]
        verbose_name = _("report receipt")
        verbose_name_plural = _("report receipts")
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "organisation"], name="duty_receipt_unique_level"
            )
        ]
        indexes = [models.Index(fields=["next_escalation_at"], name="duty_receipt_escalation")]

    def __str__(self) -> str:
        return f"{self.submission} → {self.organisation_id}"


class EscalationEvent(models.Model):
    """One escalation of an unacknowledged receipt: when, to which step, how many were told."""

    receipt = models.ForeignKey(
        ReportReceipt, on_delete=models.CASCADE, related_name="escalation_events"
    )
    step = models.PositiveSmallIntegerField(choices=EscalationStep.choices)
    at = models.DateTimeField()
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["receipt_id", "at", "id"]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

    def __str__(self) -> str:
        return f"{self.receipt_id} → {self.step} at {self.at:%Y-%m-%d %H:%M}"
