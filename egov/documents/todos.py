"""To-dos of the documents app: what waits for the person at each step of both flows.

Reviewers: drafts at their turn. Signing leaders: documents to sign off and received documents to
instruct. Clerks: signed-off documents to re-check and register, lay out, seal and dispatch;
received documents to sign for, register, screen, propose, assign, close. Handlers: assignments
of their units. Readers: circulated documents not yet read. One query per kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from egov.core.choices import DeadlineState
from egov.core.todos import TodoItem
from egov.documents.choices import AssignmentState, IncomingState, OutgoingState, ReviewState
from egov.documents.models import IncomingDocument, OutgoingDocument
from egov.documents.rules import role_grants
from egov.orgs.choices import Role
from egov.orgs.models import User

CLERK_OUT = {
    OutgoingState.SIGNED_OFF: ("recheck", _("Re-check and register: %(t)s")),
    OutgoingState.REGISTERED: ("render", _("Lay out: %(t)s")),
    OutgoingState.RENDERED: ("seal", _("Seal: %(t)s")),
    OutgoingState.SEALED: ("dispatch", _("Dispatch: %(t)s")),
}
CLERK_IN = {
    IncomingState.RECEIVED: ("sign_for", _("Sign for: %(t)s")),
    IncomingState.SIGNED_FOR: ("register_in", _("Register: %(t)s")),
    IncomingState.REGISTERED: ("screen", _("Screen: %(t)s")),
    IncomingState.SCREENED: ("propose", _("Propose handling: %(t)s")),
    IncomingState.INSTRUCTED: ("assign", _("Assign: %(t)s")),
    IncomingState.ANSWERED: ("close", _("Close: %(t)s")),
}


def _orgs_with(user: User, role: str) -> list[int]:
    return sorted(org_id for org_id, held in role_grants(user) if held == str(role))


def _due(doc: object) -> datetime | None:
    day = getattr(doc, "reply_due", None)
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59))) if day else None


class DocumentTodoProvider:
    subsystem = "documents"
    label = _("Official documents")

    def _queries(
        self, user: User
    ) -> list[tuple[str, QuerySet, Callable[[object], str], Callable[[object], str]]]:
        """(kind, queryset, title, url) for each kind of to-do the user may have."""
        out: list[tuple[str, QuerySet, Callable[[object], str], Callable[[object], str]]] = []
        out_url: Callable[[object], str] = lambda d: f"/documents/out/{d.uuid}/"  # type: ignore[attr-defined]  # noqa: E731
        in_url: Callable[[object], str] = lambda d: f"/documents/in/{d.uuid}/"  # type: ignore[attr-defined]  # noqa: E731
        out.append(
            (
                "review",
                OutgoingDocument.objects.filter(
                    state=OutgoingState.IN_REVIEW,
                    reviews__reviewer=user,
                    reviews__state=ReviewState.CURRENT,
                ),
                lambda d: gettext("Review: %(t)s") % {"t": d.title},  # type: ignore[attr-defined]
                out_url,
            )
        )
        signer_orgs = _orgs_with(user, Role.SIGNER)
        if signer_orgs:
            out.append(
                (
                    "sign_off",
                    OutgoingDocument.objects.filter(state=OutgoingState.AWAITING_SIGN_OFF)
                    .filter(
                        Q(organisation_id__in=signer_orgs, signed_off_at__isnull=True)
                        | Q(
                            joint_agencies__organisation_id__in=signer_orgs,
                            joint_agencies__signed_off_at__isnull=True,
                        )
                    )
                    .distinct(),
                    lambda d: gettext("Sign off: %(t)s") % {"t": d.title},  # type: ignore[attr-defined]
                    out_url,
                )
            )
            out.append(
                (
                    "instruct",
                    IncomingDocument.objects.filter(
                        state=IncomingState.PROPOSED, organisation_id__in=signer_orgs
                    ),
                    lambda d: gettext("Instruct: %(t)s") % {"t": d.title},  # type: ignore[attr-defined]
                    in_url,
                )
            )
        clerk_orgs = _orgs_with(user, Role.CLERK)
        if clerk_orgs:
            out.append(
                (
                    "clerk_out",
                    OutgoingDocument.objects.filter(
                        organisation_id__in=clerk_orgs, state__in=list(CLERK_OUT)
                    ),
                    lambda d: str(CLERK_OUT[d.state][1]) % {"t": d.title},  # type: ignore[attr-defined]
                    out_url,
                )
            )
            out.append(
                (
                    "clerk_in",
                    IncomingDocument.objects.filter(
                        organisation_id__in=clerk_orgs, state__in=list(CLERK_IN)
                    ),
                    lambda d: str(CLERK_IN[d.state][1]) % {"t": d.title},  # type: ignore[attr-defined]
                    in_url,
                )
            )
        handler_orgs = _orgs_with(user, Role.HANDLER)
        if handler_orgs:
            out.append(
                (
                    "handle",
                    IncomingDocument.objects.filter(
                        state=IncomingState.IN_HANDLING,
                        assignments__unit_id__in=handler_orgs,
                        assignments__state=AssignmentState.OPEN,
                    ).distinct(),
                    lambda d: gettext("Handle: %(t)s") % {"t": d.title},  # type: ignore[attr-defined]
                    in_url,
                )
            )
        out.append(
            (
                "read",
                IncomingDocument.objects.filter(
                    circulation__reader=user, circulation__read_at__isnull=True
                ),
                lambda d: gettext("Read: %(t)s") % {"t": d.title},  # type: ignore[attr-defined]
                in_url,
            )
        )
        return out

    def count_for(self, user: User) -> int:
        return sum(qs.count() for _kind, qs, _t, _u in self._queries(user))

    def items_for(self, user: User, limit: int) -> Sequence[TodoItem]:
        items: list[TodoItem] = []
        today = timezone.localdate()
        for kind, qs, title, url in self._queries(user):
            for doc in qs.order_by("-updated_at")[:limit]:
                due = _due(doc)
                state = DeadlineState.ON_TIME
                day = getattr(doc, "reply_due", None)
                if day is not None and day < today:
                    state = DeadlineState.OVERDUE
                elif day is not None and (day - today).days <= 1:
                    state = DeadlineState.DUE_SOON
                items.append(
                    TodoItem(
                        subsystem=self.subsystem,
                        kind=kind,
                        title=title(doc),
                        url=url(doc),
                        created_at=doc.updated_at,
                        due_at=due,
                        state=state,
                        object_id=str(doc.uuid),
                    )
                )
        return items[:limit] if len(items) > limit else items
