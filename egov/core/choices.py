from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")
    DENIED = "denied", _("Denied")


class DeadlineState(models.TextChoices):
    """Colours mean one thing everywhere (UI.md): red overdue, blue due soon, green done."""

    ON_TIME = "on_time", _("On time")
    DUE_SOON = "due_soon", _("Due soon")
    OVERDUE = "overdue", _("Overdue")
    DONE = "done", _("Done")


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", _("In-app")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class AttemptStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
