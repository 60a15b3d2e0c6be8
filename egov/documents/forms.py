"""Forms of the documents pages (the API has its own schemas)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import pgettext_lazy

from egov.documents.choices import Classification, Direction, DocType, Urgency
from egov.orgs.models import Organisation, User


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class DraftForm(forms.Form):
    doc_type = forms.ChoiceField(
        label=pgettext_lazy("documents", "Type"), choices=DocType.choices, initial=DocType.NOTICE
    )
    direction = forms.ChoiceField(
        label=pgettext_lazy("documents", "Direction"),
        choices=Direction.choices,
        initial=Direction.DOWNWARD,
    )
    title = forms.CharField(label=pgettext_lazy("documents", "Title"), max_length=200)
    body = forms.CharField(
        label=pgettext_lazy("documents", "Body"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=pgettext_lazy(
            "documents", "One paragraph per line; lines numbered 一、 （一） 1. become headings."
        ),
    )
    main_recipients = forms.ModelMultipleChoiceField(
        label=pgettext_lazy("documents", "Main recipients"), queryset=Organisation.objects.none()
    )
    copies = forms.ModelMultipleChoiceField(
        label=pgettext_lazy("documents", "Copied to"),
        queryset=Organisation.objects.none(),
        required=False,
    )
    joint = forms.ModelMultipleChoiceField(
        label=pgettext_lazy("documents", "Co-issuing agencies (joint issue)"),
        queryset=Organisation.objects.none(),
        required=False,
    )
    urgency = forms.ChoiceField(
        label=pgettext_lazy("documents", "Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL
    )
    classification = forms.ChoiceField(
        label=pgettext_lazy("documents", "Classification"),
        choices=Classification.choices,
        initial=Classification.NONE,
    )
    secrecy_period = forms.CharField(
        label=pgettext_lazy("documents", "Secrecy period"), max_length=20, required=False
    )
    copy_number = forms.CharField(
        label=pgettext_lazy("documents", "Copy number"), max_length=6, required=False
    )
    note = forms.CharField(label=pgettext_lazy("documents", "Note"), max_length=300, required=False)
    reply_due = forms.DateField(
        label=pgettext_lazy("documents", "Reply due"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    attachments = MultipleFileField(label=pgettext_lazy("documents", "Attachments"), required=False)

    def __init__(self, *args: Any, organisations: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        qs = organisations if organisations is not None else Organisation.objects.none()
        for name in ("main_recipients", "copies", "joint"):
            self.fields[name].queryset = qs  # type: ignore[attr-defined]


class SubmitForm(forms.Form):
    reviewers = forms.ModelMultipleChoiceField(
        label=pgettext_lazy("documents", "Reviewers, in order"), queryset=User.objects.none()
    )

    def __init__(self, *args: Any, reviewers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelMultipleChoiceField, self.fields["reviewers"])
        field.queryset = reviewers if reviewers is not None else User.objects.none()


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label=pgettext_lazy("documents", "Comment or reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class TextForm(forms.Form):
    text = forms.CharField(
        label=pgettext_lazy("documents", "Text"), widget=forms.Textarea(attrs={"rows": 3})
    )


class AssignForm(forms.Form):
    lead = forms.ModelChoiceField(
        label=pgettext_lazy("documents", "Lead unit"), queryset=Organisation.objects.none()
    )
    assisting = forms.ModelMultipleChoiceField(
        label=pgettext_lazy("documents", "Assisting units"),
        queryset=Organisation.objects.none(),
        required=False,
    )
    readers = forms.ModelMultipleChoiceField(
        label=pgettext_lazy("documents", "Circulate to"),
        queryset=User.objects.none(),
        required=False,
    )
    reply_due = forms.DateField(
        label=pgettext_lazy("documents", "Reply due"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, units: Any = None, readers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = units  # type: ignore[attr-defined]
        self.fields["assisting"].queryset = units  # type: ignore[attr-defined]
        self.fields["readers"].queryset = readers  # type: ignore[attr-defined]


class SearchForm(forms.Form):
    q = forms.CharField(label=pgettext_lazy("documents", "Search"), required=False, max_length=100)
    doc_type = forms.ChoiceField(
        label=pgettext_lazy("documents", "Type"),
        choices=[("", pgettext_lazy("documents", "All types")), *DocType.choices],
        required=False,
    )
    state = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    since = forms.DateField(
        label=pgettext_lazy("documents", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=pgettext_lazy("documents", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
