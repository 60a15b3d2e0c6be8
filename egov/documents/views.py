"""Thin views of the documents app: lists with search, drafting, the document pages with the
actions of each step, the PDFs and attachments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.core.forms import add_domain_error
from egov.documents import selectors, services
from egov.documents.bodytext import body_html_to_text, text_to_body_html
from egov.documents.choices import (
    AssignmentState,
    IncomingState,
    OutgoingState,
    RecipientRole,
)
from egov.documents.forms import (
    AssignForm,
    DecisionForm,
    DraftForm,
    SearchForm,
    SubmitForm,
    TextForm,
)
from egov.documents.models import IncomingDocument, OutgoingDocument
from egov.documents.rules import holds
from egov.exchange.envelope import PartStore
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User

PAGE_SIZE = 30


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _search(request: HttpRequest) -> tuple[SearchForm, dict[str, Any]]:
    form = SearchForm(request.GET or None)
    params: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        params = {
            "query": data.get("q") or "",
            "doc_type": data.get("doc_type") or "",
            "state": data.get("state") or "",
            "since": data.get("since"),
            "until": data.get("until"),
        }
    return form, params


@login_required
@require_http_methods(["GET", "HEAD"])
def outgoing_list(request: HttpRequest) -> HttpResponse:
    form, params = _search(request)
    rows = selectors.list_outgoing_for(_user(request), **params)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "documents/outgoing_list.html",
        {
            "page": page,
            "form": form,
            "states": OutgoingState.choices,
            "can_draft": selectors.drafting_organisations(_user(request)).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def incoming_list(request: HttpRequest) -> HttpResponse:
    form, params = _search(request)
    rows = selectors.list_incoming_for(_user(request), **params)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "documents/incoming_list.html",
        {"page": page, "form": form, "states": IncomingState.choices},
    )


def _draft_data(form: DraftForm) -> services.DraftData:
    data = form.cleaned_data
    recipients = [(o, RecipientRole.MAIN) for o in data["main_recipients"]]
    recipients += [(o, RecipientRole.COPY) for o in data["copies"]]
    return services.DraftData(
        doc_type=data["doc_type"],
        direction=data["direction"],
        title=data["title"],
        body=text_to_body_html(data["body"]),
        classification=data["classification"],
        secrecy_period=data["secrecy_period"],
        copy_number=data["copy_number"],
        urgency=data["urgency"],
        note=data["note"],
        reply_due=data["reply_due"],
        recipients=recipients,
        joint=list(data["joint"]),
    )


def _store_uploads(files: list[Any]) -> list[Any]:
    from egov.documents.uploads import store_upload

    return [store_upload(f.name, f) for f in files]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def draft_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    orgs = list(selectors.drafting_organisations(user))
    if not orgs:
        raise Http404("Not a drafter.")
    # The organisation of the position the person acts in, when they draft there.
    current = Acting.from_request(request).organisation
    issuer = next((o for o in orgs if current is not None and o.pk == current.pk), orgs[0])
    targets = Organisation.objects.filter(is_active=True).exclude(pk=issuer.pk).order_by("path")
    form = DraftForm(request.POST or None, request.FILES or None, organisations=targets)
    if request.method == "POST" and form.is_valid():
        try:
            uploads = _store_uploads(form.cleaned_data["attachments"])
            doc = services.do_create_draft(
                issuer, _draft_data(form), attachments=uploads, acting=Acting.from_request(request)
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The draft is saved."))
            return redirect("documents:outgoing_detail", doc.uuid)
    return render(request, "documents/draft_form.html", {"form": form, "issuer": issuer})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def draft_edit(request: HttpRequest, doc_id: str) -> HttpResponse:
    user = _user(request)
    doc = selectors.access_outgoing(user, doc_id)
    if doc.state != OutgoingState.DRAFT or not holds(
        user, doc.organisation, Role.DRAFTER, Role.CLERK
    ):
        raise Http404("Not editable.")
    targets = (
        Organisation.objects.filter(is_active=True).exclude(pk=doc.organisation_id).order_by("path")
    )
    rows = list(doc.distribution.all())
    initial = {
        "doc_type": doc.doc_type,
        "direction": doc.direction,
        "title": doc.title,
        "body": body_html_to_text(doc.body),
        "main_recipients": [d.organisation_id for d in rows if d.role == RecipientRole.MAIN],
        "copies": [d.organisation_id for d in rows if d.role == RecipientRole.COPY],
        "joint": [j.organisation_id for j in doc.joint_agencies.all()],
        "urgency": doc.urgency,
        "classification": doc.classification,
        "secrecy_period": doc.secrecy_period,
        "copy_number": doc.copy_number,
        "note": doc.note,
        "reply_due": doc.reply_due,
    }
    form = DraftForm(
        request.POST or None, request.FILES or None, organisations=targets, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            uploads = _store_uploads(form.cleaned_data["attachments"])
            services.do_update_draft(
                doc, _draft_data(form), attachments=uploads, acting=Acting.from_request(request)
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The draft is saved."))
            return redirect("documents:outgoing_detail", doc.uuid)
    return render(
        request, "documents/draft_form.html", {"form": form, "issuer": doc.organisation, "doc": doc}
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def outgoing_detail(request: HttpRequest, doc_id: str) -> HttpResponse:
    user = _user(request)
    doc = selectors.access_outgoing(user, doc_id)
    copies = selectors.distribution_states(doc)
    can = dict.fromkeys(selectors.outgoing_actions(user, doc, copies), True)
    return render(
        request,
        "documents/outgoing_detail.html",
        {
            "doc": doc,
            "can": can,
            "reviews": doc.reviews.select_related("reviewer"),
            "distribution": copies,
            "joint": doc.joint_agencies.select_related("organisation", "signed_off_by"),
            "attachments": doc.attachments.all(),
            "events": doc.events.all(),
            "submit_form": SubmitForm(reviewers=selectors.reviewer_candidates(doc))
            if can.get("edit")
            else None,
            "decision_form": DecisionForm(),
            "body_text": body_html_to_text(doc.body),
        },
    )


OutAction = Callable[[HttpRequest, OutgoingDocument, Acting], Any]


def _decision(request: HttpRequest) -> tuple[bool, str]:
    return request.POST.get("decision") != "return", request.POST.get("comment", "")


OUT_ACTIONS: dict[str, OutAction] = {
    "review": lambda r, d, a: services.do_review(
        d, approve=_decision(r)[0], comment=_decision(r)[1], acting=a
    ),
    "sign_off": lambda r, d, a: services.do_sign_off(
        d, approve=_decision(r)[0], comment=_decision(r)[1], acting=a
    ),
    "recheck": lambda r, d, a: services.do_recheck(
        d,
        # the body only when its text was changed (the round trip through lines is lossy)
        body=text_to_body_html(r.POST["body"])
        if "body" in r.POST and r.POST["body"].strip() != body_html_to_text(d.body).strip()
        else None,
        title=r.POST.get("title"),
        reason=r.POST.get("comment", ""),
        acting=a,
    ),
    "register": lambda r, d, a: services.do_register(d, acting=a),
    "render": lambda r, d, a: services.do_render(d, acting=a),
    "seal": lambda r, d, a: services.do_seal(d, acting=a),
    "dispatch": lambda r, d, a: services.do_dispatch(d, acting=a),
}


@login_required
@require_POST
def outgoing_action(request: HttpRequest, doc_id: str, action: str) -> HttpResponse:
    user = _user(request)
    doc = selectors.access_outgoing(user, doc_id)
    acting = Acting.from_request(request)
    try:
        if action == "submit":
            form = SubmitForm(request.POST, reviewers=selectors.reviewer_candidates(doc))
            if not form.is_valid():
                raise services.DocumentError(_("Choose at least one reviewer."), field="reviewers")
            order = request.POST.getlist("reviewers")
            chosen = {str(u.pk): u for u in form.cleaned_data["reviewers"]}
            services.do_submit(doc, [chosen[i] for i in order if i in chosen], acting=acting)
        elif action == "recall":
            try:
                row_id = int(request.POST.get("distribution", ""))
            except ValueError as exc:
                raise Http404("No such recipient.") from exc
            row = doc.distribution.filter(pk=row_id).first()
            if row is None:
                raise Http404("No such recipient.")
            services.do_recall(row, acting=acting)
        elif action in OUT_ACTIONS:
            OUT_ACTIONS[action](request, doc, acting)
        else:
            raise Http404("No such action.")
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Done."))
    return redirect("documents:outgoing_detail", doc.uuid)


@login_required
@require_http_methods(["GET", "HEAD"])
def outgoing_pdf(request: HttpRequest, doc_id: str, which: str) -> FileResponse:
    doc = selectors.access_outgoing(_user(request), doc_id)
    sha = doc.sealed_sha256 if which == "sealed" else doc.pdf_sha256
    name = f"{doc.number or doc.uuid}{'-sealed' if which == 'sealed' else ''}.pdf"
    return selectors.stored_file_response(sha, name, "application/pdf")


@login_required
@require_http_methods(["GET", "HEAD"])
def attachment_download(
    request: HttpRequest, doc_id: str, flow: str, attachment_id: int
) -> FileResponse:
    user = _user(request)
    doc: OutgoingDocument | IncomingDocument
    doc = (
        selectors.access_outgoing(user, doc_id)
        if flow == "out"
        else selectors.access_incoming_files(user, doc_id)
    )
    row = doc.attachments.filter(pk=attachment_id).first()
    if row is None:
        raise Http404("No such attachment.")
    try:
        handle = PartStore().open(row.sha256)
    except FileNotFoundError as exc:
        raise Http404("File missing.") from exc
    return FileResponse(handle, as_attachment=True, filename=row.name, content_type=row.media_type)


# --- receiving -----------------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise services.DocumentError(_("Enter a valid date."), field="reply_due") from exc


@login_required
@require_http_methods(["GET", "HEAD"])
def incoming_detail(request: HttpRequest, doc_id: str) -> HttpResponse:
    user = _user(request)
    doc = selectors.access_incoming(user, doc_id)
    assignments = list(doc.assignments.select_related("unit", "done_by"))
    mine = [
        a
        for a in assignments
        if a.state == AssignmentState.OPEN and holds(user, a.unit, Role.HANDLER, Role.CLERK)
    ]
    circulation = list(doc.circulation.select_related("reader"))
    can = dict.fromkeys(selectors.incoming_actions(user, doc, assignments, circulation), True)
    return render(
        request,
        "documents/incoming_detail.html",
        {
            "doc": doc,
            "can": can,
            "assignments": assignments,
            "mine": mine,
            "circulation": circulation,
            "attachments": doc.attachments.all(),
            "events": doc.events.all(),
            "assign_form": AssignForm(
                units=selectors.handling_units(doc.organisation),
                readers=selectors.reader_candidates(doc),
            )
            if can.get("assign")
            else None,
            "text_form": TextForm(),
        },
    )


@login_required
@require_POST
def incoming_action(request: HttpRequest, doc_id: str, action: str) -> HttpResponse:
    user = _user(request)
    doc = selectors.access_incoming(user, doc_id)
    acting = Acting.from_request(request)
    text = request.POST.get("text", "")
    try:
        if action == "sign_for":
            services.do_sign_for(doc, acting=acting)
        elif action == "register":
            services.do_register_incoming(doc, acting=acting)
        elif action == "screen":
            services.do_screen(
                doc, accept=request.POST.get("decision") != "return", reason=text, acting=acting
            )
        elif action == "propose":
            services.do_propose(doc, text=text, acting=acting)
        elif action == "instruct":
            services.do_instruct(
                doc, text=text, reply_due=_date(request.POST.get("reply_due")), acting=acting
            )
        elif action == "assign":
            form = AssignForm(
                request.POST,
                units=selectors.handling_units(doc.organisation),
                readers=selectors.reader_candidates(doc),
            )
            if not form.is_valid():
                raise services.DocumentError(_("Choose the lead unit."), field="lead")
            data = form.cleaned_data
            services.do_assign(
                doc,
                lead=data["lead"],
                assisting=[u for u in data["assisting"] if u.pk != data["lead"].pk],
                readers=list(data["readers"]),
                reply_due=data["reply_due"],
                acting=acting,
            )
        elif action == "handle":
            row = selectors.access_assignment(user, doc, request.POST.get("assignment"))
            services.do_handle(row, result=text, acting=acting)
        elif action == "answer":
            services.do_answer(doc, note=text, acting=acting)
        elif action == "close":
            services.do_close(doc, acting=acting)
        elif action == "archive":
            services.do_archive(doc, acting=acting)
        elif action == "read":
            services.do_mark_read(doc, acting=acting)
        else:
            raise Http404("No such action.")
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Done."))
    return redirect("documents:incoming_detail", doc.uuid)


@login_required
@require_http_methods(["GET", "HEAD"])
def incoming_pdf(request: HttpRequest, doc_id: str) -> FileResponse:
    doc = selectors.access_incoming_files(_user(request), doc_id)
    return selectors.stored_file_response(
        doc.pdf_sha256, f"{doc.number or doc.uuid}.pdf", "application/pdf"
    )
