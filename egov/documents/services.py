"""Writes of the official documents: the sending flow (发文: draft → review → sign-off → re-check
→ register → lay out → seal → dispatch) and the receiving flow (收文: sign for → register →
screen → propose → instruct → assign → handle, circulate, chase → answer → close → archive).

Every action checks the state it starts from and the actor's role, changes the document, writes
one history line (`DocumentEvent`) and one audit event, all in one transaction. Delivery between
organisations is the exchange's (`egov.exchange.services.do_dispatch`); this module hands it the
sealed PDF and the attachments and never sends anything itself.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.errors import DomainError, InvalidTransition, NotPermitted
from egov.documents import selectors
from egov.documents.choices import (
    MINUTES_TYPES,
    ORDER_TYPES,
    AssignmentState,
    Classification,
    Direction,
    DistributionState,
    DocType,
    EventKind,
    IncomingState,
    OutgoingState,
    RecipientRole,
    ReviewState,
    Urgency,
)
from egov.documents.models import (
    Assignment,
    Attachment,
    Circulation,
    Distribution,
    DocumentEvent,
    IncomingDocument,
    JointAgency,
    NumberSequence,
    OutgoingDocument,
    ReviewStep,
)
from egov.documents.rules import check_direction, holds, require
from egov.exchange.envelope import PartStore
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User

if TYPE_CHECKING:
    from egov.documents.uploads import StoredUpload


def sanitize_body(html: str) -> str:
    from egov.documents.sanitize import sanitize_body as clean

    return clean(html)


# Payload kinds this app registers with the exchange (egov.documents.handlers).
DOCUMENT_KIND = "DOCUMENT"
SIGNED_FOR_KIND = "DOCUMENT_SIGNED_FOR"
RETURNED_KIND = "DOCUMENT_RETURNED"
PDF_PART = "document.pdf"

EDITABLE = frozenset({OutgoingState.DRAFT})


class DocumentError(DomainError):
    code = "document_error"


# --- helpers -------------------------------------------------------------------------------------


def _event(
    *,
    outgoing: OutgoingDocument | None = None,
    incoming: IncomingDocument | None = None,
    kind: str,
    acting: Acting,
    from_state: str = "",
    to_state: str = "",
    text: str = "",
) -> DocumentEvent:
    label = ""
    if acting.user is not None:
        label = acting.user.full_name or acting.user.get_username()
    else:
        label = acting.label or "system"
    return DocumentEvent.objects.create(
        outgoing=outgoing,
        incoming=incoming,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        actor=acting.user,
        actor_label=label[:150],
        text=text,
    )


def _user(acting: Acting) -> User:
    if acting.user is None:
        raise NotPermitted(_("Sign in to act on documents."))
    return acting.user


def _expect(doc: OutgoingDocument | IncomingDocument, *states: str) -> None:
    if doc.state not in states:
        raise InvalidTransition(
            _("This step is not possible while the document is “%(state)s”.")
            % {"state": doc.get_state_display()},
            field="state",
        )


def _lock_out(doc: OutgoingDocument) -> OutgoingDocument:
    return OutgoingDocument.objects.select_for_update().get(pk=doc.pk)


def _lock_in(doc: IncomingDocument) -> IncomingDocument:
    return IncomingDocument.objects.select_for_update().get(pk=doc.pk)


def _move(
    doc: OutgoingDocument,
    to: str,
    kind: str,
    acting: Acting,
    *,
    text: str = "",
    fields: Sequence[str] = (),
) -> OutgoingDocument:
    before = doc.state
    doc.state = to
    doc.save(update_fields=["state", "updated_at", *fields])
    _event(outgoing=doc, kind=kind, acting=acting, from_state=before, to_state=to, text=text)
    record_audit(
        f"documents.{kind}",
        acting=acting,
        obj=doc,
        details={"from": before, "to": to, "number": doc.number, "text": text[:500]},
    )
    return doc


def _move_in(
    doc: IncomingDocument,
    to: str,
    kind: str,
    acting: Acting,
    *,
    text: str = "",
    fields: Sequence[str] = (),
) -> IncomingDocument:
    before = doc.state
    doc.state = to
    doc.save(update_fields=["state", "updated_at", *fields])
    _event(incoming=doc, kind=kind, acting=acting, from_state=before, to_state=to, text=text)
    record_audit(
        f"documents.incoming.{kind}",
        acting=acting,
        obj=doc,
        details={"from": before, "to": to, "number": doc.number, "text": text[:500]},
    )
    return doc


def _reason(text: str, field: str = "reason") -> str:
    text = (text or "").strip()
    if not text:
        raise DocumentError(_("Give a reason."), field=field)
    return text[:2000]


def _required(text: str, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DocumentError(_("This cannot be empty."), field=field)
    return text[:4000]


def _clear_signatures(doc: OutgoingDocument) -> list[str]:
    """Every sign-off of the document (a return or an edit makes them void)."""
    doc.signed_off_by, doc.signed_off_at, doc.document_date = None, None, None
    doc.joint_agencies.update(signed_off_by=None, signed_off_at=None)
    return ["signed_off_by", "signed_off_at", "document_date"]


# --- drafting ------------------------------------------------------------------------------------


@dataclass
class DraftData:
    """What a drafter fills in. Recipients are (organisation, 主送/抄送) pairs in order."""

    doc_type: str
    direction: str
    title: str
    body: str = ""
    classification: str = Classification.NONE
    secrecy_period: str = ""
    copy_number: str = ""
    urgency: str = Urgency.NORMAL
    note: str = ""
    attendees: str = ""
    absentees: str = ""
    observers: str = ""
    reply_due: date | None = None
    recipients: Sequence[tuple[Organisation, str]] = field(default_factory=list)
    joint: list[Organisation] = field(default_factory=list)


def _clean_draft(data: DraftData, organisation: Organisation) -> dict[str, Any]:
    if data.doc_type not in DocType.values:
        raise DocumentError(_("Choose a document type."), field="doc_type")
    if data.direction not in Direction.values:
        raise DocumentError(_("Choose a direction."), field="direction")
    if data.classification not in Classification.values:
        raise DocumentError(_("Choose a classification."), field="classification")
    if data.urgency not in Urgency.values:
        raise DocumentError(_("Choose an urgency."), field="urgency")
    title = " ".join((data.title or "").split())
    if not title:
        raise DocumentError(_("A document needs a title."), field="title")
    if len(title) > 200:
        raise DocumentError(_("The title is longer than 200 characters."), field="title")
    copy_number = (data.copy_number or "").strip()
    if copy_number and not (copy_number.isdigit() and len(copy_number) == 6):
        raise DocumentError(_("A copy number (份号) has 6 digits."), field="copy_number")
    if data.classification != Classification.NONE and not copy_number:
        raise DocumentError(
            _("A classified document needs a copy number (份号)."), field="copy_number"
        )
    seen: set[int] = set()
    for org, role in data.recipients:
        if role not in RecipientRole.values:
            raise DocumentError(_("A recipient needs a role."), field="recipients")
        if org.pk in seen:
            raise DocumentError(
                _("%(org)s is listed twice.") % {"org": org.name}, field="recipients"
            )
        if org.pk == organisation.pk:
            raise DocumentError(_("A document is not sent to its own issuer."), field="recipients")
        seen.add(org.pk)
    joint_ids = [o.pk for o in data.joint]
    if organisation.pk in joint_ids or len(set(joint_ids)) != len(joint_ids):
        raise DocumentError(_("List each co-issuing agency once."), field="joint")
    return {
        "doc_type": data.doc_type,
        "direction": data.direction,
        "title": title,
        "body": sanitize_body(data.body or ""),
        "classification": data.classification,
        "secrecy_period": (data.secrecy_period or "").strip()[:20],
        "copy_number": copy_number,
        "urgency": data.urgency,
        "note": (data.note or "").strip()[:300],
        "attendees": (data.attendees or "").strip(),
        "absentees": (data.absentees or "").strip(),
        "observers": (data.observers or "").strip(),
        "reply_due": data.reply_due,
    }


def _set_parties(doc: OutgoingDocument, data: DraftData) -> None:
    doc.distribution.all().delete()
    Distribution.objects.bulk_create(
        [
            Distribution(document=doc, organisation=org, role=role, position=i)
            for i, (org, role) in enumerate(data.recipients)
        ]
    )
    doc.joint_agencies.all().delete()
    JointAgency.objects.bulk_create(
        [
            JointAgency(document=doc, organisation=org, position=i)
            for i, org in enumerate(data.joint)
        ]
    )


def _attach(doc: OutgoingDocument, uploads: Sequence[StoredUpload]) -> None:
    start = doc.attachments.count()
    Attachment.objects.bulk_create(
        [
            Attachment(
                outgoing=doc,
                position=start + i,
                name=u.name,
                media_type=u.media_type,
                size=u.size,
                sha256=u.sha256,
                sm3=u.sm3,
            )
            for i, u in enumerate(uploads)
        ]
    )


def do_create_draft(
    organisation: Organisation,
    data: DraftData,
    *,
    attachments: Sequence[StoredUpload] = (),
    acting: Acting,
) -> OutgoingDocument:
    """A drafter (拟稿人) or clerk of the organisation starts a document."""
    user = _user(acting)
    require(user, organisation, Role.DRAFTER, Role.CLERK)
    values = _clean_draft(data, organisation)
    with transaction.atomic():
        doc = OutgoingDocument.objects.create(
            organisation=organisation, drafted_by=user, printer=organisation.name, **values
        )
        _set_parties(doc, data)
        _attach(doc, attachments)
        _event(outgoing=doc, kind=EventKind.CREATED, acting=acting, to_state=doc.state)
        record_audit("documents.created", acting=acting, obj=doc, details={"title": doc.title})
    return doc


def do_update_draft(
    doc: OutgoingDocument,
    data: DraftData,
    *,
    attachments: Sequence[StoredUpload] = (),
    remove_attachments: Sequence[int] = (),
    acting: Acting,
) -> OutgoingDocument:
    user = _user(acting)
    require(user, doc.organisation, Role.DRAFTER, Role.CLERK)
    values = _clean_draft(data, doc.organisation)
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, *EDITABLE)
        for name, value in values.items():
            setattr(doc, name, value)
        doc.save()
        _set_parties(doc, data)
        if remove_attachments:
            doc.attachments.filter(pk__in=list(remove_attachments)).delete()
        _attach(doc, attachments)
        _event(outgoing=doc, kind=EventKind.EDITED, acting=acting)
        record_audit("documents.edited", acting=acting, obj=doc)
    return doc


def _recipients(doc: OutgoingDocument) -> list[tuple[Organisation, str]]:
    return [(d.organisation, d.role) for d in doc.distribution.select_related("organisation")]


def _check_rules(doc: OutgoingDocument) -> None:
    recipients = _recipients(doc)
    if not any(role == RecipientRole.MAIN for _org, role in recipients):
        raise DocumentError(_("Choose at least one main recipient (主送)."), field="recipients")
    check_direction(
        sender=doc.organisation,
        doc_type=doc.doc_type,
        direction=doc.direction,
        classification=doc.classification,
        copy_number=doc.copy_number,
        recipients=recipients,
    )


def do_submit(
    doc: OutgoingDocument, reviewers: Sequence[User], *, acting: Acting
) -> OutgoingDocument:
    """Send the draft to its reviewers (审核), who review one after another in this order."""
    user = _user(acting)
    require(user, doc.organisation, Role.DRAFTER, Role.CLERK)
    if not reviewers:
        raise DocumentError(_("Choose at least one reviewer."), field="reviewers")
    if len({r.pk for r in reviewers}) != len(reviewers):
        raise DocumentError(_("A reviewer is listed twice."), field="reviewers")
    for reviewer in reviewers:
        if not holds(reviewer, doc.organisation, Role.REVIEWER, Role.SIGNER):
            raise DocumentError(
                _("%(name)s is not a reviewer in %(org)s.")
                % {"name": reviewer.full_name or reviewer.username, "org": doc.organisation.name},
                field="reviewers",
            )
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, OutgoingState.DRAFT)
        if not strip_tags(doc.body).strip():
            raise DocumentError(_("The body is empty."), field="body")
        _check_rules(doc)
        doc.reviews.all().delete()
        ReviewStep.objects.bulk_create(
            [
                ReviewStep(
                    document=doc,
                    position=i,
                    reviewer=r,
                    state=ReviewState.CURRENT if i == 0 else ReviewState.WAITING,
                )
                for i, r in enumerate(reviewers)
            ]
        )
        names = "、".join(r.full_name or r.username for r in reviewers)
        fields = _clear_signatures(doc)  # a (re)submitted draft is signed off afresh
        return _move(
            doc, OutgoingState.IN_REVIEW, EventKind.SUBMITTED, acting, text=names, fields=fields
        )


def do_review(
    doc: OutgoingDocument, *, approve: bool, comment: str = "", acting: Acting
) -> OutgoingDocument:
    """The current reviewer approves (the next reviewer, or sign-off, follows) or returns it."""
    user = _user(acting)
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, OutgoingState.IN_REVIEW)
        step = doc.reviews.filter(state=ReviewState.CURRENT).first()
        if step is None or step.reviewer_id != user.pk:
            raise NotPermitted(_("It is not your turn to review this document."))
        now = timezone.now()
        step.comment = comment.strip()[:2000]
        step.decided_at = now
        if not approve:
            step.comment = _reason(comment, "comment")
            step.state = ReviewState.RETURNED
            step.save()
            return _move(doc, OutgoingState.DRAFT, EventKind.RETURNED, acting, text=step.comment)
        step.state = ReviewState.APPROVED
        step.save()
        following = doc.reviews.filter(position__gt=step.position).order_by("position").first()
        if following is not None:
            following.state = ReviewState.CURRENT
            following.save(update_fields=["state"])
            _event(outgoing=doc, kind=EventKind.APPROVED, acting=acting, text=step.comment)
            return doc
        return _move(
            doc, OutgoingState.AWAITING_SIGN_OFF, EventKind.APPROVED, acting, text=step.comment
        )


def _pending_signatories(doc: OutgoingDocument) -> list[Organisation]:
    pending = [] if doc.signed_off_at else [doc.organisation]
    pending += [
        j.organisation
        for j in doc.joint_agencies.select_related("organisation")
        if not j.signed_off_at
    ]
    return pending


def do_sign_off(
    doc: OutgoingDocument, *, approve: bool, comment: str = "", acting: Acting
) -> OutgoingDocument:
    """A signing leader (签发人) of the issuer — or of each co-issuer — signs off or returns it.
    The 成文日期 is the day the last leader signed."""
    user = _user(acting)
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, OutgoingState.AWAITING_SIGN_OFF)
        mine = [o for o in _pending_signatories(doc) if holds(user, o, Role.SIGNER)]
        if not mine:
            raise NotPermitted(_("Only a signing leader (签发人) of the issuer can sign this off."))
        if not approve:
            reason = _reason(comment, "comment")
            fields = _clear_signatures(doc)
            return _move(
                doc, OutgoingState.DRAFT, EventKind.RETURNED, acting, text=reason, fields=fields
            )
        now = timezone.now()
        for org in mine:
            if org.pk == doc.organisation_id:
                doc.signed_off_by = user
                doc.signed_off_at = now
            else:
                doc.joint_agencies.filter(organisation=org).update(
                    signed_off_by=user, signed_off_at=now
                )
        doc.save(update_fields=["signed_off_by", "signed_off_at", "updated_at"])
        text = comment.strip()[:2000]
        if _pending_signatories(doc):
            _event(outgoing=doc, kind=EventKind.SIGNED_OFF, acting=acting, text=text)
            return doc
        doc.document_date = timezone.localdate(now)
        doc.rechecked_at = None
        doc.rechecked_by = None
        return _move(
            doc,
            OutgoingState.SIGNED_OFF,
            EventKind.SIGNED_OFF,
            acting,
            text=text,
            fields=["document_date", "rechecked_at", "rechecked_by"],
        )


def do_recheck(
    doc: OutgoingDocument,
    *,
    title: str | None = None,
    body: str | None = None,
    reason: str = "",
    acting: Acting,
) -> OutgoingDocument:
    """Re-check (复核) after sign-off. Without edits it clears the document for registration; a
    substantive edit of title or body sends it back to sign-off (every signature is cleared)."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK, Role.REVIEWER)
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, OutgoingState.SIGNED_OFF)
        new_title = " ".join(title.split()) if title is not None else doc.title
        new_body = sanitize_body(body) if body is not None else doc.body
        if new_title != doc.title or new_body != doc.body:
            if not new_title:
                raise DocumentError(_("A document needs a title."), field="title")
            if len(new_title) > 200:
                raise DocumentError(_("The title is longer than 200 characters."), field="title")
            doc.title, doc.body = new_title, new_body
            _clear_signatures(doc)
            return _move(
                doc,
                OutgoingState.AWAITING_SIGN_OFF,
                EventKind.RECHECKED,
                acting,
                text=_reason(reason),
                fields=["title", "body", "signed_off_by", "signed_off_at", "document_date"],
            )
        doc.rechecked_by, doc.rechecked_at = user, timezone.now()
        doc.save(update_fields=["rechecked_by", "rechecked_at", "updated_at"])
        _event(outgoing=doc, kind=EventKind.RECHECKED, acting=acting, text=reason.strip())
        return doc


