"""Duty pages: the console, reports, calls, handover, zero-reports, the roster. Thin views."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.duty import reporting, selectors, services
from egov.duty.choices import DutyRole, ReportState, SubmissionKind
from egov.duty.forms import (
    AssignForm,
    CallForm,
    DayForm,
    GenerateForm,
    HandoverForm,
    MonthForm,
    PatternForm,
    ReportForm,
    RuleForm,
    SubmissionForm,
    SwapForm,
    TeamEditForm,
    TeamForm,
    ZeroReportForm,
)
from egov.duty.models import ReportSubmission, ShiftAssignment
from egov.orgs.models import User

CONSOLE_ROWS = 50


def _fail(form: Any, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


@login_required
def console(request: HttpRequest) -> HttpResponse:
    """值班台: who is on duty, reports in scope (red when overdue), what waits for me."""
    user = request.user
    now = timezone.now()
    scope = selectors.duty_organisations(user)  # type: ignore[arg-type]
    reports = list(
        selectors.list_reports_for(user).exclude(  # type: ignore[arg-type]
            state=ReportState.CLOSED, closed_at__lt=now - timedelta(days=7)
        )[:CONSOLE_ROWS]
    )
    for report in reports:
        report.is_overdue = reporting.overdue_state(report, now)  # type: ignore[attr-defined]
    on_duty = selectors.shifts_with_staff(
        selectors.visible_shifts(user).filter(starts_at__lte=now, ends_at__gt=now)  # type: ignore[arg-type]
    )[:20]
    empty_qs = selectors.empty_shifts(
        selectors.visible_shifts(user).filter(  # type: ignore[arg-type]
            ends_at__gt=now, starts_at__lt=now + timedelta(days=7)
        )
    )
    empty = list(empty_qs[:20])
    empty_count = len(empty) if len(empty) < 20 else empty_qs.count()
    waiting = list(
        selectors.receipts_waiting_for(user, now).values_list("report_id", flat=True)[:200]  # type: ignore[arg-type]
    )
    owed = selectors.owed_zero_reports(timezone.localdate(), scope)[:50]
    handovers = selectors.pending_handovers_for(user).select_related("outgoing")[:10]  # type: ignore[arg-type]
    return render(
        request,
        "duty/console.html",
        {
            "reports": reports,
            "overdue_count": len([r for r in reports if getattr(r, "is_overdue", False)]),
            "on_duty": on_duty,
            "empty_shifts": empty,
            "empty_count": empty_count,
            "waiting_ids": set(waiting),
            "owed": owed,
            "handovers": handovers,
            "now": now,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                report = reporting.do_file_report(
                    data=reporting.FirstReport(**form.cleaned_data),
                    acting=Acting.from_request(request),
                )
            except DomainError as exc:
                _fail(form, exc)
            else:
                return redirect(report.get_absolute_url())
        status = 400
    return render(request, "duty/report_form.html", {"form": form}, status=status)


def _report_context(request: HttpRequest, report: Any) -> dict[str, Any]:
    now = timezone.now()
    submissions = list(
        ReportSubmission.objects.filter(report=report)
        .select_related("submitted_by")
        .prefetch_related("receipts__organisation", "receipts__acknowledged_by")
    )
    waiting = selectors.receipts_waiting_for(request.user, now).filter(report=report).exists()  # type: ignore[arg-type]
    may_submit = (
        selectors.own_duty_organisations(request.user)  # type: ignore[arg-type]
        .filter(pk=report.organisation_id)
        .exists()
    )
    return {
        "report": report,
        "submissions": submissions,
        "may_acknowledge": waiting,
        "may_submit": may_submit and report.state != ReportState.CLOSED,
        "is_overdue": reporting.overdue_state(report, now),
        "form": SubmissionForm(),
        "now": now,
    }


@login_required
def report_detail(request: HttpRequest, report_id: Any) -> HttpResponse:
    report = selectors.access_report_by_id(request.user, report_id)  # type: ignore[arg-type]
    return render(request, "duty/report_detail.html", _report_context(request, report))


@login_required
@require_POST
def report_submit(request: HttpRequest, report_id: Any, kind: str) -> HttpResponse:
    report = selectors.access_report_by_id(request.user, report_id)  # type: ignore[arg-type]
    if kind not in (SubmissionKind.FIRST, SubmissionKind.FOLLOW_UP, SubmissionKind.FINAL):
        raise Http404
    form = SubmissionForm(request.POST)
    if form.is_valid():
        try:
            reporting.do_submit(
                report=report, kind=kind, acting=Acting.from_request(request), **form.cleaned_data
            )
        except DomainError as exc:
            _fail(form, exc)
        else:
            return redirect(report.get_absolute_url())
    context = _report_context(request, report)
    context["form"] = form
    context["form_kind"] = kind
    return render(request, "duty/report_detail.html", context, status=400)


@login_required
@require_POST
def report_acknowledge(request: HttpRequest, report_id: Any) -> HttpResponse:
    report = selectors.access_report_by_id(request.user, report_id)  # type: ignore[arg-type]
    try:
        reporting.do_acknowledge_report(report=report, acting=Acting.from_request(request))
    except DomainError as exc:
        context = _report_context(request, report)
        context["ack_error"] = str(exc.message)
        return render(request, "duty/report_detail.html", context, status=exc.status)
    return redirect(report.get_absolute_url())


@login_required
def call_list(request: HttpRequest) -> HttpResponse:
    qs = selectors.visible_calls(request.user).select_related("organisation", "recorded_by")  # type: ignore[arg-type]
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "duty/call_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def call_new(request: HttpRequest) -> HttpResponse:
    form = CallForm(request.POST or None, initial={"received_at": timezone.localtime()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                call = services.do_record_call(
                    acting=Acting.from_request(request), **form.cleaned_data
                )
            except DomainError as exc:
                _fail(form, exc)
            else:
                return redirect(call.get_absolute_url())
        status = 400
    return render(request, "duty/call_form.html", {"form": form}, status=status)


@login_required
def call_detail(request: HttpRequest, call_id: Any) -> HttpResponse:
    call = selectors.access_call_by_id(request.user, call_id)  # type: ignore[arg-type]
    return render(request, "duty/call_detail.html", {"call": call})


@login_required
@require_http_methods(["GET", "POST"])
def handover_new(request: HttpRequest) -> HttpResponse:
    acting = Acting.from_request(request)
    form = HandoverForm(request.POST or None, organisation=acting.organisation, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                handover = services.do_create_handover(acting=acting, **form.cleaned_data)
            except DomainError as exc:
                _fail(form, exc)
            else:
                return redirect(handover.get_absolute_url())
        status = 400
    return render(request, "duty/handover_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def handover_detail(request: HttpRequest, handover_id: Any) -> HttpResponse:
    handover = selectors.access_handover_by_id(request.user, handover_id)  # type: ignore[arg-type]
    error = None
    if request.method == "POST":
        try:
            services.do_acknowledge_handover(handover=handover, acting=Acting.from_request(request))
        except DomainError as exc:
            error = exc
        else:
            return redirect(handover.get_absolute_url())
    return render(
        request,
        "duty/handover_detail.html",
        {"handover": handover, "error": error},
        status=error.status if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def zero_report(request: HttpRequest) -> HttpResponse:
    form = ZeroReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.do_file_zero_report(
                    acting=Acting.from_request(request), **form.cleaned_data
                )
            except DomainError as exc:
                _fail(form, exc)
            else:
                return redirect("duty:zero_report")
        status = 400
    today = timezone.localdate()
    owed = selectors.owed_zero_reports(
        today,
        selectors.duty_organisations(request.user),  # type: ignore[arg-type]
    )[:200]
    mine = selectors.owed_zero_reports(
        today,
        selectors.own_duty_organisations(request.user),  # type: ignore[arg-type]
    ).exists()
    return render(
        request,
        "duty/zero_report.html",
        {"form": form, "owed": owed, "mine_owed": mine, "today": today},
        status=status,
    )


def _month(request: HttpRequest) -> date:
    form = MonthForm(request.GET)
    value = form.cleaned_data.get("month") if form.is_valid() else None
    if value:
        year, month = (int(x) for x in value.split("-"))
        return date(year, month, 1)
    return timezone.localdate().replace(day=1)


ROSTER_ROWS = 1000


@login_required
def roster(request: HttpRequest) -> HttpResponse:
    """The printable monthly roster of the units in scope (or of one team), empty shifts in yellow.

    A roster manager of a shift's unit assigns and removes its people from here; the choice of
    person is limited to those holding the right role in the unit. Constant queries.
    """
    user = request.user
    first = _month(request)
    nxt = (first + timedelta(days=32)).replace(day=1)
    zone = timezone.get_current_timezone()
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(nxt, datetime.min.time(), tzinfo=zone)
    team = None
    team_id = request.GET.get("team")
    qs = selectors.visible_shifts(user).filter(starts_at__gte=start, starts_at__lt=end)  # type: ignore[arg-type]
    if team_id:
        team = selectors.access_team_by_id(user, team_id)  # type: ignore[arg-type]
        qs = qs.filter(team=team)
    shifts = list(
        selectors.shifts_with_staff(qs).select_related("team__organisation")[:ROSTER_ROWS]
    )
    org_ids = {s.team.organisation_id for s in shifts}
    managed = (
        set(
            selectors.roster_organisations(user)  # type: ignore[arg-type]
            .filter(pk__in=org_ids)
            .values_list("pk", flat=True)
        )
        if org_ids
        else set()
    )
    eligible = selectors.eligible_people_by_org(managed) if managed else {}
    for s in shifts:
        s.may_manage = s.team.organisation_id in managed  # type: ignore[attr-defined]
        s.officer_choices = eligible.get((s.team.organisation_id, DutyRole.OFFICER), [])  # type: ignore[attr-defined]
        s.leader_choices = eligible.get((s.team.organisation_id, DutyRole.LEADER), [])  # type: ignore[attr-defined]
        s.is_empty = not s.officer_count or not s.leader_count  # type: ignore[attr-defined]
    prev = (first - timedelta(days=1)).replace(day=1)
    mine = (
        ShiftAssignment.objects.filter(user=user, ends_at__gt=timezone.now())  # type: ignore[misc]
        .select_related("shift__team")
        .order_by("starts_at")[:20]
    )
    return render(
        request,
        "duty/roster.html",
        {
            "shifts": shifts,
            "empty_count": len([s for s in shifts if s.is_empty]),  # type: ignore[attr-defined]
            "truncated": len(shifts) >= ROSTER_ROWS,
            "month": first,
            "prev": prev,
            "next": nxt,
            "mine": mine,
            "team": team,
            "here": request.get_full_path(),
            "team_param": str(team.uuid) if team else "",
        },
    )


def _ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


@login_required
def my_shifts_ics(request: HttpRequest) -> HttpResponse:
    """An iCalendar feed of one's own shifts (from 30 days ago on)."""
    since = timezone.now() - timedelta(days=30)
    rows = (
        ShiftAssignment.objects.filter(user=request.user, ends_at__gt=since)  # type: ignore[misc]
        .select_related("shift__team__organisation")
        .order_by("starts_at")[:500]
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//egov//duty//EN", "CALSCALE:GREGORIAN"]
    for a in rows:
        summary = f"{a.get_role_display()} · {a.shift.team.name}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{a.uuid}@egov",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{a.starts_at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}",
            f"DTEND:{a.ends_at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}",
            f"SUMMARY:{_ics_escape(summary)}",
            f"LOCATION:{_ics_escape(a.shift.team.organisation.name)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    response = HttpResponse(
        "\r\n".join(lines) + "\r\n", content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="duty.ics"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def swap_new(request: HttpRequest, assignment_id: Any) -> HttpResponse:
    assignment = selectors.access_assignment_by_id(request.user, assignment_id)  # type: ignore[arg-type]
    form = SwapForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                counterpart = (
                    selectors.access_assignment_by_id(request.user, data["counterpart"])  # type: ignore[arg-type]
                    if data.get("counterpart")
                    else None
                )
            except Http404:
                form.add_error("counterpart", _("No such shift."))
                counterpart = None
            taker = (
                User.objects.filter(username=data["taker"], is_active=True).first()
                if data.get("taker")
                else None
            )
            if data.get("taker") and taker is None:
                form.add_error("taker", _("No such user."))
            if not form.errors:
                try:
                    swap = services.do_request_swap(
                        assignment=assignment,
                        kind=data["kind"],
                        counterpart=counterpart,
                        taker=taker,
                        reason=data.get("reason", ""),
                        acting=Acting.from_request(request),
                    )
                except DomainError as exc:
                    _fail(form, exc)
                else:
                    return redirect("duty:swap_detail", swap_id=swap.uuid)
        status = 400
    return render(
        request, "duty/swap_form.html", {"form": form, "assignment": assignment}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def swap_detail(request: HttpRequest, swap_id: Any) -> HttpResponse:
    swap = selectors.access_swap_by_id(request.user, swap_id)  # type: ignore[arg-type]
    error = None
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in ("approve", "reject"):
            error = DomainError(_("Choose approve or reject."), field="decision")
        else:
            try:
                services.do_decide_swap(
                    swap=swap, approve=decision == "approve", acting=Acting.from_request(request)
                )
            except DomainError as exc:
                error = exc
            else:
                return redirect("duty:swap_detail", swap_id=swap.uuid)
    may_decide = selectors.swaps_to_approve(request.user).filter(pk=swap.pk).exists()  # type: ignore[arg-type]
    return render(
        request,
        "duty/swap_detail.html",
        {"swap": swap, "error": error, "may_decide": may_decide},
        status=error.status if error else 200,
    )


@login_required
def duty_log(request: HttpRequest) -> HttpResponse:
    """The daily duty log (值班日志): calls, reports and handovers of one day, printable."""
    form = DayForm(request.GET)
    day = (form.cleaned_data.get("day") if form.is_valid() else None) or timezone.localdate()
    start, end = selectors.local_day_bounds(day)
    user = request.user
    calls = selectors.visible_calls(user).filter(received_at__gte=start, received_at__lt=end)  # type: ignore[arg-type]
    submissions = (
        ReportSubmission.objects.filter(
            report__in=selectors.visible_reports(user),  # type: ignore[arg-type]
            submitted_at__gte=start,
            submitted_at__lt=end,
        )
        .select_related("report", "report__organisation", "submitted_by")
        .order_by("submitted_at")
    )
    handovers = (
        selectors.visible_handovers(user)  # type: ignore[arg-type]
        .filter(Q(created_at__gte=start, created_at__lt=end))
        .select_related("outgoing", "incoming")
    )
    return render(
        request,
        "duty/duty_log.html",
        {
            "day": day,
            "prev": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "calls": calls.select_related("recorded_by")[:500],
            "submissions": submissions[:500],
            "handovers": handovers[:100],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    """The reporting time limits in force for one's province; its leader on duty edits them."""
    acting = Acting.from_request(request)
    org = acting.organisation
    province = selectors.province_of(org) if org is not None else None
    form = RuleForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and province is not None:
            try:
                reporting.do_save_rule(province=province, acting=acting, **form.cleaned_data)
            except DomainError as exc:
                _fail(form, exc)
            else:
                return redirect("duty:rules")
        elif province is None:
            form.add_error(None, _("You act for no unit."))
        status = 400
    rows = selectors.effective_rules(province)
    may_edit = province is not None and (
        selectors.managed_organisations(request.user, roles=selectors.ROSTER_ROLES)  # type: ignore[arg-type]
        .filter(pk=province.pk)
        .exists()
    )
    return render(
        request,
        "duty/rules.html",
        {"rules": rows, "province": province, "form": form, "may_edit": may_edit},
        status=status,
    )


# ---------------------------------------------------------------- roster management


def _roster_url(month: date | None = None, team: Any = None) -> str:
    url = reverse("duty:roster")
    params = {}
    if month is not None:
        params["month"] = month.strftime("%Y-%m")
    if team is not None:
        params["team"] = str(team.uuid)
    return f"{url}?{urlencode(params)}" if params else url


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    """The duty teams in scope; a roster manager creates one for a unit they manage."""
    user = request.user
    managed = selectors.roster_organisations(user).order_by("path")  # type: ignore[arg-type]
    form = TeamForm(request.POST or None, organisations=managed)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                team = services.do_create_team(
                    organisation=form.cleaned_data["organisation"],
                    name=form.cleaned_data["name"],
                    acting=Acting.from_request(request),
                )
            except DomainError as exc:
                _fail(form, exc)
                status = exc.status
            else:
                return redirect("duty:team_detail", team_id=team.uuid)
        else:
            status = 400
    q = (request.GET.get("q") or "")[:100]
    teams = selectors.list_teams_for(user, q=q).annotate(pattern_count=Count("patterns"))  # type: ignore[arg-type]
    page = Paginator(teams, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "duty/team_list.html",
        {"page": page, "form": form, "may_create": managed.exists(), "q": q},
        status=status,
    )


def _team_context(request: HttpRequest, team: Any, **forms_: Any) -> dict[str, Any]:
    today = timezone.localdate()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    context = {
        "team": team,
        "patterns": list(team.patterns.all()),
        "may_manage": selectors.may_manage_team(request.user, team),  # type: ignore[arg-type]
        "edit_form": TeamEditForm(initial={"name": team.name, "is_active": team.is_active}),
        "pattern_form": PatternForm(initial={"valid_from": first}),
        "generate_form": GenerateForm(initial={"start": first, "end": last}),
        "roster_url": _roster_url(first, team),
    }
    context.update(forms_)
    return context


@login_required
def team_detail(request: HttpRequest, team_id: Any) -> HttpResponse:
    team = selectors.access_team_by_id(request.user, team_id)  # type: ignore[arg-type]
    return render(request, "duty/team_detail.html", _team_context(request, team))


@login_required
@require_POST
def team_edit(request: HttpRequest, team_id: Any) -> HttpResponse:
    team = selectors.access_team_by_id(request.user, team_id)  # type: ignore[arg-type]
    form = TeamEditForm(request.POST)
    if form.is_valid():
        try:
            services.do_update_team(
                team=team, acting=Acting.from_request(request), **form.cleaned_data
            )
        except DomainError as exc:
            _fail(form, exc)
            status = exc.status
        else:
            return redirect("duty:team_detail", team_id=team.uuid)
    else:
        status = 400
    return render(
        request,
        "duty/team_detail.html",
        _team_context(request, team, edit_form=form),
        status=status,
    )


@login_required
@require_POST
def pattern_new(request: HttpRequest, team_id: Any) -> HttpResponse:
    team = selectors.access_team_by_id(request.user, team_id)  # type: ignore[arg-type]
    form = PatternForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.do_create_pattern(
                team=team, acting=Acting.from_request(request), **form.cleaned_data
            )
        except DomainError as exc:
            _fail(form, exc)
            status = exc.status
        else:
            return redirect("duty:team_detail", team_id=team.uuid)
    return render(
        request,
        "duty/team_detail.html",
        _team_context(request, team, pattern_form=form),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def pattern_edit(request: HttpRequest, team_id: Any, pattern_id: Any) -> HttpResponse:
    team = selectors.access_team_by_id(request.user, team_id)  # type: ignore[arg-type]
    pattern = selectors.access_pattern(team, pattern_id)
    form = PatternForm(request.POST or None, initial=PatternForm.initial_for(pattern))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.do_update_pattern(
                    pattern=pattern, acting=Acting.from_request(request), **form.cleaned_data
                )
            except DomainError as exc:
                _fail(form, exc)
                status = exc.status
            else:
                return redirect("duty:team_detail", team_id=team.uuid)
    return render(
        request,
        "duty/pattern_form.html",
        {
            "team": team,
            "pattern": pattern,
            "form": form,
            "may_manage": selectors.may_manage_team(request.user, team),  # type: ignore[arg-type]
        },
        status=status,
    )


@login_required
@require_POST
def team_generate(request: HttpRequest, team_id: Any) -> HttpResponse:
    team = selectors.access_team_by_id(request.user, team_id)  # type: ignore[arg-type]
    form = GenerateForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            created = services.do_generate_team_shifts(
                team=team,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                acting=Acting.from_request(request),
            )
        except DomainError as exc:
            _fail(form, exc)
            status = exc.status
        else:
            messages.success(
                request,
                ngettext("%(n)d shift created.", "%(n)d shifts created.", len(created))
                % {"n": len(created)},
            )
            return redirect(_roster_url(form.cleaned_data["start"].replace(day=1), team))
    return render(
        request,
        "duty/team_detail.html",
        _team_context(request, team, generate_form=form),
        status=status,
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _shift_context(request: HttpRequest, shift: Any, **extra: Any) -> dict[str, Any]:
    shift = selectors.shifts_with_staff(type(shift).objects.filter(pk=shift.pk)).get()
    may_manage = selectors.may_manage_team(request.user, shift.team)  # type: ignore[arg-type]
    org_id = shift.team.organisation_id
    context = {
        "shift": shift,
        "may_manage": may_manage,
        "officer_form": AssignForm(initial={"role": DutyRole.OFFICER}, organisation_id=org_id),
        "leader_form": AssignForm(initial={"role": DutyRole.LEADER}, organisation_id=org_id),
        "roster_url": _roster_url(
            timezone.localtime(shift.starts_at).date().replace(day=1), shift.team
        ),
    }
    context.update(extra)
    return context


@login_required
def shift_detail(request: HttpRequest, shift_id: Any) -> HttpResponse:
    shift = selectors.access_shift_by_id(request.user, shift_id)  # type: ignore[arg-type]
    return render(request, "duty/shift_detail.html", _shift_context(request, shift))


@login_required
@require_POST
def shift_assign(request: HttpRequest, shift_id: Any) -> HttpResponse:
    shift = selectors.access_shift_by_id(request.user, shift_id)  # type: ignore[arg-type]
    form = AssignForm(request.POST, organisation_id=shift.team.organisation_id)
    status = 400
    if form.is_valid():
        try:
            services.do_assign(
                shift=shift,
                user=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
                acting=Acting.from_request(request),
            )
        except DomainError as exc:
            _fail(form, exc)
            status = exc.status
        else:
            return redirect(_safe_next(request, shift.get_absolute_url()))
    key = "leader_form" if form.data.get("role") == DutyRole.LEADER else "officer_form"
    return render(
        request,
        "duty/shift_detail.html",
        _shift_context(request, shift, **{key: form}),
        status=status,
    )


@login_required
@require_POST
def assignment_remove(request: HttpRequest, assignment_id: Any) -> HttpResponse:
    assignment = selectors.access_assignment_by_id(request.user, assignment_id)  # type: ignore[arg-type]
    shift = assignment.shift
    try:
        services.do_unassign(assignment=assignment, acting=Acting.from_request(request))
    except DomainError as exc:
        return render(
            request,
            "duty/shift_detail.html",
            _shift_context(request, shift, error=exc),
            status=exc.status,
        )
    return redirect(_safe_next(request, shift.get_absolute_url()))
