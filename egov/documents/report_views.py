"""Views of the documents' reports: the statistics page and the processing forms as PDF.

URLs (egov/documents/urls.py):
    stats/                      documents:stats
    out/<doc_id>/form.pdf       documents:outgoing_form_pdf
    in/<doc_id>/form.pdf        documents:incoming_form_pdf
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from egov.documents import processing_form, selectors
from egov.documents.stats import Period, document_stats
from egov.orgs.models import User

# A longer range adds nothing a clerk reads on one page; a year covers the annual report.
MAX_RANGE_DAYS = 366


class StatsPeriodForm(forms.Form):
    """A month (YYYY-MM), or a range of days; the range wins when both are given."""

    month = forms.RegexField(
        label=pgettext_lazy("documents", "Month"),
        regex=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$",
        required=False,
        max_length=7,
        error_messages={"invalid": gettext_lazy("Give the month as YYYY-MM.")},
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM", "inputmode": "numeric"}),
    )
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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since is None and until is None:
            return data
        if since is None:
            self.add_error("since", _("Give the first day of the range."))
        elif until is None:
            self.add_error("until", _("Give the last day of the range."))
        elif until < since:
            self.add_error("until", _("The last day comes before the first."))
        elif (until - since).days >= MAX_RANGE_DAYS:
            self.add_error("until", _("A range covers at most %(n)d days.") % {"n": MAX_RANGE_DAYS})
        return data

    def period(self, today: date) -> Period:
        """The period asked for; the current month when nothing (valid) is given."""
        if self.is_valid():
            data = self.cleaned_data
            if data.get("since") and data.get("until"):
                return Period(data["since"], data["until"])
            if data.get("month"):
                year, month = (int(p) for p in data["month"].split("-"))
                return Period.month(year, month)
        return Period.month(today.year, today.month)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@login_required
@require_http_methods(["GET", "HEAD"])
def stats(request: HttpRequest) -> HttpResponse:
    """Documents sent and received per organisation and period, times to sign for and to
    close, and the overdue list."""
    today = timezone.localdate()
    form = StatsPeriodForm(request.GET or None, initial={"month": f"{today:%Y-%m}"})
    period = form.period(today)
    data = document_stats(_user(request), period, today=today)
    previous = Period.month(*_shift_month(period.start, -1))
    following = Period.month(*_shift_month(period.start, 1))
    return render(
        request,
        "documents/stats.html",
        {
            "form": form,
            "data": data,
            "period": period,
            "month": f"{period.start:%Y-%m}" if period.is_month else "",
            "previous_month": f"{previous.start:%Y-%m}",
            "next_month": f"{following.start:%Y-%m}" if following.start <= today else "",
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def _shift_month(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _printed_by(user: User) -> str:
    return user.full_name or user.get_username()


@login_required
@require_http_methods(["GET", "HEAD"])
def outgoing_form_pdf(request: HttpRequest, doc_id: str) -> HttpResponse:
    """The 发文稿纸 of an outgoing document in the person's scope (else 404)."""
    user = _user(request)
    doc = selectors.access_outgoing(user, doc_id)
    pdf = processing_form.outgoing_form_pdf(doc, printed_by=_printed_by(user))
    return _pdf(pdf, f"{doc.uuid}-form.pdf")


@login_required
@require_http_methods(["GET", "HEAD"])
def incoming_form_pdf(request: HttpRequest, doc_id: str) -> HttpResponse:
    """The 收文处理单 of an incoming document in the person's scope (else 404)."""
    user = _user(request)
    doc = selectors.access_incoming(user, doc_id)
    pdf = processing_form.incoming_form_pdf(doc, printed_by=_printed_by(user))
    return _pdf(pdf, f"{doc.uuid}-form.pdf")
