"""Protected reads of official documents. Outside the person's scope: 404, never 403.

Scope: a person sees the outgoing documents of the organisations where they hold a position (the
issuer and co-issuers), and the incoming documents of those organisations, of the units assigned
to handle them, and those circulated to them. Lists run a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404

from egov.core.selectors import parse_public_id
from egov.documents.choices import (
    AssignmentState,
    DistributionState,
    IncomingState,
    OutgoingState,
    ReviewState,
)
from egov.documents.models import Assignment, Distribution, IncomingDocument, OutgoingDocument
from egov.documents.rules import holds
from egov.exchange.envelope import PartStore
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, Position, User


def my_organisation_ids(user: User) -> list[int]:
    cached: list[int] | None = getattr(user, "_documents_orgs", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        return []
    ids = list(
        Position.objects.filter(user=user, is_active=True, organisation__is_active=True)
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    setattr(user, "_documents_orgs", ids)  # noqa: B010 -- per-request cache
    return ids


def visible_outgoing(user: User) -> QuerySet[OutgoingDocument]:
    orgs = my_organisation_ids(user)
    return OutgoingDocument.objects.filter(
        Q(organisation_id__in=orgs) | Q(joint_agencies__organisation_id__in=orgs)
    ).distinct()


def visible_incoming(user: User) -> QuerySet[IncomingDocument]:
    orgs = my_organisation_ids(user)
    return IncomingDocument.objects.filter(
        Q(organisation_id__in=orgs)
        | Q(assignments__unit_id__in=orgs)
        # circulated to them while they still work in one of the office's units
        | Q(circulation__reader=user, organisation__children__in=orgs)
    ).distinct()


def access_outgoing(user: User, public_id: Any) -> OutgoingDocument:
    uid = parse_public_id(public_id)
    doc = (
        visible_outgoing(user)
        .filter(uuid=uid)
        .select_related("organisation", "drafted_by", "signed_off_by", "rechecked_by")
        .first()
    )
    if doc is None:
        raise Http404("No such document.")
    return doc


def access_incoming(user: User, public_id: Any) -> IncomingDocument:
    uid = parse_public_id(public_id)
    doc = (
        visible_incoming(user)
        .filter(uuid=uid)
        .select_related("organisation", "signed_for_by", "instructed_by", "proposed_by")
        .first()
    )
    if doc is None:
        raise Http404("No such document.")
    return doc


def access_incoming_files(user: User, public_id: Any) -> IncomingDocument:
    """A received document whose PDF and attachments may be opened: not once it is recalled."""
    doc = access_incoming(user, public_id)
    if doc.state == IncomingState.RECALLED:
        raise Http404("The issuer recalled this document.")
    return doc


def access_assignment(user: User, doc: IncomingDocument, assignment_id: Any) -> Assignment:
    try:
        pk = int(assignment_id)
    except (TypeError, ValueError) as exc:
        raise Http404("No such assignment.") from exc
    row = doc.assignments.filter(pk=pk).select_related("unit", "document").first()
    if row is None:
        raise Http404("No such assignment.")
    return row


def _search(
    qs: QuerySet[Any],
    *,
    states: list[str],
    date_field: str,
    text_fields: tuple[str, ...],
    query: str,
    state: str,
    doc_type: str,
    since: date | None,
    until: date | None,
) -> QuerySet[Any]:
    """The filters both registers share: state, type, a date range and up to five words, each
    of which must appear in one of `text_fields`."""
    if state in states:
        qs = qs.filter(state=state)
    if doc_type:
        qs = qs.filter(doc_type=doc_type)
    if since:
        qs = qs.filter(**{f"{date_field}__date__gte": since})
    if until:
        qs = qs.filter(**{f"{date_field}__date__lte": until})
    for word in query.split()[:5]:
        match = Q()
        for name in text_fields:
            match |= Q(**{f"{name}__icontains": word})
        qs = qs.filter(match)
    return qs.order_by(f"-{date_field}", "-id")


def list_outgoing_for(
    user: User,
    *,
    query: str = "",
    state: str = "",
    doc_type: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[OutgoingDocument]:
    return _search(
        visible_outgoing(user).select_related("organisation"),
        states=OutgoingState.values,
        date_field="created_at",
        text_fields=("number", "title", "body", "organisation__name"),
        query=query,
        state=state,
        doc_type=doc_type,
        since=since,
        until=until,
    )


def list_incoming_for(
    user: User,
    *,
    query: str = "",
    state: str = "",
    doc_type: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[IncomingDocument]:
    return _search(
        visible_incoming(user).select_related("organisation"),
        states=IncomingState.values,
        date_field="received_at",
        text_fields=("number", "title", "body_text", "sender_name", "register_number"),
        query=query,
        state=state,
        doc_type=doc_type,
        since=since,
        until=until,
    )


# A copy's state before it is signed for, returned or recalled is the exchange delivery's.
DELIVERY_STATES = {
    "delivered": DistributionState.DELIVERED,
    "failed": DistributionState.FAILED,
    "returned": DistributionState.RETURNED,
}


@dataclass(frozen=True)
class CopyState:
    """A recipient of an outgoing document and what became of its copy."""

    row: Distribution
    state: str

    @property
    def label(self) -> str:
        return str(DistributionState(self.state).label)


def distribution_states(doc: OutgoingDocument) -> list[CopyState]:
    """Each recipient with its copy's state (two queries: the rows and their deliveries)."""
    from egov.exchange.models import Delivery

    rows = list(doc.distribution.select_related("organisation"))
    envelopes = [r.envelope_id for r in rows if r.envelope_id]
    deliveries = dict(
        Delivery.objects.filter(envelope_id__in=envelopes).values_list("envelope_id", "state")
    )
    recalls = _recall_answers(
        [r.envelope_id for r in rows if r.state == DistributionState.RECALLED]
    )
    out = []
    for row in rows:
        state = row.state
        if state == DistributionState.PENDING and row.envelope_id in deliveries:
            state = DELIVERY_STATES.get(str(deliveries[row.envelope_id]), state)
        elif state == DistributionState.RECALLED:
            state = recalls.get(row.envelope_id, DistributionState.RECALL_REQUESTED)
        out.append(CopyState(row, state))
    return out


