"""Thin views of the supervision app: dashboard, task list, register, the task page and its acts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.core.forms import add_domain_error
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User
from egov.supervision import reports, selectors, services
from egov.supervision.forms import (
    ApplyCloseForm,
    AssignForm,
    ExtensionDecisionForm,
    ExtensionForm,
    PeriodForm,
    ReasonForm,
    ReportForm,
    ReviewForm,
    TaskFilterForm,
    TaskRegisterForm,
    UrgeForm,
)
from egov.supervision.models import ExtensionRequest, SupervisionTask
from egov.supervision.scoring import month_period

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _offices(user: User) -> Any:
    return Organisation.objects.filter(
        selectors.supervised_offices_q(user, roles=frozenset({str(Role.SUPERVISOR)})),
        is_active=True,
    ).order_by("path")


def _period(request: HttpRequest, today: date) -> tuple[PeriodForm, tuple[date, date], int, int]:
    form = PeriodForm(request.GET or None)
    year, month = today.year, today.month
    if form.is_valid() and form.cleaned_data.get("month"):
        year, month = (int(p) for p in form.cleaned_data["month"].split("-"))
    return form, month_period(year, month), year, month


@login_required
@require_http_methods(["GET", "HEAD"])
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form, period, year, month = _period(request, today)
    data = reports.dashboard_for(_user(request), today, period)
    return render(
        request,
        "supervision/dashboard.html",
        {
            "data": data,
            "period_form": form,
            "month": f"{year}-{month:02d}",
            "rankings": data.rankings[:10],
            "can_register": _offices(_user(request)).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def rankings(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form, period, year, month = _period(request, today)
    from egov.supervision.scoring import unit_scores

    scores = unit_scores(selectors.visible_tasks(_user(request)), period[0], period[1], today)
    page = Paginator(scores, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "supervision/rankings.html",
        {
            "page": page,
            "period_form": form,
            "month": f"{year}-{month:02d}",
            "query": f"month={year}-{month:02d}",
        },
    )


def _monthly_report(
    request: HttpRequest, overdue_limit: int | None = None
) -> reports.MonthlyReport | HttpResponse:
    """The report both exports render; a 400 for a bad month, a 404 for an office out of scope."""
    today = timezone.localdate()
    form, _period_dates, year, month = _period(request, today)
    if request.GET.get("month") and not form.is_valid():
        return HttpResponse(_("Give the month as YYYY-MM."), status=400, content_type="text/plain")
    return reports.monthly_report(
        _user(request),
        year,
        month,
        today,
        office_id=request.GET.get("office") or None,
        overdue_limit=overdue_limit,
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def export_monthly(request: HttpRequest) -> HttpResponse:
    report = _monthly_report(request)
    if isinstance(report, HttpResponse):
        return report
    response = HttpResponse(
        reports.monthly_report_workbook(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"supervision-{report.year}-{report.month:02d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def export_monthly_pdf(request: HttpRequest) -> HttpResponse:
    report = _monthly_report(request, overdue_limit=reports.PDF_OVERDUE_ROWS)
    if isinstance(report, HttpResponse):
        return report
    response = HttpResponse(reports.monthly_report_pdf(report), content_type="application/pdf")
    name = f"supervision-{report.year}-{report.month:02d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def task_list(request: HttpRequest) -> HttpResponse:
    form = TaskFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    qs = reports.with_last_reminder(selectors.list_tasks_for(_user(request), **filters))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    reports.attach_colours(rows, timezone.localdate())
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "supervision/task_list.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    offices = _offices(user)
    if not offices.exists():
        raise Http404("Not a supervisor.")
    parent_id = request.POST.get("parent") or request.GET.get("parent")
    parent = selectors.access_task_by_id(user, parent_id) if parent_id else None
    form = TaskRegisterForm(
        request.POST or None,
        offices=offices,
        initial={"parent": parent.uuid if parent else ""},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = services.do_register_task(
                parent=parent,
                office=data["office"],
                title=data["title"],
                source=data["source"],
                source_reference=data["source_reference"],
                requirement=data["requirement"],
                quality_standard=data["quality_standard"],
                responsible_leader=data["responsible_leader"],
                responsible_person=data["responsible_person"],
                deadline=data["deadline"],
                sign_in_days=data["sign_in_days"],
                report_cycle=data["report_cycle"],
                report_day=data["report_day"],
                acting=Acting.from_request(request),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Task registered."))
            return redirect(task.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(
        request, "supervision/task_form.html", {"form": form, "parent": parent}, status=status
    )


def _detail_context(request: HttpRequest, task: SupervisionTask, **forms_: Any) -> dict[str, Any]:
    user = _user(request)
    today = timezone.localdate()
    reports.attach_colours([task], today)
    data = selectors.task_page_data(task)
    member_units = set(selectors.member_unit_ids(user))
    unit_roles = set(selectors.member_unit_ids(user, selectors.UNIT_ROLES))
    handler_units = set(selectors.member_unit_ids(user, frozenset({str(Role.HANDLER)})))
    my_units = [u for u in data["units"] if u.organisation_id in member_units]
    supervisor = selectors.supervises(user, task, frozenset({str(Role.SUPERVISOR)}))
    approver = selectors.supervises(user, task)
    allowed = services.allowed_actions(task)
    lead_handler = any(
        u.role == "lead" and u.organisation_id in handler_units and u.state == "acknowledged"
        for u in data["units"]
    )
    can = {
        "approve": "approve" in allowed and approver,
        "assign": "assign" in allowed and supervisor,
        "acknowledge": "acknowledge" in allowed
        and any(u.state == "assigned" and u.organisation_id in unit_roles for u in my_units),
        "return": "return" in allowed
        and any(u.state == "assigned" and u.organisation_id in unit_roles for u in my_units),
        "report": "report" in allowed
        and any(u.state == "acknowledged" and u.organisation_id in handler_units for u in my_units),
        "apply_close": "apply_close" in allowed and lead_handler,
        "review": task.state == "closing" and supervisor,
        "archive": "archive" in allowed and supervisor,
        "urge": "urge" in allowed and supervisor,
        "extension": "request_extension" in allowed
        and any(u.role == "lead" and u.organisation_id in handler_units for u in my_units),
        "decide_extension": approver,
        "split": supervisor and task.state not in ("done", "archived"),
    }
    units_qs = selectors.assignable_units(task.office).order_by("path") if can["assign"] else None
    ctx: dict[str, Any] = {
        "task": task,
        "can": can,
        **data,
        "pending_extension": next((e for e in data["extensions"] if e.state == "pending"), None),
        "assign_form": AssignForm(units=units_qs) if units_qs is not None else None,
        "return_form": ReasonForm(),
        "report_form": ReportForm(),
        "close_form": ApplyCloseForm(),
        "review_form": ReviewForm(),
        "urge_form": UrgeForm(),
        "extension_form": ExtensionForm(),
        "decision_form": ExtensionDecisionForm(),
    }
    ctx.update(forms_)
    return ctx


@login_required
@require_http_methods(["GET", "HEAD"])
def task_detail(request: HttpRequest, task_id: str) -> HttpResponse:
    task = selectors.access_task_by_id(_user(request), task_id)
    return render(request, "supervision/task_detail.html", _detail_context(request, task))


def _act(
    request: HttpRequest,
    task_id: str,
    form_name: str,
    form: forms.Form | None,
    action: Callable[[SupervisionTask, dict[str, Any], Acting], Any],
    done: str,
) -> HttpResponse:
    task = selectors.access_task_by_id(_user(request), task_id)
    if form is None or form.is_valid():
        data = form.cleaned_data if form is not None else {}
        try:
            action(task, data, Acting.from_request(request))
        except DomainError as exc:
            if form is None:
                messages.error(request, str(exc.message))
                return redirect(task.get_absolute_url())
            add_domain_error(form, exc)
        else:
            messages.success(request, done)
            return redirect(task.get_absolute_url())
    task.refresh_from_db()
    ctx = _detail_context(request, task, **{form_name: form})
    ctx["open_form"] = form_name
    ctx["action_form"] = form
    return render(request, "supervision/task_detail.html", ctx, status=400)


@login_required
@require_POST
def task_approve(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "",
        None,
        lambda t, d, a: services.do_approve_task(t, acting=a),
        _("Task approved."),
    )


@login_required
@require_POST
def task_assign(request: HttpRequest, task_id: str) -> HttpResponse:
    task = selectors.access_task_by_id(_user(request), task_id)
    form = AssignForm(request.POST, units=selectors.assignable_units(task.office))
    return _act(
        request,
        task_id,
        "assign_form",
        form,
        lambda t, d, a: services.do_assign_task(
            t, lead_unit=d["lead_unit"], co_units=list(d["co_units"]), acting=a
        ),
        _("Task assigned."),
    )


@login_required
@require_POST
def task_acknowledge(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "",
        None,
        lambda t, d, a: services.do_acknowledge_task(t, acting=a),
        _("Signed for."),
    )


@login_required
@require_POST
def task_return(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "return_form",
        ReasonForm(request.POST),
        lambda t, d, a: services.do_return_task(t, reason=d["reason"], acting=a),
        _("Task returned."),
    )


@login_required
@require_POST
def task_report(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "report_form",
        ReportForm(request.POST, request.FILES),
        lambda t, d, a: services.do_report_progress(
            t, text=d["text"], percent=d["percent"], attachments=d["attachments"], acting=a
        ),
        _("Progress reported."),
    )


@login_required
@require_POST
def task_apply_close(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "close_form",
        ApplyCloseForm(request.POST, request.FILES),
        lambda t, d, a: services.do_apply_close(
            t, evidence=d["evidence"], attachments=d["attachments"], acting=a
        ),
        _("Application to close sent."),
    )


@login_required
@require_POST
def task_review(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "review_form",
        ReviewForm(request.POST),
        lambda t, d, a: services.do_review_task(
            t,
            passed=d["decision"] == "pass",
            reason=d["reason"],
            quality_score=d["quality_score"],
            satisfaction=d["satisfaction"],
            acting=a,
        ),
        _("Review recorded."),
    )


@login_required
@require_POST
def task_archive(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "",
        None,
        lambda t, d, a: services.do_archive_task(t, acting=a),
        _("Task archived."),
    )


@login_required
@require_POST
def task_urge(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "urge_form",
        UrgeForm(request.POST),
        lambda t, d, a: services.do_urge_task(t, text=d["text"], acting=a),
        _("Urging notice sent."),
    )


@login_required
@require_POST
def task_extension(request: HttpRequest, task_id: str) -> HttpResponse:
    return _act(
        request,
        task_id,
        "extension_form",
        ExtensionForm(request.POST),
        lambda t, d, a: services.do_request_extension(
            t, new_deadline=d["new_deadline"], reason=d["reason"], acting=a
        ),
        _("Extension requested."),
    )


@login_required
@require_POST
def extension_decide(request: HttpRequest, task_id: str) -> HttpResponse:
    def decide(task: SupervisionTask, d: dict[str, Any], a: Acting) -> Any:
        ext = ExtensionRequest.objects.filter(task=task, state="pending").first()
        if ext is None:
            raise DomainError(_("No extension request is pending."), field="decision")
        return services.do_decide_extension(
            ext, approve=d["decision"] == "approve", note=d["note"], acting=a
        )

    return _act(
        request,
        task_id,
        "decision_form",
        ExtensionDecisionForm(request.POST),
        decide,
        _("Extension decided."),
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def attachment_download(request: HttpRequest, task_id: str, attachment_id: str) -> HttpResponseBase:
    task = selectors.access_task_by_id(_user(request), task_id)
    attachment = selectors.access_attachment(task, attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    return FileResponse(handle, as_attachment=True, filename=attachment.name)