# --- numbering -----------------------------------------------------------------------------------


def next_serial(agency_code: str, year: int) -> int:
    """The next number of a register, under a row lock (call inside a transaction).

    The sequence row is created once (a unique constraint settles a race between two first
    registrations), then locked: concurrent registrations queue on it, and a rolled-back
    registration rolls its number back too, so the numbers have no gaps."""
    NumberSequence.objects.bulk_create(
        [NumberSequence(agency_code=agency_code, year=year)], ignore_conflicts=True
    )
    seq = NumberSequence.objects.select_for_update().get(agency_code=agency_code, year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return seq.last


def format_number(agency_code: str, year: int, serial: int) -> str:
    """冀政办发〔2026〕3号: no 第, no zero padding, the hexagonal brackets."""
    return f"{agency_code}〔{year}〕{serial}号"


def do_register(doc: OutgoingDocument, *, acting: Acting) -> OutgoingDocument:
    """Registration (登记): the 发文字号, unique per agency code and year, gap-free."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, OutgoingState.SIGNED_OFF)
        if doc.rechecked_at is None:
            raise InvalidTransition(
                _("Re-check (复核) the signed-off document before registering it."),
                field="state",
            )
        _check_rules(doc)
        agency_code = (doc.organisation.doc_code or "").strip()
        if not agency_code:
            raise DocumentError(
                _("%(org)s has no agency code (机关代字); an administrator sets it.")
                % {"org": doc.organisation.name},
                field="agency_code",
            )
        year = timezone.localdate().year
        serial = next_serial(agency_code, year)
        doc.agency_code, doc.year, doc.serial = agency_code, year, serial
        doc.number = format_number(agency_code, year, serial)
        doc.registered_at = timezone.now()
        return _move(
            doc,
            OutgoingState.REGISTERED,
            EventKind.REGISTERED,
            acting,
            text=doc.number,
            fields=["agency_code", "year", "serial", "number", "registered_at"],
        )


# --- layout, seal, dispatch ----------------------------------------------------------------------


def layout_input(doc: OutgoingDocument) -> Any:
    """The GB/T 9704 elements of a document, for the layout renderer."""
    from egov.documents.layout import LayoutInput, chinese_date

    agencies = [
        doc.organisation,
        *(j.organisation for j in doc.joint_agencies.select_related("organisation")),
    ]
    recipients = _recipients(doc)
    mains = "、".join(o.name for o, role in recipients if role == RecipientRole.MAIN)
    copies = "，".join(o.name for o, role in recipients if role == RecipientRole.COPY)
    if doc.doc_type in ORDER_TYPES:
        variant, marks = "order", [f"{agencies[0].name}令"]
    elif doc.doc_type in MINUTES_TYPES:
        variant, marks = "minutes", [f"{agencies[0].name}纪要"]
    elif doc.doc_type == DocType.LETTER:
        variant, marks = "letter", [a.name for a in agencies]
    else:
        variant = "standard"
        marks = [f"{agencies[0].name}文件"] if len(agencies) == 1 else [a.name for a in agencies]
    signers: list[str] = []
    if doc.direction == Direction.UPWARD:
        if doc.signed_off_by is not None:
            signers.append(doc.signed_off_by.full_name or doc.signed_off_by.username)
        for j in doc.joint_agencies.select_related("signed_off_by"):
            if j.signed_off_by is not None:
                signers.append(j.signed_off_by.full_name or j.signed_off_by.username)
    classification = ""
    if doc.classification != Classification.NONE:
        classification = {
            Classification.SECRET: "秘密",
            Classification.CONFIDENTIAL: "机密",
            Classification.TOP_SECRET: "绝密",
        }[Classification(doc.classification)]
        if doc.secrecy_period:
            classification += f"★{doc.secrecy_period}"
    urgency = {Urgency.URGENT: "加急", Urgency.EXTRA_URGENT: "特急"}.get(Urgency(doc.urgency), "")
    day = doc.document_date or timezone.localdate()
    printed = doc.registered_at.date() if doc.registered_at else timezone.localdate()
    return LayoutInput(
        variant=variant,
        agency_marks=marks,
        number=doc.number,
        title=doc.title,
        main_recipients=mains,
        body_html=doc.body,
        date_text=chinese_date(day),
        signatories=[a.name for a in agencies],
        copy_number=doc.copy_number,
        classification=classification,
        urgency=urgency,
        signers=signers,
        attachments=[a.name for a in doc.attachments.all()],
        note=doc.note,
        copies_to=copies,
        printer=doc.printer or doc.organisation.name,
        print_date_text=chinese_date(printed) + "印发",
        attendees=doc.attendees,
        absentees=doc.absentees,
        observers=doc.observers,
    )


def do_render(doc: OutgoingDocument, *, acting: Acting) -> OutgoingDocument:
    """Lay the registered document out as a GB/T 9704 PDF (印制); its hash is frozen."""
    from egov.documents.layout import render_pdf

    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    _expect(doc, OutgoingState.REGISTERED)
    data = layout_input(doc)
    store = PartStore()
    with tempfile.TemporaryFile() as out:  # rendered outside the transaction (seconds)
        result = render_pdf(data, out)
        out.seek(0)
        sha, sm3, _size = store.put_stream(out)
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, OutgoingState.REGISTERED)
        doc.pdf_sha256, doc.pdf_sm3, doc.pdf_pages = sha, sm3, result.pages
        doc.seal_spots = [
            {"page": s.page, "box": list(s.box), "signatory_index": s.signatory_index}
            for s in result.seal_spots
        ]
        doc.rendered_at = timezone.now()
        return _move(
            doc,
            OutgoingState.RENDERED,
            EventKind.RENDERED,
            acting,
            text=ngettext("%(pages)d page", "%(pages)d pages", result.pages)
            % {"pages": result.pages},
            fields=["pdf_sha256", "pdf_sm3", "pdf_pages", "seal_spots", "rendered_at"],
        )


def do_seal(doc: OutgoingDocument, *, acting: Acting) -> OutgoingDocument:
    """Apply the seal (用印): a PAdES signature with each issuing agency's seal certificate,
    visible over its signature line; a joint issue carries every agency's seal."""
    from egov.documents.pdfseal import SealRequest, seal_pdf
    from egov.exchange.sealing import seal_for

    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    _expect(doc, OutgoingState.RENDERED)
    agencies = [
        doc.organisation,
        *(j.organisation for j in doc.joint_agencies.select_related("organisation")),
    ]
    requests = []
    for spot in doc.seal_spots:
        index = int(spot["signatory_index"])
        if index >= len(agencies):
            continue
        requests.append(
            SealRequest(
                certificate=seal_for(agencies[index]),
                page=int(spot["page"]),
                box=(
                    float(spot["box"][0]),
                    float(spot["box"][1]),
                    float(spot["box"][2]),
                    float(spot["box"][3]),
                ),
                field_name=f"seal-{index + 1}",
            )
        )
    if len(requests) != len(agencies):
        raise DocumentError(_("The layout has no place for every agency's seal."), field="seal")
    store = PartStore()
    with store.open(doc.pdf_sha256) as source, tempfile.TemporaryFile() as out:
        seal_pdf(
            cast(BinaryIO, source), out, requests, reason=doc.number, location=doc.organisation.name
        )
        size = out.tell()
        out.seek(0)
        sha, sm3, _size = store.put_stream(out)
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, OutgoingState.RENDERED)
        doc.sealed_sha256, doc.sealed_sm3, doc.sealed_size = sha, sm3, size
        doc.sealed_at = timezone.now()
        return _move(
            doc,
            OutgoingState.SEALED,
            EventKind.SEALED,
            acting,
            fields=["sealed_sha256", "sealed_sm3", "sealed_size", "sealed_at"],
        )