def _recall_answers(envelope_ids: list[Any]) -> dict[Any, str]:
    """For copies whose recall was sent: RECALLED or RECALL_REFUSED once the recipient's signed
    answer (RECALL_ACK) is in; missing while it travels (one query)."""
    import io

    from egov.exchange.choices import DeliveryState, Kind
    from egov.exchange.envelope import EnvelopeError, parse_package
    from egov.exchange.models import Delivery

    if not envelope_ids:
        return {}
    answers: dict[Any, str] = {}
    done = Delivery.objects.filter(
        kind=Kind.RECALL, in_reply_to__in=envelope_ids, state=DeliveryState.DELIVERED
    ).values_list("in_reply_to", "reply")
    for original, reply in done:
        if reply is None:
            continue
        try:
            status = parse_package(io.BytesIO(bytes(reply))).manifest["payload"].get("status")
        except (EnvelopeError, KeyError, TypeError):
            continue
        answers[original] = (
            DistributionState.RECALLED if status == "recalled" else DistributionState.RECALL_REFUSED
        )
    return answers


def outgoing_actions(user: User, doc: OutgoingDocument, copies: list[CopyState]) -> list[str]:
    """The steps the person may take on the document now (the pages and the API offer these)."""
    state = doc.state
    org = doc.organisation
    drafter = holds(user, org, Role.DRAFTER, Role.CLERK)
    clerk = holds(user, org, Role.CLERK)
    actions: list[str] = []
    if state == OutgoingState.DRAFT and drafter:
        actions += ["edit", "submit"]
    if state == OutgoingState.IN_REVIEW:
        current = doc.reviews.filter(state=ReviewState.CURRENT).first()
        if current is not None and current.reviewer_id == user.pk:
            actions.append("review")
    if state == OutgoingState.AWAITING_SIGN_OFF:
        pending = [] if doc.signed_off_at else [org]
        pending += [j.organisation for j in doc.joint_agencies.all() if not j.signed_off_at]
        if any(holds(user, o, Role.SIGNER) for o in pending):
            actions.append("sign_off")
    if state == OutgoingState.SIGNED_OFF:
        if clerk or holds(user, org, Role.REVIEWER):
            actions.append("recheck")
        if clerk and doc.rechecked_at is not None:
            actions.append("register")
    steps = {
        OutgoingState.REGISTERED: "render",
        OutgoingState.RENDERED: "seal",
        OutgoingState.SEALED: "dispatch",
    }
    if clerk and state in steps:
        actions.append(steps[OutgoingState(state)])
    final = {
        DistributionState.SIGNED_FOR,
        DistributionState.RETURNED,
        DistributionState.RECALLED,
        DistributionState.RECALL_REQUESTED,
        DistributionState.RECALL_REFUSED,
        DistributionState.PENDING,
        DistributionState.FAILED,
    }
    if (
        clerk
        and state == OutgoingState.DISPATCHED
        and any(c.state not in final and c.row.envelope_id for c in copies)
    ):
        actions.append("recall")
    return actions


