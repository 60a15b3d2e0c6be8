"""HTML forms of the duty app: validation of input only; the services enforce the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from egov.duty import selectors
from egov.duty.choices import Category, DayKind, DutyRole, Frequency, Grade
from egov.duty.models import TEXT_MAX, CallRecord
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User

MAX_COUNT = 1_000_000


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def _when(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, widget=DateTimeLocalInput(), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )


def _count(label: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=MAX_COUNT, initial=0)


class ReportForm(forms.Form):
    """首报 (first report), on one column so that it fits a phone."""

    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    grade = forms.ChoiceField(label=_("Grade"), choices=Grade.choices)
    is_sensitive = forms.BooleanField(label=_("Sensitive"), required=False)
    occurred_at = _when(_("Time of the event"))
    learned_at = _when(_("Time learned"))
    place = forms.CharField(label=_("Place"), max_length=200)
    source = forms.CharField(label=_("Source of the information"), max_length=200)
    deaths = _count(_("Dead"))
    injured = _count(_("Injured"))
    missing = _count(_("Missing"))
    losses = forms.CharField(
        label=_("Losses"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    course = forms.CharField(
        label=_("Course of events"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )
    by_phone = forms.BooleanField(
        label=_("Reported by phone only; the written first report follows"), required=False
    )


class SubmissionForm(forms.Form):
    """续报 / 终报: verified data, measures and progress (or summary and aftermath)."""

    text = forms.CharField(
        label=_("Report"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )
    deaths = forms.IntegerField(label=_("Dead"), min_value=0, max_value=MAX_COUNT, required=False)
    injured = forms.IntegerField(
        label=_("Injured"), min_value=0, max_value=MAX_COUNT, required=False
    )
    missing = forms.IntegerField(
        label=_("Missing"), min_value=0, max_value=MAX_COUNT, required=False
    )


class CallForm(forms.ModelForm):
    received_at = _when(_("Time of call"))

    class Meta:
        model = CallRecord
        fields = [
            "received_at",
            "caller_unit",
            "caller_name",
            "caller_title",
            "caller_phone",
            "place",
            "what_happened",
            "cause",
            "measures",
            "impact_and_trend",
            "already_told",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ("what_happened", "cause", "measures", "impact_and_trend")
        }


class HandoverForm(forms.Form):
    incoming = forms.ModelChoiceField(label=_("Incoming officer"), queryset=User.objects.none())
    notes = forms.CharField(
        label=_("Notes"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    open_items = forms.CharField(
        label=_("Open items"),
        max_length=TEXT_MAX,
        required=False,
        help_text=_("one item per line"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, organisation: Any = None, user: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        qs = User.objects.filter(
            positions__organisation=organisation,
            positions__is_active=True,
            positions__role_grants__role__in=[Role.DUTY_OFFICER, Role.DUTY_LEADER],
            is_active=True,
        ).distinct()
        if user is not None:
            qs = qs.exclude(pk=user.pk)
        self.fields["incoming"].queryset = qs  # type: ignore[attr-defined]


class ZeroReportForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class SwapForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("swap", _("Swap")), ("takeover", _("Take-over"))]
    )
    counterpart = forms.UUIDField(label=_("Colleague's shift (for a swap)"), required=False)
    taker = forms.CharField(
        label=_("User name of who takes over (for a take-over)"), max_length=150, required=False
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class MonthForm(forms.Form):
    month = forms.RegexField(regex=r"^2[0-1]\d{2}-(0[1-9]|1[0-2])$", required=False)


class DayForm(forms.Form):
    day = forms.DateField(required=False)


class RuleForm(forms.Form):
    """A province's own time limits for one grade (and optionally one category)."""

    category = forms.ChoiceField(
        label=_("Category"), choices=[("", _("Every category")), *Category.choices], required=False
    )
    grade = forms.ChoiceField(label=_("Grade"), choices=Grade.choices)
    phone_minutes = forms.IntegerField(
        label=_("Report by phone within (minutes)"), min_value=1, max_value=10_080
    )
    written_minutes = forms.IntegerField(
        label=_("Report in writing within (minutes)"), min_value=1, max_value=10_080
    )
    follow_up_minutes = forms.IntegerField(
        label=_("Follow-up every (minutes)"), min_value=1, max_value=10_080
    )
    daily_after_hours = forms.IntegerField(
        label=_("Daily reports after (hours)"), min_value=1, max_value=8_760
    )
    escalation_minutes = forms.IntegerField(
        label=_("Escalate an unacknowledged report after (minutes)"), min_value=1, max_value=1_440
    )
    escalation_role = forms.ChoiceField(
        label=_("Named role escalated to last"), choices=Role.choices
    )


