"""API of the official documents (公文) for mobile clients: `/documents/outgoing…` (发文, draft to
dispatch and recall) and `/documents/incoming…` (收文, sign for to archive), every step of both
flows, the PDFs and the attachments.

Reads go through the scope selectors (outside scope: 404). Writes go through `services`, whose
refusals come back in the house error shape `{code, message, details}`: a step out of turn is
409 `invalid_transition`, a missing role 403, a broken rule 400 with the field named. A body
field naming an organisation, person, assignment or document that does not exist (or is out of
reach) is answered like a path id, 404 `not_found`, with the field named in `details`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, cast
from uuid import UUID

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Path, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from egov.api.errors import READ_ERRORS, WRITE_ERRORS, InvalidInput, InvalidReference, errors
from egov.api.pagination import Page, PageQuery, paginate
from egov.api.schemas import CleanSchema, InputSchema
from egov.core.acting import Acting
from egov.core.errors import InvalidTransition, NotPermitted
from egov.documents import selectors, services
from egov.documents.bodytext import body_html_to_text, text_to_body_html
from egov.documents.choices import (
    AssignmentState,
    Classification,
    Direction,
    DistributionState,
    DocType,
    IncomingState,
    OutgoingState,
    RecipientRole,
    ReviewState,
    Urgency,
)
from egov.documents.models import Attachment, IncomingDocument, OutgoingDocument
from egov.documents.rules import holds
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User

router = Router(tags=["documents"])

TEXT_MAX = 5000
BODY_MAX = 200_000
MAX_REFS = 100
MAX_CANDIDATES = 500
MAX_INT = 2_147_483_647
# Integer ids in the path stay in the database's range (SQLite raises on larger numbers).
AttachmentId = Annotated[int, Path(ge=1, le=MAX_INT)]


def _iso_date(value: Any) -> Any:
    """Dates are ISO 8601 text (YYYY-MM-DD); pydantic would also read a number as Unix time."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        return value
    raise PydanticCustomError("date_parsing", "Not a valid date (YYYY-MM-DD).")


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IsoDate = Annotated[date, BeforeValidator(_iso_date)]

# File downloads answer with the file itself, not JSON.
_BINARY = {"schema": {"type": "string", "format": "binary"}}
PDF_RESPONSE = {
    "responses": {200: {"description": "The PDF", "content": {"application/pdf": _BINARY}}}
}
FILE_RESPONSE = {
    "responses": {
        200: {
            "description": "The file, with the media type found when it was uploaded",
            "content": {"*/*": _BINARY},
        }
    }
}


# --- output schemas ------------------------------------------------------------------------------


class DocOrgRef(Schema):
    uuid: UUID
    code: str
    name: str


class DocPersonRef(Schema):
    uuid: UUID
    username: str
    full_name: str


class DocAttachmentOut(Schema):
    id: int
    position: int
    name: str
    media_type: str
    size: int
    sha256: str
    sm3: str


class DocEventOut(Schema):
    kind: str
    from_state: str
    to_state: str
    actor: DocPersonRef | None
    actor_label: str = Field(description="Who acted, as shown in the history (流转记录)")
    text: str
    created_at: datetime


class DocReviewOut(Schema):
    position: int
    reviewer: DocPersonRef
    state: ReviewState
    comment: str
    decided_at: datetime | None


class DocDistributionOut(Schema):
    organisation: DocOrgRef
    role: RecipientRole
    position: int
    state: DistributionState = Field(
        description="What became of this recipient's copy (the exchange's delivery until signed for)"
    )
    envelope_id: UUID | None
    signed_for_at: datetime | None
    signed_for_by: str
    returned_reason: str


class DocJointOut(Schema):
    organisation: DocOrgRef
    position: int
    signed_off_by: DocPersonRef | None
    signed_off_at: datetime | None


class OutgoingOut(Schema):
    uuid: UUID
    organisation: DocOrgRef
    number: str = Field(description="发文字号, empty until registered")
    title: str
    doc_type: DocType
    direction: Direction
    state: OutgoingState
    urgency: Urgency
    classification: Classification
    document_date: date | None = Field(description="成文日期, the day of the last sign-off")
    reply_due: date | None
    created_at: datetime
    updated_at: datetime


