"""Protected reads of supervised tasks. Outside the person's scope: 404, never 403.

Scope: a unit (any person holding a position there) sees the tasks assigned to it; a 督查员
(supervisor) or a leader (签发人) sees the tasks registered by their office and by every office
below it. Every function runs a constant number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from egov.core.models import Notification
from egov.core.selectors import parse_public_id
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, Position, User
from egov.supervision.models import (
    Attachment,
    ExtensionRequest,
    ProgressReport,
    Reminder,
    SupervisionTask,
    TaskEvent,
    TaskUnit,
)

SUPERVISING_ROLES = frozenset({str(Role.SUPERVISOR), str(Role.SIGNER)})
UNIT_ROLES = frozenset({str(Role.HANDLER), str(Role.CLERK)})


@dataclass(frozen=True)
class Held:
    organisation: Organisation
    roles: frozenset[str]


def held_positions(user: User) -> list[Held]:
    """The user's active positions with their roles (one query, cached on the user object)."""
    cached: list[Held] | None = getattr(user, "_supervision_positions", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        return []
    rows = (
        Position.objects.filter(user=user, is_active=True, organisation__is_active=True)
        .select_related("organisation")
        .prefetch_related("role_grants")
    )
    held = [Held(p.organisation, frozenset(g.role for g in p.role_grants.all())) for p in rows]
    setattr(user, "_supervision_positions", held)  # noqa: B010 -- per-request cache
    return held


def supervised_offices_q(user: User, *, prefix: str = "", roles: frozenset[str] | None = None) -> Q:
    """Organisations (under `prefix`) in the subtree of a position holding a supervising role."""
    wanted = roles if roles is not None else SUPERVISING_ROLES
    clauses = [
        Q(**{f"{prefix}path__startswith": h.organisation.path})
        for h in held_positions(user)
        if h.roles & wanted
    ]
    return reduce(or_, clauses) if clauses else Q(pk__in=[])


def member_unit_ids(user: User, roles: frozenset[str] | None = None) -> list[int]:
    """Organisations where the user holds a position (with one of `roles`, if given)."""
    return [h.organisation.pk for h in held_positions(user) if roles is None or h.roles & roles]


def supervises(user: User, task: SupervisionTask, roles: frozenset[str] | None = None) -> bool:
    wanted = roles if roles is not None else SUPERVISING_ROLES
    return any(
        h.roles & wanted and task.office.path.startswith(h.organisation.path)
        for h in held_positions(user)
    )


def visible_tasks(user: User) -> QuerySet[SupervisionTask]:
    unit_ids = member_unit_ids(user)
    as_unit = Q(pk__in=TaskUnit.objects.filter(organisation_id__in=unit_ids).values("task_id"))
    as_office = supervised_offices_q(user, prefix="office__")
    return SupervisionTask.objects.filter(as_office | as_unit)


def access_task_by_id(user: User, task_id: Any) -> SupervisionTask:
    task = (
        visible_tasks(user)
        .select_related("office", "lead_unit", "parent", "registered_by")
        .filter(uuid=parse_public_id(task_id))
        .first()
    )
    if task is None:
        raise Http404("No such task.")
    return task


def task_page_data(task: SupervisionTask) -> dict[str, Any]:
    """Everything the task page shows beside the task itself (a fixed number of queries)."""
    units = list(task.units.select_related("organisation", "acknowledged_by"))
    reports = list(ProgressReport.objects.filter(task=task).select_related("unit", "author")[:50])
    extensions = list(
        ExtensionRequest.objects.filter(task=task).select_related("requested_by", "decided_by")
    )
    reminders = list(
        Reminder.objects.filter(task=task)
        .select_related("sent_by")
        .prefetch_related(
            Prefetch("notifications", queryset=Notification.objects.select_related("recipient"))
        )[:50]
    )
    events = list(TaskEvent.objects.filter(task=task).select_related("actor", "unit"))
    subtasks = list(task.subtasks.select_related("lead_unit"))
    attachments = list(Attachment.objects.filter(task=task).select_related("uploaded_by"))
    return {
        "units": units,
        "reports": reports,
        "extensions": extensions,
        "reminders": reminders,
        "events": events,
        "subtasks": subtasks,
        "attachments": attachments,
    }


def access_attachment(task: SupervisionTask, attachment_id: Any) -> Attachment:
    """An attachment of a task the caller has already been allowed to see."""
    attachment = Attachment.objects.filter(task=task, uuid=parse_public_id(attachment_id)).first()
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


def list_tasks_for(
    user: User,
    *,
    q: str = "",
    state: str = "",
    source: str = "",
    unit: Organisation | None = None,
) -> QuerySet[SupervisionTask]:
    qs = visible_tasks(user).select_related("office", "lead_unit")
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(number__iexact=q))
    if state:
        qs = qs.filter(state=state)
    if source:
        qs = qs.filter(source=source)
    if unit is not None:
        qs = qs.filter(units__organisation=unit)
    return qs.order_by("deadline", "id")


def assignable_units(office: Organisation) -> QuerySet[Organisation]:
    """Units an office may assign to: the subtree of the government it serves (its parent),
    or its own subtree when it has no parent."""
    root_path = office.path
    if office.parent_id is not None:
        parent = Organisation.objects.filter(pk=office.parent_id).only("path").first()
        if parent is not None:
            root_path = parent.path
    return Organisation.objects.filter(path__startswith=root_path, is_active=True)
