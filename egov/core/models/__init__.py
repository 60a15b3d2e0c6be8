"""Shared-kernel models: the audit trail, the working-day calendar, notifications, scheduling."""

from .audit import AuditChainHead, AuditEvent
from .base import TimeStampedModel
from .calendar import CalendarOverride, CalendarYear
from .notifications import Notification, NotificationAttempt, NotificationPreference
from .scheduling import PeriodicJobRun

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "CalendarOverride",
    "CalendarYear",
    "Notification",
    "NotificationAttempt",
    "NotificationPreference",
    "PeriodicJobRun",
    "TimeStampedModel",
]
