"""Choices of the official documents (公文): types, direction, classification, the two state
machines (发文 outgoing, 收文 incoming) and the history's event kinds."""

from __future__ import annotations

from django.db import models
from django.utils.translation import pgettext_lazy


class DocType(models.TextChoices):
    """The 15 types of 《党政机关公文处理工作条例》 Art. 8."""

    RESOLUTION = "resolution", pgettext_lazy("documents", "Resolution")  # 决议
    DECISION = "decision", pgettext_lazy("documents", "Decision")  # 决定
    ORDER = "order", pgettext_lazy("documents", "Order")  # 命令（令）
    COMMUNIQUE = "communique", pgettext_lazy("documents", "Communiqué")  # 公报
    ANNOUNCEMENT = "announcement", pgettext_lazy("documents", "Announcement")  # 公告
    PUBLIC_NOTICE = "public_notice", pgettext_lazy("documents", "Public notice")  # 通告
    OPINION = "opinion", pgettext_lazy("documents", "Opinion")  # 意见
    NOTICE = "notice", pgettext_lazy("documents", "Notice")  # 通知
    BULLETIN = "bulletin", pgettext_lazy("documents", "Bulletin")  # 通报
    REPORT = "report", pgettext_lazy("documents", "Report")  # 报告
    REQUEST = "request", pgettext_lazy("documents", "Request for instructions")  # 请示
    REPLY = "reply", pgettext_lazy("documents", "Official reply")  # 批复
    MOTION = "motion", pgettext_lazy("documents", "Motion")  # 议案
    LETTER = "letter", pgettext_lazy("documents", "Letter")  # 函
    MINUTES = "minutes", pgettext_lazy("documents", "Minutes")  # 纪要


class Direction(models.TextChoices):
    UPWARD = "upward", pgettext_lazy("documents", "To a higher authority")  # 上行文
    PARALLEL = "parallel", pgettext_lazy("documents", "To a peer")  # 平行文
    DOWNWARD = "downward", pgettext_lazy("documents", "To lower authorities")  # 下行文


class Classification(models.TextChoices):
    NONE = "none", pgettext_lazy("documents", "Not classified")  # 非密
    SECRET = "secret", pgettext_lazy("documents", "Secret")  # 秘密
    CONFIDENTIAL = "confidential", pgettext_lazy("documents", "Confidential")  # 机密
    TOP_SECRET = "top_secret", pgettext_lazy("documents", "Top secret")  # 绝密


class Urgency(models.TextChoices):
    NORMAL = "normal", pgettext_lazy("documents", "Normal")
    URGENT = "urgent", pgettext_lazy("documents", "Urgent")  # 加急
    EXTRA_URGENT = "extra_urgent", pgettext_lazy("documents", "Extra urgent")  # 特急


class RecipientRole(models.TextChoices):
    MAIN = "main", pgettext_lazy("documents", "Main recipient")  # 主送
    COPY = "copy", pgettext_lazy("documents", "Copied to")  # 抄送


class OutgoingState(models.TextChoices):
    """发文办理. Return with reason goes back to DRAFT from review and from sign-off."""

    DRAFT = "draft", pgettext_lazy("documents", "Draft")  # 拟稿
    IN_REVIEW = "in_review", pgettext_lazy("documents", "In review")  # 审核
    AWAITING_SIGN_OFF = (
        "awaiting_sign_off",
        pgettext_lazy("documents", "Awaiting sign-off"),
    )  # 待签发
    SIGNED_OFF = "signed_off", pgettext_lazy("documents", "Signed off")  # 已签发
    REGISTERED = "registered", pgettext_lazy("documents", "Registered")  # 已登记（编号）
    RENDERED = "rendered", pgettext_lazy("documents", "Laid out")  # 已印制
    SEALED = "sealed", pgettext_lazy("documents", "Sealed")  # 已用印
    DISPATCHED = "dispatched", pgettext_lazy("documents", "Dispatched")  # 已核发


class ReviewState(models.TextChoices):
    WAITING = "waiting", pgettext_lazy("documents", "Waiting")
    CURRENT = "current", pgettext_lazy("documents", "To review")
    APPROVED = "approved", pgettext_lazy("documents", "Approved")
    RETURNED = "returned", pgettext_lazy("documents", "Returned")