def exchange_payload(doc: OutgoingDocument) -> dict[str, Any]:
    recipients = _recipients(doc)
    return {
        "document": {
            "uuid": str(doc.uuid),
            "doc_type": doc.doc_type,
            "number": doc.number,
            "title": doc.title,
            "urgency": doc.urgency,
            "classification": doc.classification,
            "document_date": doc.document_date.isoformat() if doc.document_date else None,
            "reply_due": doc.reply_due.isoformat() if doc.reply_due else None,
            "issuer": doc.organisation.name,
            "main": [o.code for o, role in recipients if role == RecipientRole.MAIN],
            "copies": [o.code for o, role in recipients if role == RecipientRole.COPY],
            "text": strip_tags(doc.body)[:100_000],
        }
    }


def do_dispatch(doc: OutgoingDocument, *, acting: Acting) -> OutgoingDocument:
    """Dispatch (核发): one envelope per recipient through the exchange, in one transaction with
    the state change, so a dispatch happens once or not at all."""
    from egov.exchange import services as exchange
    from egov.exchange.envelope import PartSpec

    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_out(doc)
        _expect(doc, OutgoingState.SEALED)
        if doc.classification != Classification.NONE:
            raise DocumentError(
                _("A classified document cannot be sent through the exchange."),
                field="classification",
            )
        _check_rules(doc)
        parts = [
            PartSpec(
                PDF_PART, "application/pdf", doc.sealed_size, doc.sealed_sha256, doc.sealed_sm3
            )
        ]
        for i, a in enumerate(doc.attachments.all(), start=1):
            parts.append(PartSpec(f"{i}-{a.name}", a.media_type, a.size, a.sha256, a.sm3))
        rows = list(doc.distribution.select_related("organisation"))
        deliveries = exchange.do_dispatch(
            kind=DOCUMENT_KIND,
            sender=doc.organisation,
            recipients=[d.organisation for d in rows],
            payload=exchange_payload(doc),
            parts=parts,
            title=f"{doc.number} {doc.title}",
            acting=acting,
        )
        for row, delivery in zip(rows, deliveries, strict=True):
            row.envelope_id = delivery.envelope_id
            row.state = DistributionState.PENDING
        Distribution.objects.bulk_update(rows, ["envelope_id", "state"])
        doc.dispatched_at, doc.dispatched_by = timezone.now(), user
        return _move(
            doc,
            OutgoingState.DISPATCHED,
            EventKind.DISPATCHED,
            acting,
            text=ngettext("%(n)d recipient", "%(n)d recipients", len(rows)) % {"n": len(rows)},
            fields=["dispatched_at", "dispatched_by"],
        )


