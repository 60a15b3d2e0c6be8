"""Who may do what to a document, and the direction rules of 行文规则 (条例 Ch. 4).

Each check raises a DomainError whose message names the rule, so a clerk knows what to change.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from egov.core.errors import DomainError, NotPermitted
from egov.documents.choices import (
    DIRECTIVE_TYPES,
    Classification,
    Direction,
    DocType,
    RecipientRole,
)
from egov.orgs.choices import OrgKind, OrgLevel
from egov.orgs.models import Organisation, PositionRole, User

LEVEL_RANK: dict[str, int] = {OrgLevel.PROVINCE: 0, OrgLevel.CITY: 1, OrgLevel.COUNTY: 2}


class RuleBroken(DomainError):
    code = "direction_rule"


def role_grants(user: User) -> frozenset[tuple[int, str]]:
    """(organisation id, role) of each role the user holds in an active position: one query,
    kept on the user object for the request (a page checks many units and steps)."""
    cached: frozenset[tuple[int, str]] | None = getattr(user, "_documents_grants", None)
    if cached is None:
        cached = frozenset(
            PositionRole.objects.filter(position__user=user, position__is_active=True).values_list(
                "position__organisation_id", "role"
            )
        )
        setattr(user, "_documents_grants", cached)  # noqa: B010 -- per-request cache
    return cached


def holds(user: User, organisation: Organisation, *roles: str) -> bool:
    """Whether the user holds one of `roles` in a position at `organisation`."""
    grants = role_grants(user)
    return any((organisation.pk, str(role)) in grants for role in roles)


def require(user: User, organisation: Organisation, *roles: str) -> None:
    if not holds(user, organisation, *roles):
        raise NotPermitted(
            _("You do not hold the role needed for this step in %(org)s.")
            % {"org": organisation.name}
        )


def government_of(org: Organisation) -> Organisation:
    """The government an office or department belongs to (itself for a government)."""
    if org.kind == OrgKind.GOVERNMENT or org.parent is None:
        return org
    return org.parent if org.parent.kind == OrgKind.GOVERNMENT else org


def is_subordinate(sender: Organisation, org: Organisation) -> bool:
    """Whether `org` is below the sender: inside the sender's government's subtree, lower level."""
    root = government_of(sender)
    below = org.path.startswith(root.path) and org.pk != root.pk
    return below and LEVEL_RANK.get(org.level, 9) > LEVEL_RANK.get(sender.level, 9)


def check_direction(
    *,
    sender: Organisation,
    doc_type: str,
    direction: str,
    classification: str,
    copy_number: str,
    recipients: Sequence[tuple[Organisation, str]],
) -> None:
    """The rules a document must satisfy before it is submitted, registered or dispatched."""
    mains = [org for org, role in recipients if role == RecipientRole.MAIN]
    copies = [org for org, role in recipients if role == RecipientRole.COPY]
    if classification != Classification.NONE and not copy_number.strip():
        raise RuleBroken(
            _("A classified document needs a copy number (份号)."), field="copy_number"
        )
    if doc_type == DocType.REQUEST:
        if direction != Direction.UPWARD:
            raise RuleBroken(
                _("A request for instructions (请示) goes to a higher authority."),
                field="direction",
            )
        if len(mains) != 1:
            raise RuleBroken(
                _("A request for instructions (请示) has exactly one main recipient."),
                field="recipients",
            )
        if any(is_subordinate(sender, org) for org in copies):
            raise RuleBroken(
                _("A request for instructions (请示) is not copied to subordinate bodies."),
                field="recipients",
            )
    if (
        sender.kind == OrgKind.DEPARTMENT
        and direction == Direction.DOWNWARD
        and doc_type in DIRECTIVE_TYPES
    ):
        for org in mains:
            if org.kind == OrgKind.GOVERNMENT and is_subordinate(sender, org):
                raise RuleBroken(
                    _(
                        "A department may not send directive documents to a lower government "
                        "(%(org)s); send it through the government or its general office."
                    )
                    % {"org": org.name},
                    field="recipients",
                )