class OutgoingDetailOut(OutgoingOut):
    body: str = Field(description="The body as sanitised HTML")
    body_text: str = Field(description="The body as lines, as typed in the drafting box")
    secrecy_period: str
    copy_number: str
    note: str
    attendees: str
    absentees: str
    observers: str
    drafted_by: DocPersonRef
    signed_off_by: DocPersonRef | None
    signed_off_at: datetime | None
    rechecked_by: DocPersonRef | None
    rechecked_at: datetime | None
    agency_code: str
    year: int | None
    serial: int | None
    registered_at: datetime | None
    printer: str
    pdf_sha256: str
    pdf_pages: int
    rendered_at: datetime | None
    sealed_sha256: str
    sealed_size: int
    sealed_at: datetime | None
    dispatched_at: datetime | None
    in_reply_to: UUID | None
    reviews: list[DocReviewOut]
    distribution: list[DocDistributionOut]
    joint: list[DocJointOut]
    attachments: list[DocAttachmentOut]
    events: list[DocEventOut]
    actions: list[str] = Field(description="The steps the caller may take now")


class IncomingOut(Schema):
    uuid: UUID
    organisation: DocOrgRef
    number: str
    title: str
    doc_type: DocType
    urgency: Urgency
    state: IncomingState
    sender_code: str
    sender_name: str
    role: RecipientRole
    register_number: str = Field(description="收文编号, empty until registered")
    document_date: date | None
    reply_due: date | None
    received_at: datetime


class DocAssignmentOut(Schema):
    id: int
    unit: DocOrgRef
    is_lead: bool
    state: AssignmentState
    result: str
    done_by: DocPersonRef | None
    done_at: datetime | None


class DocCirculationOut(Schema):
    reader: DocPersonRef
    sent_at: datetime
    read_at: datetime | None


class IncomingDetailOut(IncomingOut):
    source_uuid: UUID | None
    body_text: str
    pdf_name: str
    pdf_sha256: str
    pdf_sm3: str
    pdf_size: int
    signed_for_by: DocPersonRef | None
    signed_for_at: datetime | None
    proposal: str
    proposed_by: DocPersonRef | None
    instruction: str
    instructed_by: DocPersonRef | None
    instructed_at: datetime | None
    answer_note: str
    replies: list[UUID] = Field(description="Outgoing documents answering this one")
    closed_at: datetime | None
    archived_at: datetime | None
    returned_reason: str
    chase: str = Field(description="'', 'due' or 'overdue' (催办)")
    assignments: list[DocAssignmentOut]
    circulation: list[DocCirculationOut]
    attachments: list[DocAttachmentOut]
    events: list[DocEventOut]
    actions: list[str] = Field(description="The steps the caller may take now")


class OutgoingCandidatesOut(Schema):
    reviewers: list[DocPersonRef] = Field(description="Who may review or sign off (审核/签发)")


class IncomingCandidatesOut(Schema):
    units: list[DocOrgRef] = Field(description="Units the document can be assigned to (分办)")
    readers: list[DocPersonRef] = Field(description="People it can circulate to (传阅)")


# --- input schemas -------------------------------------------------------------------------------


class DocOutgoingFilters(CleanSchema):
    q: str = Field("", max_length=100, description="Number, title, body or issuer")
    state: OutgoingState | None = None
    doc_type: DocType | None = None
    since: IsoDate | None = Field(None, description="Created on or after")
    until: IsoDate | None = Field(None, description="Created on or before")


class DocIncomingFilters(CleanSchema):
    q: str = Field("", max_length=100, description="Number, title, text, sender, register number")
    state: IncomingState | None = None
    doc_type: DocType | None = None
    since: IsoDate | None = Field(None, description="Received on or after")
    until: IsoDate | None = Field(None, description="Received on or before")


class DocRecipientsIn(InputSchema):
    main: list[UUID] = Field(default_factory=list, max_length=MAX_REFS, description="主送")
    copies: list[UUID] = Field(default_factory=list, max_length=MAX_REFS, description="抄送")