def do_recall(distribution: Distribution, *, acting: Acting) -> Distribution:
    """Recall (撤回) one recipient's copy before it is signed for; the exchange carries it."""
    from egov.exchange import services as exchange
    from egov.exchange.choices import DeliveryState
    from egov.exchange.models import Delivery

    user = _user(acting)
    doc = distribution.document
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        row = Distribution.objects.select_for_update().get(pk=distribution.pk)
        if row.state == DistributionState.RECALLED:
            raise InvalidTransition(_("This copy has already been recalled."), field="state")
        if row.state in (DistributionState.SIGNED_FOR, DistributionState.RETURNED):
            raise InvalidTransition(
                _("This copy has been signed for or returned; it can no longer be recalled."),
                field="state",
            )
        delivery = (
            Delivery.objects.filter(envelope_id=row.envelope_id).first()
            if row.envelope_id
            else None
        )
        if delivery is None:
            raise InvalidTransition(_("This copy was never sent."), field="state")
        if delivery.state != DeliveryState.DELIVERED:
            # A recall overtaking its document would find nothing to recall there.
            raise InvalidTransition(
                _("This copy has not reached the recipient yet; recall it once it is delivered."),
                field="state",
            )
        # The row now says "recall sent"; the recipient's signed answer settles it (selectors).
        exchange.do_recall(delivery, acting=acting)
        row.state = DistributionState.RECALLED
        row.save(update_fields=["state", "updated_at"])
        _event(
            outgoing=doc,
            kind=EventKind.RECALLED,
            acting=acting,
            text=row.organisation.name,
        )
        record_audit(
            "documents.recalled",
            acting=acting,
            obj=doc,
            details={"recipient": row.organisation.code},
        )
    return row


