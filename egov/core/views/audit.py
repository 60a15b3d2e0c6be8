"""The auditor's view of the audit trail (审计管理员): list with filters, one event, CSV export.

Only a person holding the audit administrator role may see these pages; for anyone else they
do not exist (404) — the system and security administrators included (三员分立). An auditor
sees the events of the organisations below the one they audit; a root auditor also sees the
events that belong to no organisation. Looking at
the trail and exporting it are themselves recorded (`audit.viewed`, `audit.exported`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from egov.core.acting import Acting
from egov.core.audit import auditable_events, is_auditor, record_audit, row_hashes_match
from egov.core.choices import AuditOutcome
from egov.core.models import AuditEvent

PAGE_SIZE = 50
MAX_SEQ = 2**63 - 1
ACTION_FILTER = re.compile(r"^[a-z0-9_.]*\*?$")
OBJECT_KEY = re.compile(r"^(?P<type>[a-z0-9_]+\.[a-z0-9_]+):(?P<id>[^\s]{1,64})$")
OUTCOME_BADGES: dict[str, str] = {
    AuditOutcome.SUCCESS.value: "state-done",
    AuditOutcome.FAILURE.value: "state-behind",
    AuditOutcome.DENIED.value: "state-behind",
}


def auditor_only(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Log in first; then the audit administrator only, 404 for everyone else."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_auditor(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return login_required(never_cache(require_GET(wrapped)))


class DateInput(forms.DateInput):
    input_type = "date"


class AuditFilterForm(forms.Form):
    """The viewer's filters; every field optional, each checked and named when wrong."""

    since = forms.DateField(label=_("From"), required=False, widget=DateInput)
    until = forms.DateField(label=_("To"), required=False, widget=DateInput)
    user = forms.CharField(label=_("User name"), required=False, max_length=150)
    organisation = forms.CharField(
        label=_("Organisation"),
        required=False,
        max_length=200,
        help_text=_("Its name or part of it, or its number."),
    )
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=100,
        help_text=_("Like auth.login; auth.* for every auth action."),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Any")), *AuditOutcome.choices],
    )
    object = forms.CharField(
        label=_("Object"),
        required=False,
        max_length=300,
        help_text=_("Part of its name, or type:id like orgs.organisation:12."),
    )
    before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_SEQ, widget=forms.HiddenInput
    )
    after = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_SEQ, widget=forms.HiddenInput
    )

    def clean_action(self) -> str:
        action: str = self.cleaned_data["action"].strip()
        if not ACTION_FILTER.match(action):
            raise forms.ValidationError(
                _("Use lower-case letters, digits, dots and underscores, optionally ending in *.")
            )
        return action

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        if data.get("before") is not None and data.get("after") is not None:
            self.add_error("after", _("Page either forwards or backwards, not both."))
        return data

    def filters(self) -> dict[str, Any]:
        """The cleaned filters worth recording (no paging cursor, no empty values)."""
        return {
            name: (value.isoformat() if hasattr(value, "isoformat") else value)
            for name, value in self.cleaned_data.items()
            if name not in {"before", "after"} and value not in (None, "")
        }

    def filter(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        data = self.cleaned_data
        if data.get("since"):
            start = timezone.make_aware(datetime.combine(data["since"], time.min))
            events = events.filter(occurred_at__gte=start)
        if data.get("until"):
            end = timezone.make_aware(datetime.combine(data["until"] + timedelta(days=1), time.min))
            events = events.filter(occurred_at__lt=end)
        if data.get("user"):
            events = events.filter(actor_username=data["user"].strip())
        organisation = (data.get("organisation") or "").strip()
        if organisation.isdigit() and int(organisation) <= MAX_SEQ:
            events = events.filter(organisation_id_snapshot=int(organisation))
        elif organisation:
            events = events.filter(organisation_name__icontains=organisation)
        action = data.get("action") or ""
        if action.endswith("*"):
            events = events.filter(action__startswith=action[:-1])
        elif action:
            events = events.filter(action=action)
        if data.get("outcome"):
            events = events.filter(outcome=data["outcome"])
        obj = (data.get("object") or "").strip()
        key = OBJECT_KEY.match(obj)
        if key:
            events = events.filter(object_type=key["type"], object_id=key["id"])
        elif obj:
            events = events.filter(Q(object_repr__icontains=obj) | Q(object_id=obj[:64]))
        return events


def _page(
    form: AuditFilterForm, events: QuerySet[AuditEvent]
) -> tuple[list[AuditEvent], int | None, int | None]:
    """Keyset paging by seq, newest first: (rows, seq for the older link, seq for the newer one).

    Two queries whatever the size of the trail: no COUNT over millions of rows.
    """
    before, after = form.cleaned_data.get("before"), form.cleaned_data.get("after")
    if after is not None:
        rows = list(events.filter(seq__gt=after).order_by("seq")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        has_older = bool(rows) and events.filter(seq__lt=rows[-1].seq).exists()
    else:
        events_page = events.filter(seq__lt=before) if before is not None else events
        rows = list(events_page.order_by("-seq")[: PAGE_SIZE + 1])
        has_older = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_newer = (
            before is not None and bool(rows) and events.filter(seq__gt=rows[0].seq).exists()
        )
    older = rows[-1].seq if rows and has_older else None
    newer = rows[0].seq if rows and has_newer else None
    return rows, older, newer


@auditor_only
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "core/audit/list.html",
            {"form": form, "events": [], "invalid": True},
            status=400,
        )
    rows, older, newer = _page(form, form.filter(auditable_events(request.user)))
    record_audit(
        "audit.viewed",
        acting=Acting.from_request(request),
        details={"filters": form.filters(), "rows": len(rows), "page_start": older or newer},
    )
    return render(
        request,
        "core/audit/list.html",
        {
            "form": form,
            "events": [(event, OUTCOME_BADGES.get(event.outcome, "")) for event in rows],
            "older": older,
            "newer": newer,
        },
    )


@auditor_only
def audit_detail(request: HttpRequest, seq: int) -> HttpResponse:
    event = auditable_events(request.user).filter(seq=seq).first()
    if event is None:
        raise Http404
    record_audit(
        "audit.viewed", acting=Acting.from_request(request), obj=event, details={"seq": seq}
    )
    return render(
        request,
        "core/audit/detail.html",
        {
            "event": event,
            "badge": OUTCOME_BADGES.get(event.outcome, ""),
            "intact": row_hashes_match(event),
            "details_json": json.dumps(event.details, ensure_ascii=False, indent=2, sort_keys=True),
        },
    )


# --- CSV export -------------------------------------------------------------------------------

UTF8_BOM = "\ufeff"
# A cell starting with one of these is a formula to Excel (CSV injection): prefix a quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_header() -> list[str]:
    return [
        gettext("Sequence"),
        gettext("Time"),
        gettext("User name"),
        gettext("Position"),
        gettext("Organisation"),
        gettext("Action"),
        gettext("Object type"),
        gettext("Object id"),
        gettext("Object"),
        gettext("Source IP"),
        gettext("Outcome"),
        gettext("Details"),
        gettext("Hash (SHA-256)"),
    ]


def _csv_rows(events: Iterable[AuditEvent]) -> Iterator[list[Any]]:
    for event in events:
        yield [
            event.seq,
            timezone.localtime(event.occurred_at).isoformat(timespec="seconds"),
            _cell(event.actor_username),
            _cell(event.position_title),
            _cell(event.organisation_name),
            _cell(event.action),
            _cell(event.object_type),
            _cell(event.object_id),
            _cell(event.object_repr),
            event.source_ip or "",
            event.outcome,
            _cell(json.dumps(event.details, ensure_ascii=False, sort_keys=True)),
            event.hash,
        ]


def _stream_csv(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield UTF8_BOM + writer.writerow(_csv_header())
    for row in _csv_rows(events.order_by("seq").iterator(chunk_size=2000)):
        yield writer.writerow(row)


@auditor_only
def audit_export(request: HttpRequest) -> HttpResponseBase:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        details = [
            {"field": field, "message": str(message)}
            for field, messages in form.errors.items()
            for message in messages
        ]
        return JsonResponse(
            {"code": "invalid", "message": gettext("Check the filters."), "details": details},
            status=400,
        )
    record_audit(
        "audit.exported", acting=Acting.from_request(request), details={"filters": form.filters()}
    )
    response = StreamingHttpResponse(
        _stream_csv(form.filter(auditable_events(request.user))),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


urlpatterns = [
    path("audit/", audit_list, name="audit_list"),
    path("audit/export.csv", audit_export, name="audit_export"),
    path("audit/<int:seq>/", audit_detail, name="audit_detail"),
]
