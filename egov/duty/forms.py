"""HTML forms of the duty app: validation of input only; the services enforce the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from egov.duty.choices import Category, Grade
from egov.duty.models import TEXT_MAX, CallRecord
from egov.orgs.choices import Role
from egov.orgs.models import User

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
    month = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$", required=False)


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