# --- receiving (收文) -----------------------------------------------------------------------------


def _answer_sender(
    doc: IncomingDocument, kind: str, payload: dict[str, Any], acting: Acting
) -> None:
    """A sign-for or a return travels back to the issuer as an envelope of its own."""
    from egov.exchange import services as exchange

    sender = Organisation.objects.filter(code=doc.sender_code).first()
    if sender is None:  # not in our directory: say so in the history rather than pretend
        _event(
            incoming=doc,
            kind=EventKind.SIGNED_FOR if kind == SIGNED_FOR_KIND else EventKind.RETURNED,
            acting=acting,
            text=_("The issuer is not in this node's directory and could not be told."),
        )
        return
    exchange.do_dispatch(
        kind=kind,
        sender=doc.organisation,
        recipients=[sender],
        payload={
            "envelope_id": str(doc.envelope_id),
            "document": str(doc.source_uuid or ""),
            **payload,
        },
        title=f"{doc.number} {doc.title}",
        in_reply_to=str(doc.envelope_id),
        acting=acting,
    )


def do_sign_for(doc: IncomingDocument, *, acting: Acting) -> IncomingDocument:
    """Sign for (签收) a received document; a signed-for notice goes back to the issuer."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.RECEIVED)
        doc.signed_for_by, doc.signed_for_at = user, timezone.now()
        _answer_sender(
            doc,
            SIGNED_FOR_KIND,
            {"signed_for_at": doc.signed_for_at.isoformat(), "by": user.full_name or user.username},
            acting,
        )
        return _move_in(
            doc,
            IncomingState.SIGNED_FOR,
            EventKind.SIGNED_FOR,
            acting,
            fields=["signed_for_by", "signed_for_at"],
        )


def incoming_register_code(org: Organisation) -> str:
    return f"{(org.doc_code or org.short_name or org.name).strip()}收"


def do_register_incoming(doc: IncomingDocument, *, acting: Acting) -> IncomingDocument:
    """Register (登记) with the office's own 收文编号, gap-free per year like outgoing numbers."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.SIGNED_FOR)
        code = incoming_register_code(doc.organisation)
        year = timezone.localdate().year
        serial = next_serial(f"in:{doc.organisation.code}", year)
        doc.register_number = format_number(code, year, serial)
        return _move_in(
            doc,
            IncomingState.REGISTERED,
            EventKind.REGISTERED,
            acting,
            text=doc.register_number,
            fields=["register_number"],
        )