class DocDraftIn(InputSchema):
    organisation: UUID | None = Field(
        None, description="The issuer (default: the first organisation where the caller drafts)"
    )
    doc_type: DocType
    direction: Direction
    title: str = Field(min_length=1, max_length=200)
    body: str | None = Field(
        None, max_length=BODY_MAX, description="HTML (sanitised); or give `body_text`"
    )
    body_text: str | None = Field(
        None, max_length=BODY_MAX, description="Lines; 一、（一）1. start heading levels"
    )
    recipients: DocRecipientsIn = Field(default_factory=DocRecipientsIn)
    joint: list[UUID] = Field(
        default_factory=list, max_length=20, description="Co-issuing agencies (联合发文)"
    )
    urgency: Urgency = Urgency.NORMAL
    classification: Classification = Classification.NONE
    copy_number: str = Field("", max_length=6, description="份号, 6 digits")
    secrecy_period: str = Field("", max_length=20)
    note: str = Field("", max_length=300, description="附注")
    attendees: str = Field("", max_length=TEXT_MAX, description="纪要: 出席")
    absentees: str = Field("", max_length=TEXT_MAX, description="纪要: 请假")
    observers: str = Field("", max_length=TEXT_MAX, description="纪要: 列席")
    reply_due: IsoDate | None = None


class DocDraftPatch(InputSchema):
    """Only the fields given change; `recipients` and `joint` replace the whole list."""

    doc_type: DocType | None = None
    direction: Direction | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, max_length=BODY_MAX)
    body_text: str | None = Field(None, max_length=BODY_MAX)
    recipients: DocRecipientsIn | None = None
    joint: list[UUID] | None = Field(None, max_length=20)
    urgency: Urgency | None = None
    classification: Classification | None = None
    copy_number: str | None = Field(None, max_length=6)
    secrecy_period: str | None = Field(None, max_length=20)
    note: str | None = Field(None, max_length=300)
    attendees: str | None = Field(None, max_length=TEXT_MAX)
    absentees: str | None = Field(None, max_length=TEXT_MAX)
    observers: str | None = Field(None, max_length=TEXT_MAX)
    reply_due: IsoDate | None = None


class DocSubmitIn(InputSchema):
    reviewers: list[UUID] = Field(
        max_length=20, description="People (user uuids) of the issuer, in the order they review"
    )


class DocDecisionIn(InputSchema):
    approve: bool
    comment: str = Field("", max_length=TEXT_MAX, description="Required to return (退回)")


class DocRecheckIn(InputSchema):
    title: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=BODY_MAX)
    body_text: str | None = Field(None, max_length=BODY_MAX)
    reason: str = Field("", max_length=TEXT_MAX, description="Required when the text changes")


class DocRecallIn(InputSchema):
    recipient: UUID = Field(description="The recipient organisation whose copy is recalled")


class DocScreenIn(InputSchema):
    accept: bool
    reason: str = Field("", max_length=TEXT_MAX, description="Required to return (退回)")


class DocTextIn(InputSchema):
    text: str = Field(min_length=1, max_length=TEXT_MAX)


class DocInstructIn(InputSchema):
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    reply_due: IsoDate | None = None


class DocAssignIn(InputSchema):
    lead: UUID = Field(description="The lead handling unit (主办)")
    assisting: list[UUID] = Field(default_factory=list, max_length=MAX_REFS, description="协办")
    readers: list[UUID] = Field(
        default_factory=list, max_length=MAX_REFS, description="People it circulates to (传阅)"
    )
    reply_due: IsoDate | None = None


class DocCirculateIn(InputSchema):
    readers: list[UUID] = Field(min_length=1, max_length=MAX_REFS)


class DocHandleIn(InputSchema):
    assignment: int = Field(ge=1, le=MAX_INT)
    result: str = Field(min_length=1, max_length=TEXT_MAX)


class DocAnswerIn(InputSchema):
    note: str = Field("", max_length=TEXT_MAX)
    reply: UUID | None = Field(None, description="An outgoing document of this office")


# --- helpers -------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _acting(request: HttpRequest) -> Acting:
    return Acting.from_request(request)


def _not_blank(value: str, field: str, message: str) -> str:
    if not value.strip():
        raise InvalidInput(message, field=field)
    return value


def _body(html: str | None, text: str | None) -> str | None:
    """HTML as given (the service sanitises it) or drafting-box lines turned into HTML."""
    if html is not None and text is not None:
        raise InvalidInput(_("Give either body or body_text, not both."), field="body_text")
    if text is not None:
        return text_to_body_html(text)
    return html


def _organisations(refs: Sequence[UUID], field: str) -> list[Organisation]:
    """Active organisations of the directory, in the order given (each unknown one named)."""
    found = {o.uuid: o for o in Organisation.objects.filter(uuid__in=list(refs), is_active=True)}
    out = []
    for i, ref in enumerate(refs):
        if ref not in found:
            raise InvalidReference(_("No such organisation."), field=f"{field}.{i}")
        out.append(found[ref])
    return out