def incoming_actions(
    user: User, doc: IncomingDocument, assignments: list[Any], circulation: list[Any]
) -> list[str]:
    """The steps the person may take on the received document now."""
    state = doc.state
    org = doc.organisation
    clerk = holds(user, org, Role.CLERK)
    actions: list[str] = []
    steps = {
        IncomingState.RECEIVED: "sign_for",
        IncomingState.SIGNED_FOR: "register",
        IncomingState.REGISTERED: "screen",
        IncomingState.SCREENED: "propose",
        IncomingState.CLOSED: "archive",
    }
    if clerk and state in steps:
        actions.append(steps[IncomingState(state)])
    if state in (IncomingState.SCREENED, IncomingState.PROPOSED) and holds(user, org, Role.SIGNER):
        actions.append("instruct")
    if clerk and state in (
        IncomingState.SCREENED,
        IncomingState.PROPOSED,
        IncomingState.INSTRUCTED,
    ):
        actions.append("assign")
    if clerk and state in (
        IncomingState.INSTRUCTED,
        IncomingState.IN_HANDLING,
        IncomingState.ANSWERED,
    ):
        actions.append("circulate")
    open_rows = [a for a in assignments if a.state == AssignmentState.OPEN]
    if state == IncomingState.IN_HANDLING:
        if any(holds(user, a.unit, Role.HANDLER, Role.CLERK) for a in open_rows):
            actions.append("handle")
        lead_open = any(a.is_lead for a in open_rows)
        if not lead_open and holds(user, org, Role.CLERK, Role.HANDLER):
            actions.append("answer")
    if clerk and state in (IncomingState.IN_HANDLING, IncomingState.ANSWERED) and not open_rows:
        actions.append("close")
    if any(c.reader_id == user.pk and c.read_at is None for c in circulation):
        actions.append("read")
    return actions


# --- who may be chosen (the pages and the API offer the same people) ----------------------------


def people_holding(org_ids: Iterable[int], roles: Iterable[str] = ()) -> QuerySet[User]:
    """Active people with an active position in one of the organisations (holding one of
    `roles`, when given), by name."""
    positions = Position.objects.filter(organisation_id__in=list(org_ids), is_active=True)
    wanted = [str(r) for r in roles]
    if wanted:
        positions = positions.filter(role_grants__role__in=wanted)
    return User.objects.filter(is_active=True, pk__in=positions.values("user_id")).order_by(
        "full_name", "username"
    )


def drafting_organisations(user: User) -> QuerySet[Organisation]:
    """Where the person may draft (拟稿人 or 收发员), in tree order."""
    return (
        Organisation.objects.filter(
            is_active=True,
            positions__user=user,
            positions__is_active=True,
            positions__role_grants__role__in=[Role.DRAFTER, Role.CLERK],
        )
        .distinct()
        .order_by("path")
    )


def reviewer_candidates(doc: OutgoingDocument) -> QuerySet[User]:
    return people_holding([doc.organisation_id], [Role.REVIEWER, Role.SIGNER])


def handling_units(org: Organisation) -> QuerySet[Organisation]:
    """Units a received document can be assigned to (分办): the office and its internal units."""
    from egov.orgs.choices import OrgKind

    return Organisation.objects.filter(
        Q(pk=org.pk) | Q(parent_id=org.pk, kind=OrgKind.INTERNAL_UNIT, is_active=True)
    ).order_by("path")


def reader_candidates(doc: IncomingDocument) -> QuerySet[User]:
    """People a received document can circulate to (传阅): those of the handling units."""
    return people_holding(handling_units(doc.organisation).values_list("pk", flat=True))


def stored_file_response(
    sha256: str, filename: str, media_type: str, *, as_attachment: bool = False
) -> FileResponse:
    """A file of the part store as the response (404 while it is not made yet or is missing)."""
    if not sha256:
        raise Http404("No file yet.")
    try:
        handle = PartStore().open(sha256)
    except FileNotFoundError as exc:
        raise Http404("File missing.") from exc
    return FileResponse(
        handle, as_attachment=as_attachment, filename=filename, content_type=media_type
    )