def do_screen(
    doc: IncomingDocument, *, accept: bool, reason: str = "", acting: Acting
) -> IncomingDocument:
    """Screening (初审): ours and in order, or returned (退回) to the issuer with the reason."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.REGISTERED)
        if accept:
            return _move_in(
                doc, IncomingState.SCREENED, EventKind.SCREENED, acting, text=reason.strip()
            )
        doc.returned_reason = _reason(reason)
        _answer_sender(doc, RETURNED_KIND, {"reason": doc.returned_reason}, acting)
        return _move_in(
            doc,
            IncomingState.RETURNED,
            EventKind.RETURNED,
            acting,
            text=doc.returned_reason,
            fields=["returned_reason"],
        )


def do_propose(doc: IncomingDocument, *, text: str, acting: Acting) -> IncomingDocument:
    """Proposed handling (拟办) by the office, for the leader's instruction."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.SCREENED)
        doc.proposal, doc.proposed_by = _required(text, "text"), user
        return _move_in(
            doc,
            IncomingState.PROPOSED,
            EventKind.PROPOSED,
            acting,
            text=doc.proposal,
            fields=["proposal", "proposed_by"],
        )


def do_instruct(
    doc: IncomingDocument, *, text: str, reply_due: date | None = None, acting: Acting
) -> IncomingDocument:
    """A leader's instruction (批示): text with the leader's name and time."""
    user = _user(acting)
    require(user, doc.organisation, Role.SIGNER)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.PROPOSED, IncomingState.SCREENED)
        doc.instruction, doc.instructed_by = _required(text, "text"), user
        doc.instructed_at = timezone.now()
        if reply_due is not None:
            doc.reply_due = reply_due
        return _move_in(
            doc,
            IncomingState.INSTRUCTED,
            EventKind.INSTRUCTED,
            acting,
            text=doc.instruction,
            fields=["instruction", "instructed_by", "instructed_at", "reply_due"],
        )