def _people(refs: Sequence[UUID], organisation_ids: Sequence[int], field: str) -> list[User]:
    """Active people holding a position in one of the organisations, in the order given."""
    people = selectors.people_holding(organisation_ids).filter(uuid__in=list(refs))
    found = {u.uuid: u for u in people}
    out = []
    for i, ref in enumerate(refs):
        if ref not in found:
            raise InvalidReference(_("No such person here."), field=f"{field}.{i}")
        out.append(found[ref])
    return out


def _attachment(doc: OutgoingDocument | IncomingDocument, attachment_id: int) -> Attachment:
    row = doc.attachments.filter(pk=attachment_id).first()
    if row is None:
        raise Http404("No such attachment.")
    return row


# --- sending (发文): reads -----------------------------------------------------------------------


def _outgoing(request: HttpRequest, uuid: UUID) -> OutgoingDocument:
    return selectors.access_outgoing(_user(request), uuid)


def _copy_out(c: selectors.CopyState) -> dict[str, Any]:
    return {
        "organisation": c.row.organisation,
        "role": c.row.role,
        "position": c.row.position,
        "state": c.state,
        "envelope_id": c.row.envelope_id,
        "signed_for_at": c.row.signed_for_at,
        "signed_for_by": c.row.signed_for_by,
        "returned_reason": c.row.returned_reason,
    }


def _outgoing_detail(request: HttpRequest, doc: OutgoingDocument) -> dict[str, Any]:
    user = _user(request)
    doc = OutgoingDocument.objects.select_related(
        "organisation", "drafted_by", "signed_off_by", "rechecked_by", "in_reply_to"
    ).get(pk=doc.pk)
    copies = selectors.distribution_states(doc)
    values = {n: getattr(doc, n) for n in OutgoingDetailOut.model_fields if hasattr(doc, n)}
    values.update(
        body_text=body_html_to_text(doc.body),
        in_reply_to=doc.in_reply_to.uuid if doc.in_reply_to is not None else None,
        reviews=list(doc.reviews.select_related("reviewer")),
        distribution=[_copy_out(c) for c in copies],
        joint=list(doc.joint_agencies.select_related("organisation", "signed_off_by")),
        attachments=list(doc.attachments.all()),
        events=list(doc.events.select_related("actor")),
        actions=selectors.outgoing_actions(user, doc, copies),
    )
    return values


@router.get(
    "/documents/outgoing",
    response={200: Page[OutgoingOut], **errors(*READ_ERRORS)},
    summary="Search outgoing documents (发文)",
)
def list_outgoing(
    request: HttpRequest, filters: Query[DocOutgoingFilters], paging: Query[PageQuery]
) -> dict[str, Any]:
    rows = selectors.list_outgoing_for(
        _user(request),
        query=filters.q,
        state=filters.state or "",
        doc_type=filters.doc_type or "",
        since=filters.since,
        until=filters.until,
    )
    return paginate(rows, paging)


@router.get(
    "/documents/outgoing/{uuid}",
    response={200: OutgoingDetailOut, **errors(*READ_ERRORS)},
    summary="An outgoing document with its reviews, distribution, attachments and history",
)
def get_outgoing(request: HttpRequest, uuid: UUID) -> Any:
    return _outgoing_detail(request, _outgoing(request, uuid))


@router.get(
    "/documents/outgoing/{uuid}/candidates",
    response={200: OutgoingCandidatesOut, **errors(*READ_ERRORS)},
    summary="People who may review or sign off this document",
)
def outgoing_candidates(request: HttpRequest, uuid: UUID) -> Any:
    doc = _outgoing(request, uuid)
    people = selectors.reviewer_candidates(doc)
    return {"reviewers": list(people[:MAX_CANDIDATES])}


@router.get(
    "/documents/outgoing/{uuid}/pdf",
    response={**errors(*READ_ERRORS)},
    summary="The laid-out PDF, or with `sealed=true` the sealed one",
    openapi_extra=PDF_RESPONSE,
)
def outgoing_pdf(request: HttpRequest, uuid: UUID, sealed: bool = False) -> Any:
    doc = _outgoing(request, uuid)
    sha = doc.sealed_sha256 if sealed else doc.pdf_sha256
    name = f"{doc.number or doc.uuid}{'-sealed' if sealed else ''}.pdf"
    return selectors.stored_file_response(sha, name, "application/pdf")


