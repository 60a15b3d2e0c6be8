"""Enumerations of the supervision app (督查督办): task states, sources, unit roles, reasons."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskState(models.TextChoices):
    """The states of a supervised task; the transition table lives in `services.TRANSITIONS`."""

    REGISTERED = "registered", _("Registered, awaiting approval")  # 立项
    APPROVED = "approved", _("Approved, awaiting assignment")  # 审核
    ASSIGNED = "assigned", _("Assigned, awaiting sign-in")  # 交办
    RETURNED = "returned", _("Returned by the lead unit")  # 退回
    IN_PROGRESS = "in_progress", _("In progress")  # 办理中
    CLOSING = "closing", _("Applied to close, awaiting review")  # 申请办结
    DONE = "done", _("Done")  # 办结
    ARCHIVED = "archived", _("Archived")  # 归档


ACTIVE_STATES = (TaskState.ASSIGNED, TaskState.IN_PROGRESS, TaskState.CLOSING)
FINISHED_STATES = (TaskState.DONE, TaskState.ARCHIVED)


class TaskSource(models.TextChoices):
    LEADER_INSTRUCTION = "leader_instruction", _("Leader's instruction")  # 领导批示
    MEETING_DECISION = "meeting_decision", _("Meeting decision")  # 会议决定
    KEY_DOCUMENT = "key_document", _("Key document")  # 重要文件
    NPC_SUGGESTION = "npc_suggestion", _("Deputies' suggestion")  # 人大建议
    CPPCC_PROPOSAL = "cppcc_proposal", _("Members' proposal")  # 政协提案
    MEDIA = "media", _("Media report")  # 媒体报道
    OTHER = "other", _("Other")


PROPOSAL_SOURCES = (TaskSource.NPC_SUGGESTION, TaskSource.CPPCC_PROPOSAL)


class ReportCycle(models.TextChoices):
    NONE = "none", _("Single deadline")
    MONTHLY = "monthly", _("Monthly, by the n-th working day")


class UnitRole(models.TextChoices):
    LEAD = "lead", _("Lead unit")  # 主办
    CO = "co", _("Co-unit")  # 会办


class UnitState(models.TextChoices):
    ASSIGNED = "assigned", _("Awaiting sign-in")
    ACKNOWLEDGED = "acknowledged", _("Signed in")
    RETURNED = "returned", _("Returned")


class ReminderReason(models.TextChoices):
    DUE_3 = "due_3", _("Due in 3 working days")
    DUE_1 = "due_1", _("Due in 1 working day")
    SIGN_MISSED = "sign_missed", _("Sign-in deadline missed")
    REPORT_MISSED = "report_missed", _("Progress report missed")
    OVERDUE = "overdue", _("Overdue")
    URGE = "urge", _("Urging notice (催办单)")


class ExtensionState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class Satisfaction(models.TextChoices):
    """The proposer's view of the answer to a 建议/提案."""

    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY = "basically", _("Basically satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")


class Colour(models.TextChoices):
    """Status colours (UI.md): the CSS class is `state-<value>`."""

    OVERDUE = "overdue", _("Overdue")  # red
    BEHIND = "behind", _("Behind")  # yellow
    DUE_SOON = "due_soon", _("Due soon")  # blue
    ON_TIME = "on_time", _("On time")  # no colour
    DONE = "done", _("Done")  # green
    CLOSED = "closed", _("Closed")  # grey


class EventKind(models.TextChoices):
    REGISTER = "register", _("Registered")
    APPROVE = "approve", _("Approved")
    ASSIGN = "assign", _("Assigned")
    ACKNOWLEDGE = "acknowledge", _("Signed in")
    RETURN = "return", _("Returned")
    REPORT = "report", _("Progress report")
    APPLY_CLOSE = "apply_close", _("Applied to close")
    REVIEW_PASS = "review_pass", _("Review passed")
    REVIEW_BACK = "review_back", _("Sent back after review")
    ARCHIVE = "archive", _("Archived")
    EXTENSION_REQUEST = "extension_request", _("Extension requested")
    EXTENSION_APPROVE = "extension_approve", _("Extension approved")
    EXTENSION_REFUSE = "extension_refuse", _("Extension refused")
    REMIND = "remind", _("Reminder sent")
    URGE = "urge", _("Urging notice")


class AttachmentPurpose(models.TextChoices):
    REPORT = "report", _("Progress report")
    EVIDENCE = "evidence", _("Evidence of completion")