def do_assign(
    doc: IncomingDocument,
    *,
    lead: Organisation,
    assisting: Sequence[Organisation] = (),
    readers: Sequence[User] = (),
    reply_due: date | None = None,
    acting: Acting,
) -> IncomingDocument:
    """Assignment (分办) to a lead unit and assisting units; circulation (传阅) to readers."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    allowed = set(selectors.handling_units(doc.organisation).values_list("pk", flat=True))
    units = [lead, *assisting]
    if any(u.pk not in allowed for u in units):
        raise DocumentError(_("Assign to this office or its own units."), field="units")
    if len({u.pk for u in units}) != len(units):
        raise DocumentError(_("A unit is listed twice."), field="units")
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.INSTRUCTED, IncomingState.PROPOSED, IncomingState.SCREENED)
        Assignment.objects.bulk_create(
            [Assignment(document=doc, unit=u, is_lead=(i == 0)) for i, u in enumerate(units)]
        )
        Circulation.objects.bulk_create(
            [Circulation(document=doc, reader=r) for r in readers], ignore_conflicts=True
        )
        if reply_due is not None:
            doc.reply_due = reply_due
        text = "、".join(u.name for u in units)
        _notify_handlers(doc, units, acting)
        return _move_in(
            doc,
            IncomingState.IN_HANDLING,
            EventKind.ASSIGNED,
            acting,
            text=text,
            fields=["reply_due"],
        )


def _notify_handlers(
    doc: IncomingDocument,
    units: Sequence[Organisation],
    acting: Acting,
    *,
    kind: str = "documents.assigned",
    title: str = "",
) -> None:
    """Tell the handlers of the units (their clerks when a unit has no handler)."""
    from egov.core.notifications import do_notify

    unit_ids = [u.pk for u in units]
    people = selectors.people_holding(unit_ids, [Role.HANDLER])
    if not people.exists():
        people = selectors.people_holding(unit_ids, [Role.CLERK])
    do_notify(
        people,
        kind=kind,
        title=title or _("Document to handle: %(title)s") % {"title": doc.title},
        url=f"/documents/in/{doc.uuid}/",
        acting=acting,
    )


def do_circulate(
    doc: IncomingDocument, readers: Sequence[User], *, acting: Acting
) -> IncomingDocument:
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.IN_HANDLING, IncomingState.INSTRUCTED, IncomingState.ANSWERED)
        Circulation.objects.bulk_create(
            [Circulation(document=doc, reader=r) for r in readers], ignore_conflicts=True
        )
        _event(
            incoming=doc,
            kind=EventKind.ASSIGNED,
            acting=acting,
            text="、".join(r.full_name or r.username for r in readers),
        )
    return doc


def do_mark_read(doc: IncomingDocument, *, acting: Acting) -> bool:
    """The reader has read a circulated document (传阅); once."""
    user = _user(acting)
    with transaction.atomic():
        done = Circulation.objects.filter(document=doc, reader=user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if done:
            _event(incoming=doc, kind=EventKind.READ, acting=acting)
    return bool(done)


def do_handle(assignment: Assignment, *, result: str, acting: Acting) -> Assignment:
    """A handling unit (承办) reports what it did."""
    user = _user(acting)
    require(user, assignment.unit, Role.HANDLER, Role.CLERK)
    with transaction.atomic():
        doc = _lock_in(assignment.document)
        _expect(doc, IncomingState.IN_HANDLING)
        row = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if row.state == AssignmentState.DONE:
            raise InvalidTransition(_("This unit has already reported."), field="state")
        row.result, row.state, row.done_by, row.done_at = (
            _required(result, "result"),
            AssignmentState.DONE,
            user,
            timezone.now(),
        )
        row.save()
        _event(
            incoming=doc,
            kind=EventKind.HANDLED,
            acting=acting,
            text=f"{row.unit.name}：{row.result}",
        )
        record_audit(
            "documents.incoming.handled", acting=acting, obj=doc, details={"unit": row.unit.code}
        )
    return row


def do_answer(
    doc: IncomingDocument,
    *,
    note: str = "",
    reply: OutgoingDocument | None = None,
    acting: Acting,
) -> IncomingDocument:
    """Answer (答复): a note, or a reply document linked to this one."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK, Role.HANDLER)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.IN_HANDLING)
        if doc.assignments.filter(is_lead=True, state=AssignmentState.OPEN).exists():
            raise InvalidTransition(_("The lead unit has not reported yet."), field="state")
        if reply is not None:
            if reply.organisation_id != doc.organisation_id:
                raise DocumentError(
                    _("The reply must be a document of this office."), field="reply"
                )
            OutgoingDocument.objects.filter(pk=reply.pk).update(in_reply_to=doc)
        elif not note.strip():
            raise DocumentError(_("Write the answer or link a reply document."), field="note")
        doc.answer_note = note.strip()[:4000]
        text = doc.answer_note or (reply.number or reply.title if reply else "")
        return _move_in(
            doc,
            IncomingState.ANSWERED,
            EventKind.ANSWERED,
            acting,
            text=text,
            fields=["answer_note"],
        )


