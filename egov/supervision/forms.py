"""HTML forms of the supervision app: validation of input only; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from egov.orgs.models import Organisation
from egov.supervision.choices import ReportCycle, Satisfaction, TaskSource, TaskState

TEXT_MAX = 5000
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _text(label: Any, *, required: bool = True, max_length: int = TEXT_MAX) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TaskRegisterForm(forms.Form):
    office = forms.ModelChoiceField(
        label=_("Supervising office"), queryset=Organisation.objects.none()
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    source = forms.ChoiceField(label=_("Source"), choices=TaskSource.choices)
    source_reference = _text(
        _("Source reference (instruction text, meeting, document)"), required=False
    )
    requirement = _text(_("Requirement"))
    quality_standard = _text(_("Quality standard"))
    responsible_leader = forms.CharField(label=_("Responsible leader"), max_length=100)
    responsible_person = forms.CharField(label=_("Responsible person"), max_length=100)
    deadline = forms.DateField(label=_("Deadline"), widget=DATE_WIDGET)
    sign_in_days = forms.IntegerField(
        label=_("Working days to sign in"), min_value=1, max_value=20, initial=2
    )
    report_cycle = forms.ChoiceField(
        label=_("Report cycle"), choices=ReportCycle.choices, initial=ReportCycle.NONE
    )
    report_day = forms.IntegerField(
        label=_("Report by the n-th working day of the month"), min_value=1, max_value=20, initial=5
    )
    parent = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, offices: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = offices  # type: ignore[attr-defined]
        if offices.count() == 1:
            self.fields["office"].initial = offices.first()


class AssignForm(forms.Form):
    lead_unit = forms.ModelChoiceField(label=_("Lead unit"), queryset=Organisation.objects.none())
    co_units = forms.ModelMultipleChoiceField(
        label=_("Co-units"), queryset=Organisation.objects.none(), required=False
    )

    def __init__(self, *args: Any, units: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["co_units"].queryset = units  # type: ignore[attr-defined]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if not data:
            return super().clean(None, initial) or []
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


def _files() -> MultipleFileField:
    return MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("Up to 10 files of at most 20 MB: PDF, OFD, Word, Excel, WPS, images, zip."),
    )


class ReasonForm(forms.Form):
    reason = _text(_("Reason"))


class ReportForm(forms.Form):
    text = _text(_("Progress"))
    percent = forms.IntegerField(label=_("Percent complete"), min_value=0, max_value=100)
    attachments = _files()


class ApplyCloseForm(forms.Form):
    evidence = _text(_("Evidence of completion"))
    attachments = _files()


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("pass", _("Pass: close the task")), ("back", _("Send back"))]
    )
    quality_score = forms.IntegerField(
        label=_("Quality score"), min_value=0, max_value=100, required=False
    )
    satisfaction = forms.ChoiceField(
        label=_("Satisfaction (suggestions and proposals)"),
        choices=[("", "—"), *Satisfaction.choices],
        required=False,
    )
    reason = _text(_("Reason (when sending back)"), required=False)


class UrgeForm(forms.Form):
    text = _text(_("Urging notice (催办单)"))


class ExtensionForm(forms.Form):
    new_deadline = forms.DateField(label=_("New deadline"), widget=DATE_WIDGET)
    reason = _text(_("Reason"))


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("refuse", _("Refuse"))]
    )
    note = _text(_("Note"), required=False)


class TaskFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    state = forms.ChoiceField(
        label=_("State"), choices=[("", _("Any")), *TaskState.choices], required=False
    )
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", _("Any")), *TaskSource.choices], required=False
    )


class PeriodForm(forms.Form):
    month = forms.RegexField(
        label=_("Month"), regex=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", required=False, max_length=7
    )