# ---------------------------------------------------------------- roster management


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


def _date(label: Any, required: bool = True) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput())


class TeamForm(forms.Form):
    """A new duty team: a unit the person manages rosters for, and a name."""

    organisation = forms.ModelChoiceField(
        label=_("Unit"), queryset=Organisation.objects.none(), to_field_name="uuid"
    )
    name = forms.CharField(label=_("Name"), max_length=100)

    def __init__(self, *args: Any, organisations: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if organisations is not None:
            self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]


class TeamEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False)


WEEKDAY_CHOICES = [
    ("0", _("Monday")),
    ("1", _("Tuesday")),
    ("2", _("Wednesday")),
    ("3", _("Thursday")),
    ("4", _("Friday")),
    ("5", _("Saturday")),
    ("6", _("Sunday")),
]


class PatternForm(forms.Form):
    """A shift pattern: daily every n days, or weekly on some weekdays, from a start time."""

    name = forms.CharField(label=_("Name"), max_length=100)
    frequency = forms.ChoiceField(label=_("Repeats"), choices=Frequency.choices)
    interval = forms.IntegerField(
        label=_("Every"), min_value=1, max_value=365, initial=1, help_text=_("days or weeks")
    )
    weekdays = forms.MultipleChoiceField(
        label=_("On weekdays (weekly patterns)"),
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    day_kind = forms.ChoiceField(label=_("Days"), choices=DayKind.choices, initial=DayKind.ANY)
    start_time = forms.TimeField(label=_("Start time"), widget=TimeInput(), initial="08:30")
    duration_minutes = forms.IntegerField(
        label=_("Length in minutes"), min_value=1, max_value=7 * 24 * 60, initial=24 * 60
    )
    valid_from = _date(_("Valid from"))
    valid_until = _date(_("Valid until"), required=False)

    def clean_weekdays(self) -> str:
        return ",".join(sorted(self.cleaned_data.get("weekdays") or []))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end of validity is before its start."))
        return data

    @classmethod
    def initial_for(cls, pattern: Any) -> dict[str, Any]:
        values = {name: getattr(pattern, name) for name in cls.base_fields}
        values["weekdays"] = sorted(str(d) for d in pattern.weekday_set())
        return values


MAX_GENERATE_DAYS = 400


class GenerateForm(forms.Form):
    start = _date(_("From"))
    end = _date(_("To"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end is before the start."))
            elif (end - start).days > MAX_GENERATE_DAYS:
                self.add_error("end", _("Generate at most 400 days at a time."))
        return data


class AssignForm(forms.Form):
    """Put a person on a shift; the choice is limited to who holds the right role in the unit."""

    role = forms.ChoiceField(label=_("As"), choices=DutyRole.choices, widget=forms.HiddenInput)
    user = forms.ModelChoiceField(
        label=_("Person"), queryset=User.objects.none(), to_field_name="uuid"
    )

    def __init__(self, *args: Any, organisation_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id
        role = self.data.get("role") or self.initial.get("role")
        if organisation_id is not None and role in DutyRole.values:
            self.fields["user"].queryset = selectors.eligible_people(  # type: ignore[attr-defined]
                organisation_id, str(role)
            )