@router.get(
    "/documents/outgoing/{uuid}/attachments/{attachment_id}",
    response={**errors(*READ_ERRORS)},
    summary="Download an attachment (附件)",
    openapi_extra=FILE_RESPONSE,
)
def outgoing_attachment(request: HttpRequest, uuid: UUID, attachment_id: AttachmentId) -> Any:
    row = _attachment(_outgoing(request, uuid), attachment_id)
    return selectors.stored_file_response(row.sha256, row.name, row.media_type, as_attachment=True)


# --- sending (发文): drafting --------------------------------------------------------------------


def _issuer(user: User, ref: UUID | None) -> Organisation:
    if ref is not None:
        org = Organisation.objects.filter(
            uuid=ref, is_active=True, pk__in=selectors.my_organisation_ids(user)
        ).first()
        if org is None:
            raise InvalidReference(_("No such organisation of yours."), field="organisation")
        return org
    org = selectors.drafting_organisations(user).first()
    if org is None:
        raise NotPermitted(_("You do not draft documents in any organisation."))
    return org


def _recipients(data: DocRecipientsIn) -> list[tuple[Organisation, str]]:
    main = _organisations(data.main, "recipients.main")
    copies = _organisations(data.copies, "recipients.copies")
    out: list[tuple[Organisation, str]] = [(o, RecipientRole.MAIN) for o in main]
    return out + [(o, RecipientRole.COPY) for o in copies]


def _current_draft(doc: OutgoingDocument) -> dict[str, Any]:
    rows = list(doc.distribution.select_related("organisation"))
    return {
        "doc_type": doc.doc_type,
        "direction": doc.direction,
        "title": doc.title,
        "body": doc.body,
        "classification": doc.classification,
        "secrecy_period": doc.secrecy_period,
        "copy_number": doc.copy_number,
        "urgency": doc.urgency,
        "note": doc.note,
        "attendees": doc.attendees,
        "absentees": doc.absentees,
        "observers": doc.observers,
        "reply_due": doc.reply_due,
        "recipients": [(d.organisation, d.role) for d in rows],
        "joint": [j.organisation for j in doc.joint_agencies.select_related("organisation")],
    }


@router.post(
    "/documents/outgoing",
    response={201: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Start a draft (拟稿)",
)
def create_outgoing(request: HttpRequest, payload: DocDraftIn) -> Any:
    user = _user(request)
    issuer = _issuer(user, payload.organisation)
    data = services.DraftData(
        doc_type=payload.doc_type,
        direction=payload.direction,
        title=payload.title,
        body=_body(payload.body, payload.body_text) or "",
        classification=payload.classification,
        secrecy_period=payload.secrecy_period,
        copy_number=payload.copy_number,
        urgency=payload.urgency,
        note=payload.note,
        attendees=payload.attendees,
        absentees=payload.absentees,
        observers=payload.observers,
        reply_due=payload.reply_due,
        recipients=_recipients(payload.recipients),
        joint=_organisations(payload.joint, "joint"),
    )
    doc = services.do_create_draft(issuer, data, acting=_acting(request))
    return Status(201, _outgoing_detail(request, doc))


@router.patch(
    "/documents/outgoing/{uuid}",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Change a draft",
)
def update_outgoing(request: HttpRequest, uuid: UUID, payload: DocDraftPatch) -> Any:
    doc = _outgoing(request, uuid)
    given = payload.model_dump(exclude_unset=True)
    nullable = {"reply_due", "body", "body_text"}
    for key, value in given.items():
        if value is None and key not in nullable:
            raise InvalidInput(_("This field may not be null."), field=key)
    values = _current_draft(doc)
    body = _body(payload.body, payload.body_text)
    if body is not None:
        values["body"] = body
    for key in given.keys() - {"body", "body_text", "recipients", "joint"}:
        values[key] = getattr(payload, key)
    if payload.recipients is not None:
        values["recipients"] = _recipients(payload.recipients)
    if payload.joint is not None:
        values["joint"] = _organisations(payload.joint, "joint")
    doc = services.do_update_draft(doc, services.DraftData(**values), acting=_acting(request))
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/attachments",
    response={201: DocAttachmentOut, **errors(*WRITE_ERRORS)},
    summary="Attach a file to a draft (PDF, OFD, Office, images, text)",
)
def add_attachment(request: HttpRequest, uuid: UUID, file: File[UploadedFile | None] = None) -> Any:
    from egov.documents.uploads import store_upload

    user = _user(request)
    doc = _outgoing(request, uuid)
    # Role and state first: a step that would be refused stores no file.
    if not holds(user, doc.organisation, Role.DRAFTER, Role.CLERK):
        raise NotPermitted(_("You do not hold the role needed for this step."))
    if doc.state != OutgoingState.DRAFT:
        raise InvalidTransition(_("Only a draft takes new attachments."), field="state")
    if file is None:
        # Some multipart encodings lose an empty file part; say which field is missing.
        raise InvalidInput(_("Choose a file."), field="file")
    before = set(doc.attachments.values_list("pk", flat=True))
    upload = store_upload(file.name or "", cast(Any, file))
    doc = services.do_update_draft(
        doc,
        services.DraftData(**_current_draft(doc)),
        attachments=[upload],
        acting=_acting(request),
    )
    return Status(201, doc.attachments.exclude(pk__in=before).get())


