"""Enumerations of the duty app: rosters, reports and their states."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Frequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class DayKind(models.TextChoices):
    """Which days a shift pattern covers, by the working-day calendar (egov.core.calendar)."""

    ANY = "any", _("Every day")
    WORKING = "working", _("Working days only")
    REST = "rest", _("Rest days and holidays only")


class DutyRole(models.TextChoices):
    OFFICER = "officer", _("Duty officer")  # 值班员
    LEADER = "leader", _("Leader on duty")  # 带班领导


class SwapKind(models.TextChoices):
    SWAP = "swap", _("Swap")  # 换班
    TAKEOVER = "takeover", _("Take-over")  # 替班


class SwapState(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class HandoverState(models.TextChoices):
    OPEN = "open", _("Waiting for the incoming officer")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")


class Category(models.TextChoices):
    NATURAL = "natural", _("Natural disaster")  # 自然灾害
    ACCIDENT = "accident", _("Accident or disaster")  # 事故灾难
    HEALTH = "health", _("Public health event")  # 公共卫生事件
    SECURITY = "security", _("Social security event")  # 社会安全事件


class Grade(models.TextChoices):
    """Ⅰ–Ⅳ, or ungraded but sensitive (reported whatever its grade)."""

    I = "I", _("Especially major (I)")  # 特别重大  # noqa: E741
    II = "II", _("Major (II)")  # 重大
    III = "III", _("Large (III)")  # 较大
    IV = "IV", _("General (IV)")  # 一般
    SENSITIVE = "sensitive", _("Ungraded, sensitive")  # 敏感事件


class ReportState(models.TextChoices):
    """An emergency report (the case): first report filed → follow-ups → final report."""

    PHONED = "phoned", _("Reported by phone; written first report due")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed by the final report")


class SubmissionKind(models.TextChoices):
    PHONE = "phone", _("Report by phone")  # 电话报告
    FIRST = "first", _("First report")  # 首报
    FOLLOW_UP = "follow_up", _("Follow-up report")  # 续报
    DAILY = "daily", _("Daily report")  # 日报
    FINAL = "final", _("Final report")  # 终报


class DueKind(models.TextChoices):
    FIRST = "first", _("Written first report")
    FOLLOW_UP = "follow_up", _("Follow-up report")
    DAILY = "daily", _("Daily report")
    NONE = "", _("Nothing due")


class EscalationStep(models.IntegerChoices):
    """Who is called next while a level has not acknowledged a report."""

    OFFICER = 0, _("Duty officer")  # 值班员
    LEADER = 1, _("Leader on duty")  # 带班领导
    NAMED_ROLE = 2, _("Named role")  # e.g. 办公厅领导
