"""Core write services: the calendar's override table and confirmed years, notification state.

Each runs in `transaction.atomic` and records an audit event. Notifications themselves are
created by `egov.core.notifications.do_notify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.calendar import library_covers
from egov.core.choices import NotificationChannel
from egov.core.errors import Conflict, DomainError
from egov.core.models import (
    CalendarOverride,
    CalendarYear,
    Notification,
    NotificationPreference,
)

# Years the override table accepts: the span anyone plans deadlines in.
CALENDAR_MIN_YEAR = 2000
CALENDAR_MAX_YEAR = 2100
NOTE_MAX_LENGTH = 200


def _check_calendar_year(year: int, field: str) -> None:
    if not CALENDAR_MIN_YEAR <= year <= CALENDAR_MAX_YEAR:
        raise DomainError(
            _("Enter a year between %(min)d and %(max)d.")
            % {"min": CALENDAR_MIN_YEAR, "max": CALENDAR_MAX_YEAR},
            field=field,
        )


def do_set_calendar_override(
    *,
    day: date,
    is_working_day: bool,
    note: str = "",
    override_id: int | None = None,
    acting: Acting,
) -> CalendarOverride:
    """Create an override for `day`, or change override `override_id` (its date may move)."""
    _check_calendar_year(day.year, "date")
    note = note.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise DomainError(
            _("Keep the note to %(max)d characters.") % {"max": NOTE_MAX_LENGTH}, field="note"
        )
    with transaction.atomic():
        clash = CalendarOverride.objects.filter(date=day)
        if override_id is not None:
            clash = clash.exclude(pk=override_id)
        if clash.exists():
            raise Conflict(
                _("%(date)s already has an override; edit that one instead.")
                % {"date": day.isoformat()},
                field="date",
            )
        if override_id is None:
            override = CalendarOverride(date=day, is_working_day=is_working_day, note=note)
            before = None
        else:
            try:
                override = CalendarOverride.objects.select_for_update().get(pk=override_id)
            except CalendarOverride.DoesNotExist:
                raise DomainError(_("This override no longer exists."), field="date") from None
            before = {
                "date": override.date.isoformat(),
                "is_working_day": override.is_working_day,
                "note": override.note,
            }
            override.date = day
            override.is_working_day = is_working_day
            override.note = note
        try:
            with transaction.atomic():
                override.save()
        except IntegrityError:
            raise Conflict(
                _("%(date)s already has an override; edit that one instead.")
                % {"date": day.isoformat()},
                field="date",
            ) from None
        record_audit(
            "core.calendar_override.set",
            acting=acting,
            obj=override,
            details={
                "date": day.isoformat(),
                "is_working_day": is_working_day,
                "note": note,
                "before": before,
            },
        )
    return override


def do_delete_calendar_override(override_id: int, *, acting: Acting) -> None:
    with transaction.atomic():
        try:
            override = CalendarOverride.objects.select_for_update().get(pk=override_id)
        except CalendarOverride.DoesNotExist:
            raise DomainError(_("This override no longer exists.")) from None
        details = {
            "date": override.date.isoformat(),
            "is_working_day": override.is_working_day,
            "note": override.note,
        }
        record_audit("core.calendar_override.delete", acting=acting, obj=override, details=details)
        override.delete()


def do_confirm_calendar_year(year: int, *, acting: Acting) -> CalendarYear:
    """State that `year`'s holidays are in the override table: the page's warning stops.

    Refused for years the built-in calendar covers (nothing to confirm) and for years without a
    single override yet (every year has statutory holidays, so that would be a mistake).
    """
    _check_calendar_year(year, "year")
    if library_covers(year):
        raise DomainError(
            _("The built-in calendar already covers %(year)d.") % {"year": year}, field="year"
        )
    with transaction.atomic():
        existing = CalendarYear.objects.filter(year=year).first()
        if existing is not None:
            return existing
        if not CalendarOverride.objects.filter(date__year=year).exists():
            raise DomainError(
                _("Enter the holidays and adjusted workdays of %(year)d first.") % {"year": year},
                field="year",
            )
        confirmed = CalendarYear(year=year, confirmed_by=acting.username[:150])
        try:
            with transaction.atomic():
                confirmed.save()
        except IntegrityError:
            return CalendarYear.objects.get(year=year)
        record_audit("core.calendar_year.confirm", acting=acting, obj=confirmed)
    return confirmed


def do_mark_notifications_read(
    user_id: int, *, notification_ids: Iterable[int] | None = None, acting: Acting
) -> int:
    """Mark the user's unread notifications read (all of them, or those in `notification_ids`).

    Other users' notifications are never touched. Returns how many changed.
    """
    with transaction.atomic():
        qs = Notification.objects.filter(recipient_id=user_id, read_at__isnull=True)
        ids = None
        if notification_ids is not None:
            ids = sorted(set(notification_ids))
            qs = qs.filter(pk__in=ids)
        changed = qs.update(read_at=timezone.now())
        if changed:
            record_audit(
                "core.notification.read",
                acting=acting,
                details={"user_id": user_id, "count": changed, "ids": ids},
            )
    return changed


def _check_preference(kind: str, channel: str) -> None:
    from egov.core.notifications import get_notification_kind

    if get_notification_kind(kind) is None:
        raise DomainError(_("Unknown kind of notification."), field="kind")
    if channel not in (NotificationChannel.EMAIL, NotificationChannel.SMS):
        raise DomainError(_("Choose e-mail or SMS."), field="channel")


def do_set_notification_preference(
    user_id: int, *, kind: str, channel: str, enabled: bool, acting: Acting
) -> NotificationPreference:
    """Whether the user gets `kind` on `channel` (e-mail or SMS; the inbox always gets it)."""
    return do_set_notification_preferences(
        user_id, wanted={(kind, channel): enabled}, acting=acting
    )[0]


def do_set_notification_preferences(
    user_id: int, *, wanted: Mapping[tuple[str, str], bool], acting: Acting
) -> list[NotificationPreference]:
    """Set several (kind, channel) preferences at once: one audit event for the form."""
    for kind, channel in wanted:
        _check_preference(kind, channel)
    with transaction.atomic():
        existing = {
            (p.kind, p.channel): p
            for p in NotificationPreference.objects.select_for_update().filter(user_id=user_id)
        }
        result: list[NotificationPreference] = []
        changes: dict[str, bool] = {}
        for (kind, channel), enabled in sorted(wanted.items()):
            pref = existing.get((kind, channel))
            if pref is None:
                pref = NotificationPreference(
                    user_id=user_id, kind=kind, channel=channel, enabled=enabled
                )
                pref.save()
                changes[f"{kind}:{channel}"] = enabled
            elif pref.enabled != enabled:
                pref.enabled = enabled
                pref.save(update_fields=["enabled", "updated_at"])
                changes[f"{kind}:{channel}"] = enabled
            result.append(pref)
        if changes:
            record_audit(
                "core.notification_preference.set",
                acting=acting,
                details={"user_id": user_id, "changes": changes},
            )
    return result