@router.delete(
    "/documents/outgoing/{uuid}/attachments/{attachment_id}",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Remove an attachment from a draft",
)
def remove_attachment(request: HttpRequest, uuid: UUID, attachment_id: AttachmentId) -> Any:
    doc = _outgoing(request, uuid)
    row = _attachment(doc, attachment_id)
    doc = services.do_update_draft(
        doc,
        services.DraftData(**_current_draft(doc)),
        remove_attachments=[row.pk],
        acting=_acting(request),
    )
    return _outgoing_detail(request, doc)


# --- sending (发文): the steps -------------------------------------------------------------------


@router.post(
    "/documents/outgoing/{uuid}/submit",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Submit for review (送审), reviewers in order",
)
def submit_outgoing(request: HttpRequest, uuid: UUID, payload: DocSubmitIn) -> Any:
    doc = _outgoing(request, uuid)
    reviewers = _people(payload.reviewers, [doc.organisation_id], "reviewers")
    doc = services.do_submit(doc, reviewers, acting=_acting(request))
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/review",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Approve or return (审核)",
)
def review_outgoing(request: HttpRequest, uuid: UUID, payload: DocDecisionIn) -> Any:
    doc = _outgoing(request, uuid)
    if not payload.approve:
        _not_blank(payload.comment, "comment", _("Give a reason."))
    doc = services.do_review(
        doc, approve=payload.approve, comment=payload.comment, acting=_acting(request)
    )
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/sign-off",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Sign off or return (签发)",
)
def sign_off_outgoing(request: HttpRequest, uuid: UUID, payload: DocDecisionIn) -> Any:
    doc = _outgoing(request, uuid)
    if not payload.approve:
        _not_blank(payload.comment, "comment", _("Give a reason."))
    doc = services.do_sign_off(
        doc, approve=payload.approve, comment=payload.comment, acting=_acting(request)
    )
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/recheck",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Re-check after sign-off (复核); a changed text goes back to sign-off",
)
def recheck_outgoing(request: HttpRequest, uuid: UUID, payload: DocRecheckIn) -> Any:
    doc = _outgoing(request, uuid)
    doc = services.do_recheck(
        doc,
        title=payload.title,
        body=_body(payload.body, payload.body_text),
        reason=payload.reason,
        acting=_acting(request),
    )
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/register",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Register (登记): assigns the document number",
)
def register_outgoing(request: HttpRequest, uuid: UUID) -> Any:
    doc = services.do_register(_outgoing(request, uuid), acting=_acting(request))
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/render",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Lay out the GB/T 9704 PDF (印制)",
)
def render_outgoing(request: HttpRequest, uuid: UUID) -> Any:
    doc = services.do_render(_outgoing(request, uuid), acting=_acting(request))
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/seal",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Seal the PDF (用印)",
)
def seal_outgoing(request: HttpRequest, uuid: UUID) -> Any:
    doc = services.do_seal(_outgoing(request, uuid), acting=_acting(request))
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/dispatch",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Dispatch to every recipient through the exchange (核发)",
)
def dispatch_outgoing(request: HttpRequest, uuid: UUID) -> Any:
    doc = services.do_dispatch(_outgoing(request, uuid), acting=_acting(request))
    return _outgoing_detail(request, doc)