class DistributionState(models.TextChoices):
    """Per recipient of a dispatched document (the exchange's delivery, then the sign-for)."""

    PENDING = "pending", pgettext_lazy("documents", "Sending")
    DELIVERED = "delivered", pgettext_lazy("documents", "Delivered")
    SIGNED_FOR = "signed_for", pgettext_lazy("documents", "Signed for")  # 已签收
    RETURNED = "returned", pgettext_lazy("documents", "Returned")  # 退回
    FAILED = "failed", pgettext_lazy("documents", "Delivery failed")
    # Stored when the recall (撤回) is sent; shown as requested / refused / recalled by the
    # recipient's answer (selectors.distribution_states).
    RECALLED = "recalled", pgettext_lazy("documents", "Recalled")  # 撤回
    RECALL_REQUESTED = "recall_requested", pgettext_lazy("documents", "Recall requested")
    RECALL_REFUSED = "recall_refused", pgettext_lazy("documents", "Recall refused")


class IncomingState(models.TextChoices):
    """收文办理."""

    RECEIVED = "received", pgettext_lazy("documents", "Received")  # 待签收
    SIGNED_FOR = "signed_for", pgettext_lazy("documents", "Signed for")  # 已签收
    REGISTERED = "registered", pgettext_lazy("documents", "Registered")  # 已登记
    SCREENED = "screened", pgettext_lazy("documents", "Screened")  # 已初审
    PROPOSED = "proposed", pgettext_lazy("documents", "Handling proposed")  # 已拟办
    INSTRUCTED = "instructed", pgettext_lazy("documents", "Leader instructed")  # 已批示
    IN_HANDLING = "in_handling", pgettext_lazy("documents", "In handling")  # 承办中
    ANSWERED = "answered", pgettext_lazy("documents", "Answered")  # 已答复
    CLOSED = "closed", pgettext_lazy("documents", "Closed")  # 办结
    ARCHIVED = "archived", pgettext_lazy("documents", "Archived")  # 归档
    RETURNED = "returned", pgettext_lazy("documents", "Returned to sender")  # 退回
    RECALLED = "recalled", pgettext_lazy("documents", "Recalled by sender")  # 已撤回


class AssignmentState(models.TextChoices):
    OPEN = "open", pgettext_lazy("documents", "Handling")
    DONE = "done", pgettext_lazy("documents", "Done")


class EventKind(models.TextChoices):
    CREATED = "created", pgettext_lazy("documents", "Drafted")
    EDITED = "edited", pgettext_lazy("documents", "Edited")
    SUBMITTED = "submitted", pgettext_lazy("documents", "Submitted for review")
    APPROVED = "approved", pgettext_lazy("documents", "Review approved")
    RETURNED = "returned", pgettext_lazy("documents", "Returned with reason")
    SIGNED_OFF = "signed_off", pgettext_lazy("documents", "Signed off")
    RECHECKED = "rechecked", pgettext_lazy("documents", "Re-checked")
    REGISTERED = "registered", pgettext_lazy("documents", "Registered")
    RENDERED = "rendered", pgettext_lazy("documents", "Laid out")
    SEALED = "sealed", pgettext_lazy("documents", "Sealed")
    DISPATCHED = "dispatched", pgettext_lazy("documents", "Dispatched")
    DELIVERED = "delivered", pgettext_lazy("documents", "Delivered")
    RECALLED = "recalled", pgettext_lazy("documents", "Recalled")
    RECEIVED = "received", pgettext_lazy("documents", "Received")
    SIGNED_FOR = "signed_for", pgettext_lazy("documents", "Signed for")
    SCREENED = "screened", pgettext_lazy("documents", "Screened")
    PROPOSED = "proposed", pgettext_lazy("documents", "Handling proposed")
    INSTRUCTED = "instructed", pgettext_lazy("documents", "Leader's instruction")
    ASSIGNED = "assigned", pgettext_lazy("documents", "Assigned")
    READ = "read", pgettext_lazy("documents", "Read")
    HANDLED = "handled", pgettext_lazy("documents", "Handled")
    CHASED = "chased", pgettext_lazy("documents", "Reminder sent")
    ANSWERED = "answered", pgettext_lazy("documents", "Answered")
    CLOSED = "closed", pgettext_lazy("documents", "Closed")
    ARCHIVED = "archived", pgettext_lazy("documents", "Archived")


# Types whose layout is not the standard 文件格式.
LETTER_TYPES = frozenset({DocType.LETTER})
ORDER_TYPES = frozenset({DocType.ORDER})
MINUTES_TYPES = frozenset({DocType.MINUTES})
# Documents that direct their recipients (a department may not send these to a lower government).
DIRECTIVE_TYPES = frozenset(
    {
        DocType.RESOLUTION,
        DocType.DECISION,
        DocType.ORDER,
        DocType.OPINION,
        DocType.NOTICE,
        DocType.BULLETIN,
        DocType.REPLY,
    }
)
