from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimeStampedModel


class CalendarOverride(TimeStampedModel):
    """An administrator's correction to the working-day calendar: this date is (not) a working day.

    It wins over chinese-calendar, and fills years the library does not cover yet.
    """

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")

    def __str__(self) -> str:
        return f"{self.date} {'work' if self.is_working_day else 'rest'}"


class CalendarYear(TimeStampedModel):
    """An administrator's statement that a year's holidays are filled in (silences the warning)."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    confirmed_by = models.CharField(_("confirmed by"), max_length=150, blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("confirmed calendar year")
        verbose_name_plural = _("confirmed calendar years")

    def __str__(self) -> str:
        return str(self.year)
