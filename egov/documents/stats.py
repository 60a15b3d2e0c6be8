"""Statistics of official documents (公文统计) per organisation and period.

For each organisation in the person's statistical scope: documents sent (dispatched 核发), received
(收文), the average hours from receipt to sign-for (签收), the average days from receipt to
closure (办结), and the overdue ones (逾期): still open past their reply date today, or closed
after it within the period. Plus the overdue list.

Scope: the organisations where the person holds a position; a clerk (收发员) or signing leader
(签发人) of a general office (办公厅/办公室) also sees the government it serves and everything
below it (by `path` prefix) — the general office is where a government's documents are
supervised.

Every function runs a fixed number of queries whatever the number of organisations and
documents. Counts are aggregated in the database; durations are averaged in Python over one
`values_list`, because datetime arithmetic differs between SQLite and PostgreSQL.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from egov.documents.choices import IncomingState
from egov.documents.models import IncomingDocument, OutgoingDocument
from egov.documents.selectors import my_organisation_ids, visible_incoming
from egov.orgs.choices import OrgKind, Role
from egov.orgs.models import Organisation, Position, User

# Who sees the organisations below their general office.
OVERSEEING_ROLES = (Role.CLERK, Role.SIGNER)
# A received document is open (its reply still owed) until it is answered or leaves the flow.
OPEN_STATES = (
    IncomingState.RECEIVED,
    IncomingState.SIGNED_FOR,
    IncomingState.REGISTERED,
    IncomingState.SCREENED,
    IncomingState.PROPOSED,
    IncomingState.INSTRUCTED,
    IncomingState.IN_HANDLING,
)
OVERDUE_LIST_LIMIT = 200
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class Period:
    """A span of whole days, `start` to `end` inclusive, in the local time zone."""

    start: date
    end: date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def until(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(
            self.end + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
        )

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self == Period.month(self.start.year, self.start.month)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.since <= moment < self.until


@dataclass
class UnitStats:
    """The figures of one organisation (or the total, `organisation_id` None)."""

    organisation_id: int | None
    name: str
    path: str = ""
    sent: int = 0
    received: int = 0
    signed_for: int = 0
    closed: int = 0
    overdue_open: int = 0
    closed_late: int = 0
    sign_for_seconds: list[float] = field(default_factory=list, repr=False)
    close_seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def overdue(self) -> int:
        return self.overdue_open + self.closed_late

    @property
    def avg_sign_for_hours(self) -> float | None:
        s = self.sign_for_seconds
        return sum(s) / len(s) / SECONDS_PER_HOUR if s else None

    @property
    def avg_close_days(self) -> float | None:
        s = self.close_seconds
        return sum(s) / len(s) / SECONDS_PER_DAY if s else None

    @property
    def is_empty(self) -> bool:
        return not (self.sent or self.received or self.closed or self.overdue)


@dataclass
class OverdueRow:
    """A received document past its reply date: still open, or closed late in the period."""

    document: IncomingDocument
    days_overdue: int
    closed_late: bool
    visible: bool  # whether the person may open it (else listed without a link)


@dataclass
class DocumentStats:
    period: Period
    today: date
    units: list[UnitStats]
    total: UnitStats
    overdue: list[OverdueRow]


def _overseen_prefixes(user: User) -> list[str]:
    """Path prefixes of the subtrees a clerk or signing leader of a general office oversees:
    the government the office serves (its parent), or the office itself without one."""
    rows = (
        Position.objects.filter(
            user=user,
            is_active=True,
            organisation__is_active=True,
            organisation__kind=OrgKind.GENERAL_OFFICE,
            role_grants__role__in=[str(r) for r in OVERSEEING_ROLES],
        )
        .values_list(
            "organisation__path", "organisation__parent__path", "organisation__parent__kind"
        )
        .distinct()
    )
    prefixes = set()
    for path, parent_path, parent_kind in rows:
        prefixes.add(parent_path if parent_path and parent_kind == OrgKind.GOVERNMENT else path)
    # A prefix inside another adds nothing.
    return sorted(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))


def scope_q(user: User) -> Q | None:
    """The organisations whose figures the person may see, as a filter (None: none at all)."""
    own = my_organisation_ids(user)
    if not own:
        return None
    q = Q(pk__in=own)
    for prefix in _overseen_prefixes(user):
        q |= Q(path__startswith=prefix)
    return q


def scope_organisations(user: User) -> QuerySet[Organisation]:
    q = scope_q(user)
    if q is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(q, is_active=True)


def document_stats(
    user: User,
    period: Period,
    *,
    today: date | None = None,
    overdue_limit: int = OVERDUE_LIST_LIMIT,
) -> DocumentStats:
    """The figures of every organisation in the person's scope for `period` (8 queries)."""
    today = today or timezone.localdate()
    scope = scope_organisations(user)
    own = set(my_organisation_ids(user))
    orgs = {
        pk: (name, path, kind)
        for pk, name, path, kind in scope.values_list("pk", "name", "path", "kind")
    }
    # Internal units (处室) handle their office's documents; they are listed only with figures.
    units = {
        pk: UnitStats(organisation_id=pk, name=name, path=path)
        for pk, (name, path, kind) in orgs.items()
        if kind != OrgKind.INTERNAL_UNIT or pk in own
    }
    total = UnitStats(organisation_id=None, name="")
    if not orgs:
        return DocumentStats(period, today, [], total, [])
    in_scope = scope.values("pk")
    since, until = period.since, period.until

    def unit(pk: int) -> UnitStats:
        if pk not in units:
            name, path, _kind = orgs.get(pk, ("", "", ""))
            units[pk] = UnitStats(organisation_id=pk, name=name, path=path)
        return units[pk]

    sent = (
        OutgoingDocument.objects.filter(
            organisation_id__in=in_scope, dispatched_at__gte=since, dispatched_at__lt=until
        )
        .values("organisation_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("organisation_id", "n")
    )
    for pk, n in sent:
        unit(pk).sent = n

    incoming = IncomingDocument.objects.filter(organisation_id__in=in_scope)
    received_q = Q(received_at__gte=since, received_at__lt=until)
    closed_q = Q(closed_at__gte=since, closed_at__lt=until)
    late_q = closed_q & Q(reply_due__isnull=False, closed_at__date__gt=F("reply_due"))
    open_overdue_q = Q(state__in=list(OPEN_STATES), reply_due__lt=today)
    counts = (
        incoming.filter(received_q | closed_q | open_overdue_q)
        .values("organisation_id")
        .annotate(
            received=Count("id", filter=received_q),
            signed_for=Count("id", filter=received_q & Q(signed_for_at__isnull=False)),
            closed=Count("id", filter=closed_q),
            overdue_open=Count("id", filter=open_overdue_q),
            closed_late=Count("id", filter=late_q),
        )
        .order_by()
    )
    for row in counts:
        u = unit(row["organisation_id"])
        u.received, u.signed_for, u.closed = row["received"], row["signed_for"], row["closed"]
        u.overdue_open, u.closed_late = row["overdue_open"], row["closed_late"]

    durations = incoming.filter(
        (received_q & Q(signed_for_at__isnull=False)) | closed_q
    ).values_list("organisation_id", "received_at", "signed_for_at", "closed_at")
    for pk, received_at, signed_for_at, closed_at in durations:
        u = unit(pk)
        if signed_for_at is not None and period.contains(received_at):
            u.sign_for_seconds.append(max((signed_for_at - received_at).total_seconds(), 0.0))
        if closed_at is not None and period.contains(closed_at):
            u.close_seconds.append(max((closed_at - received_at).total_seconds(), 0.0))

    rows = sorted(units.values(), key=lambda u: (u.path, u.name))
    for u in rows:
        for name in ("sent", "received", "signed_for", "closed", "overdue_open", "closed_late"):
            setattr(total, name, getattr(total, name) + getattr(u, name))
        total.sign_for_seconds += u.sign_for_seconds
        total.close_seconds += u.close_seconds
    shown = [u for u in rows if not u.is_empty or u.organisation_id in own]

    listed = list(
        incoming.filter(open_overdue_q | late_q)
        .select_related("organisation")
        .order_by("reply_due", "id")[:overdue_limit]
    )
    visible = set(
        visible_incoming(user).filter(pk__in=[d.pk for d in listed]).values_list("pk", flat=True)
    )
    overdue = []
    for doc in listed:
        assert doc.reply_due is not None  # noqa: S101 -- both filters require a reply date
        late = doc.closed_at is not None and doc.state not in OPEN_STATES
        until_day = timezone.localdate(doc.closed_at) if late and doc.closed_at else today
        overdue.append(
            OverdueRow(
                document=doc,
                days_overdue=(until_day - doc.reply_due).days,
                closed_late=late,
                visible=doc.pk in visible,
            )
        )
    return DocumentStats(period=period, today=today, units=shown, total=total, overdue=overdue)