def do_close(doc: IncomingDocument, *, acting: Acting) -> IncomingDocument:
    """Close (办结): every unit has reported."""
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.ANSWERED, IncomingState.IN_HANDLING)
        if doc.assignments.filter(state=AssignmentState.OPEN).exists():
            raise InvalidTransition(_("A handling unit has not reported yet."), field="state")
        doc.closed_at = timezone.now()
        return _move_in(doc, IncomingState.CLOSED, EventKind.CLOSED, acting, fields=["closed_at"])


def do_archive(doc: IncomingDocument, *, acting: Acting) -> IncomingDocument:
    user = _user(acting)
    require(user, doc.organisation, Role.CLERK)
    with transaction.atomic():
        doc = _lock_in(doc)
        _expect(doc, IncomingState.CLOSED)
        doc.archived_at = timezone.now()
        return _move_in(
            doc, IncomingState.ARCHIVED, EventKind.ARCHIVED, acting, fields=["archived_at"]
        )


def chase_level(doc: IncomingDocument, today: date) -> str:
    """How urgently a document in handling needs chasing (催办): '', 'due' or 'overdue'.
    Reminders start earlier for urgent documents (特急 3 days, 加急 2 days, else 1 day before)."""
    if doc.reply_due is None:
        return ""
    lead = {Urgency.EXTRA_URGENT: 3, Urgency.URGENT: 2}.get(Urgency(doc.urgency), 1)
    days = (doc.reply_due - today).days
    if days < 0:
        return "overdue"
    return "due" if days <= lead else ""


def do_chase_due(*, acting: Acting, today: date | None = None) -> int:
    """Remind the handling units of documents coming due or overdue, once a day each."""
    today = today or timezone.localdate()
    sent = 0
    rows = IncomingDocument.objects.filter(
        state=IncomingState.IN_HANDLING, reply_due__isnull=False
    ).exclude(last_chased_at__date=today)
    due = [doc.pk for doc in rows.only("pk", "reply_due", "urgency") if chase_level(doc, today)]
    for pk in due:
        with transaction.atomic():
            locked = IncomingDocument.objects.select_for_update().get(pk=pk)
            level = chase_level(locked, today)
            if not level or locked.state != IncomingState.IN_HANDLING:
                continue
            if locked.last_chased_at and timezone.localdate(locked.last_chased_at) == today:
                continue
            units = [
                a.unit
                for a in locked.assignments.filter(state=AssignmentState.OPEN).select_related(
                    "unit"
                )
            ]
            if level == "overdue":
                title = _("Overdue: %(title)s (reply was due %(due)s)")
            else:
                title = _("Reminder: %(title)s (reply due %(due)s)")
            _notify_handlers(
                locked,
                units,
                acting,
                kind="documents.chased",
                title=title % {"title": locked.title, "due": locked.reply_due},
            )
            locked.last_chased_at = timezone.now()
            locked.save(update_fields=["last_chased_at", "updated_at"])
            note = _("Overdue") if level == "overdue" else _("Reply due soon")
            _event(incoming=locked, kind=EventKind.CHASED, acting=acting, text=str(note))
        sent += 1
    return sent