@router.post(
    "/documents/outgoing/{uuid}/recall",
    response={200: OutgoingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Recall one recipient's copy before it is signed for (撤回)",
)
def recall_outgoing(request: HttpRequest, uuid: UUID, payload: DocRecallIn) -> Any:
    doc = _outgoing(request, uuid)
    row = doc.distribution.filter(organisation__uuid=payload.recipient).first()
    if row is None:
        raise InvalidReference(_("No such recipient of this document."), field="recipient")
    services.do_recall(row, acting=_acting(request))
    return _outgoing_detail(request, doc)


# --- receiving (收文) ----------------------------------------------------------------------------


def _incoming(request: HttpRequest, uuid: UUID) -> IncomingDocument:
    return selectors.access_incoming(_user(request), uuid)


def _incoming_detail(request: HttpRequest, doc: IncomingDocument) -> dict[str, Any]:
    user = _user(request)
    doc = IncomingDocument.objects.select_related(
        "organisation", "signed_for_by", "proposed_by", "instructed_by"
    ).get(pk=doc.pk)
    assignments = list(doc.assignments.select_related("unit", "done_by"))
    circulation = list(doc.circulation.select_related("reader"))
    values = {n: getattr(doc, n) for n in IncomingDetailOut.model_fields if hasattr(doc, n)}
    values.update(
        replies=list(doc.replies.values_list("uuid", flat=True)),
        chase=services.chase_level(doc, timezone.localdate())
        if doc.state == IncomingState.IN_HANDLING
        else "",
        assignments=assignments,
        circulation=circulation,
        attachments=list(doc.attachments.all()),
        events=list(doc.events.select_related("actor")),
        actions=selectors.incoming_actions(user, doc, assignments, circulation),
    )
    return values


@router.get(
    "/documents/incoming",
    response={200: Page[IncomingOut], **errors(*READ_ERRORS)},
    summary="Search incoming documents (收文)",
)
def list_incoming(
    request: HttpRequest, filters: Query[DocIncomingFilters], paging: Query[PageQuery]
) -> dict[str, Any]:
    rows = selectors.list_incoming_for(
        _user(request),
        query=filters.q,
        state=filters.state or "",
        doc_type=filters.doc_type or "",
        since=filters.since,
        until=filters.until,
    )
    return paginate(rows, paging)


@router.get(
    "/documents/incoming/{uuid}",
    response={200: IncomingDetailOut, **errors(*READ_ERRORS)},
    summary="An incoming document with its handling, circulation, attachments and history",
)
def get_incoming(request: HttpRequest, uuid: UUID) -> Any:
    return _incoming_detail(request, _incoming(request, uuid))


@router.get(
    "/documents/incoming/{uuid}/candidates",
    response={200: IncomingCandidatesOut, **errors(*READ_ERRORS)},
    summary="Units it can be assigned to and people it can circulate to",
)
def incoming_candidates(request: HttpRequest, uuid: UUID) -> Any:
    doc = _incoming(request, uuid)
    units = selectors.handling_units(doc.organisation)
    readers = selectors.reader_candidates(doc)
    return {"units": list(units[:MAX_CANDIDATES]), "readers": list(readers[:MAX_CANDIDATES])}


@router.get(
    "/documents/incoming/{uuid}/pdf",
    response={**errors(*READ_ERRORS)},
    summary="The received (sealed) PDF",
    openapi_extra=PDF_RESPONSE,
)
def incoming_pdf(request: HttpRequest, uuid: UUID) -> Any:
    doc = selectors.access_incoming_files(_user(request), uuid)
    return selectors.stored_file_response(
        doc.pdf_sha256, f"{doc.number or doc.uuid}.pdf", "application/pdf"
    )


@router.get(
    "/documents/incoming/{uuid}/attachments/{attachment_id}",
    response={**errors(*READ_ERRORS)},
    summary="Download an attachment (附件)",
    openapi_extra=FILE_RESPONSE,
)
def incoming_attachment(request: HttpRequest, uuid: UUID, attachment_id: AttachmentId) -> Any:
    row = _attachment(selectors.access_incoming_files(_user(request), uuid), attachment_id)
    return selectors.stored_file_response(row.sha256, row.name, row.media_type, as_attachment=True)


@router.post(
    "/documents/incoming/{uuid}/sign-for",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Sign for (签收); the issuer is told",
)
def sign_for_incoming(request: HttpRequest, uuid: UUID) -> Any:
    doc = services.do_sign_for(_incoming(request, uuid), acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/register",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Register (登记): assigns the register number",
)
def register_incoming(request: HttpRequest, uuid: UUID) -> Any:
    doc = services.do_register_incoming(_incoming(request, uuid), acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/screen",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Screen (初审): accept, or return to the issuer with the reason (退回)",
)
def screen_incoming(request: HttpRequest, uuid: UUID, payload: DocScreenIn) -> Any:
    doc = services.do_screen(
        _incoming(request, uuid),
        accept=payload.accept,
        reason=payload.reason,
        acting=_acting(request),
    )
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/propose",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Propose the handling (拟办)",
)
def propose_incoming(request: HttpRequest, uuid: UUID, payload: DocTextIn) -> Any:
    doc = _incoming(request, uuid)
    text = _not_blank(payload.text, "text", _("Write the proposed handling."))
    doc = services.do_propose(doc, text=text, acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/instruct",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="A leader's instruction (批示)",
)
def instruct_incoming(request: HttpRequest, uuid: UUID, payload: DocInstructIn) -> Any:
    doc = _incoming(request, uuid)
    text = _not_blank(payload.text, "text", _("Write the instruction."))
    doc = services.do_instruct(doc, text=text, reply_due=payload.reply_due, acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/assign",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Assign to handling units (分办) and circulate (传阅)",
)
def assign_incoming(request: HttpRequest, uuid: UUID, payload: DocAssignIn) -> Any:
    doc = _incoming(request, uuid)
    allowed = {u.uuid: u for u in selectors.handling_units(doc.organisation)}
    lead = allowed.get(payload.lead)
    if lead is None:
        raise InvalidReference(_("No such unit of this office."), field="lead")
    assisting = []
    for i, ref in enumerate(payload.assisting):
        if ref not in allowed:
            raise InvalidReference(_("No such unit of this office."), field=f"assisting.{i}")
        if ref == payload.lead or ref in payload.assisting[:i]:
            raise InvalidInput(_("A unit is listed twice."), field=f"assisting.{i}")
        assisting.append(allowed[ref])
    readers = _people(payload.readers, [u.pk for u in allowed.values()], "readers")
    doc = services.do_assign(
        doc,
        lead=lead,
        assisting=assisting,
        readers=readers,
        reply_due=payload.reply_due,
        acting=_acting(request),
    )
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/circulate",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Circulate to more readers (传阅)",
)
def circulate_incoming(request: HttpRequest, uuid: UUID, payload: DocCirculateIn) -> Any:
    doc = _incoming(request, uuid)
    units = [u.pk for u in selectors.handling_units(doc.organisation)]
    readers = _people(payload.readers, units, "readers")
    doc = services.do_circulate(doc, readers, acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/read",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Mark a circulated document read (已阅); once, later calls change nothing",
)
def read_incoming(request: HttpRequest, uuid: UUID) -> Any:
    doc = _incoming(request, uuid)
    services.do_mark_read(doc, acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/handle",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="A handling unit reports what it did (承办)",
)
def handle_incoming(request: HttpRequest, uuid: UUID, payload: DocHandleIn) -> Any:
    user = _user(request)
    doc = _incoming(request, uuid)
    try:
        row = selectors.access_assignment(user, doc, payload.assignment)
    except Http404:
        raise InvalidReference(
            _("No such assignment of this document."), field="assignment"
        ) from None
    result = _not_blank(payload.result, "result", _("Write what was done."))
    services.do_handle(row, result=result, acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/answer",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Answer (答复) with a note or a reply document",
)
def answer_incoming(request: HttpRequest, uuid: UUID, payload: DocAnswerIn) -> Any:
    user = _user(request)
    doc = _incoming(request, uuid)
    reply = None
    if payload.reply is not None:
        reply = selectors.visible_outgoing(user).filter(uuid=payload.reply).first()
        if reply is None:
            raise InvalidReference(_("No such outgoing document."), field="reply")
    doc = services.do_answer(doc, note=payload.note, reply=reply, acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/close",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Close (办结) once every unit has reported",
)
def close_incoming(request: HttpRequest, uuid: UUID) -> Any:
    doc = services.do_close(_incoming(request, uuid), acting=_acting(request))
    return _incoming_detail(request, doc)


@router.post(
    "/documents/incoming/{uuid}/archive",
    response={200: IncomingDetailOut, **errors(*WRITE_ERRORS)},
    summary="Archive (归档)",
)
def archive_incoming(request: HttpRequest, uuid: UUID) -> Any:
    doc = services.do_archive(_incoming(request, uuid), acting=_acting(request))
    return _incoming_detail(request, doc)
