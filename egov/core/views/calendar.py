"""The working-day calendar's administration page (system administrator, 系统管理员, only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from egov.core.acting import Acting
from egov.core.calendar import (
    confirmed_years,
    library_covers,
    library_days_for_year,
    uncovered_years_warning,
)
from egov.core.errors import DomainError
from egov.core.models import CalendarOverride
from egov.core.services import (
    CALENDAR_MAX_YEAR,
    CALENDAR_MIN_YEAR,
    NOTE_MAX_LENGTH,
    do_confirm_calendar_year,
    do_delete_calendar_override,
    do_set_calendar_override,
)


class CalendarOverrideForm(forms.Form):
    override_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    is_working_day = forms.TypedChoiceField(
        label=_("This day is"),
        choices=[("0", _("a rest day (holiday)")), ("1", _("a working day (adjusted workday)"))],
        coerce=lambda v: v == "1",
        initial="0",
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        help_text=_("For example: 春节, 国庆节调休上班"),
    )


class ConfirmYearForm(forms.Form):
    year = forms.IntegerField(min_value=CALENDAR_MIN_YEAR, max_value=CALENDAR_MAX_YEAR)


def _require_system_admin(request: HttpRequest) -> None:
    from egov.orgs.choices import Role

    user = request.user
    if not user.is_authenticated or not user.has_role(Role.SYSTEM_ADMIN):
        raise Http404


def _year_from(request: HttpRequest) -> int:
    raw = request.GET.get("year") or request.POST.get("view_year") or ""
    try:
        year = int(raw)
    except ValueError:
        return timezone.localdate().year
    if not CALENDAR_MIN_YEAR <= year <= CALENDAR_MAX_YEAR:
        return timezone.localdate().year
    return year


def _admin_url(year: int) -> str:
    return f"{reverse('core:calendar_admin')}?year={year}"


def _render(
    request: HttpRequest,
    *,
    year: int,
    form: CalendarOverrideForm,
    confirm_form: ConfirmYearForm | None = None,
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    overrides = list(CalendarOverride.objects.filter(date__year=year).order_by("date"))
    context: dict[str, Any] = {
        "year": year,
        "years": list(range(today.year - 1, today.year + 3)),
        "uncovered": uncovered_years_warning(today),
        "confirmed": sorted(confirmed_years()),
        "library_covers_year": library_covers(year),
        "library_days": library_days_for_year(year),
        "overrides": overrides,
        "form": form,
        "confirm_form": confirm_form or ConfirmYearForm(),
        "editing": form["override_id"].value() not in (None, ""),
    }
    return render(request, "core/calendar/admin.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def calendar_admin(request: HttpRequest) -> HttpResponse:
    """List the overrides of a year; add or change one; the warning for uncovered years."""
    _require_system_admin(request)
    year = _year_from(request)
    if request.method == "GET":
        initial: dict[str, Any] = {}
        edit_raw = request.GET.get("edit", "")
        if edit_raw.isdigit():
            override = CalendarOverride.objects.filter(pk=int(edit_raw)).first()
            if override is None:
                raise Http404
            initial = {
                "override_id": override.pk,
                "date": override.date,
                "is_working_day": "1" if override.is_working_day else "0",
                "note": override.note,
            }
            year = override.date.year
        return _render(request, year=year, form=CalendarOverrideForm(initial=initial))
    form = CalendarOverrideForm(request.POST)
    if not form.is_valid():
        return _render(request, year=year, form=form, status=400)
    data = form.cleaned_data
    try:
        override = do_set_calendar_override(
            day=data["date"],
            is_working_day=data["is_working_day"],
            note=data["note"],
            override_id=data["override_id"],
            acting=Acting.from_request(request),
        )
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return _render(request, year=year, form=form, status=400)
    return HttpResponseRedirect(_admin_url(override.date.year))


@login_required
@require_POST
def calendar_override_delete(request: HttpRequest, override_id: int) -> HttpResponse:
    _require_system_admin(request)
    override = CalendarOverride.objects.filter(pk=override_id).first()
    if override is None:
        raise Http404
    year = override.date.year
    try:
        do_delete_calendar_override(override_id, acting=Acting.from_request(request))
    except DomainError:
        raise Http404 from None
    return HttpResponseRedirect(_admin_url(year))


@login_required
@require_POST
def calendar_year_confirm(request: HttpRequest) -> HttpResponse:
    """Confirm that a year's holidays are entered: the warning for it stops."""
    _require_system_admin(request)
    confirm_form = ConfirmYearForm(request.POST)
    year = _year_from(request)
    if confirm_form.is_valid():
        try:
            confirmed = do_confirm_calendar_year(
                confirm_form.cleaned_data["year"], acting=Acting.from_request(request)
            )
        except DomainError as exc:
            confirm_form.add_error("year", str(exc.message))
        else:
            return HttpResponseRedirect(_admin_url(confirmed.year))
    return _render(
        request, year=year, form=CalendarOverrideForm(), confirm_form=confirm_form, status=400
    )


urlpatterns = [
    path("calendar/", calendar_admin, name="calendar_admin"),
    path(
        "calendar/overrides/<int:override_id>/delete/",
        calendar_override_delete,
        name="calendar_override_delete",
    ),
    path("calendar/confirm-year/", calendar_year_confirm, name="calendar_year_confirm"),
]
