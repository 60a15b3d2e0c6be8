from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicJobRun(models.Model):
    """When a registered periodic job last ran; the row is locked so two runners never both fire."""

    name = models.CharField(_("job"), max_length=100, unique=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_task_id = models.CharField(_("last task"), max_length=64, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("periodic job")

    def __str__(self) -> str:
        return self.name
