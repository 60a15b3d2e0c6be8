"""Every write to the organisation tree, users, positions and role grants.

Powers (三员分立, GB/T 22239 level 3):
- the 系统管理员 (system administrator) creates, edits, moves and deactivates organisations,
  users and positions in the subtree they administer;
- the 安全管理员 (security administrator) grants and revokes roles and unlocks accounts in
  their subtree;
- the 审计管理员 (audit administrator) writes nothing here.
No person holds two of the three; nobody grants or revokes their own roles. A system actor
(`Acting.system(...)`: commands, the demo, migrations) may do everything.

Out-of-scope objects never reach a service from a view (the `access_*` selectors answer 404);
a service still refuses with `NotPermitted` when the actor lacks the power over the object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, F, Max, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.errors import Conflict, DomainError, NotPermitted
from egov.orgs.choices import SEPARATED_ADMIN_ROLES, OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, Position, PositionRole, User, child_path
from egov.orgs.uscc import InvalidCode, validate_uscc

ADMIN_ROLE_CODES = frozenset(str(r) for r in SEPARATED_ADMIN_ROLES)
ROLE_CODES = frozenset(str(r) for r in Role)

MAX_PARENT_PATH = 230  # the path column holds 255 characters

ORG_FIELDS = (
    "code",
    "name",
    "short_name",
    "doc_code",
    "kind",
    "level",
    "division_code",
    "node_code",
    "sort_order",
)
USER_FIELDS = ("full_name", "email", "phone")
EMAIL_MAX_LENGTH = 254  # User.email


# ---------------------------------------------------------------------------------------------
# Powers


def _holds_over(user: User, organisation: Organisation | None, role: str) -> bool:
    """True when `user` holds `role` in an active position at or above `organisation`."""
    if organisation is None:
        return False
    prefixes = [
        position.organisation.path
        for position in user.positions.filter(
            is_active=True, organisation__is_active=True, role_grants__role=role
        ).select_related("organisation")
    ]
    return any(organisation.path.startswith(prefix) for prefix in prefixes)


def require_power(acting: Acting, organisation: Organisation | None, role: str) -> None:
    """Refuse unless the actor holds `role` over `organisation` (system actors always may)."""
    if acting.user is None:
        return
    if not acting.user.is_active or not _holds_over(acting.user, organisation, role):
        raise NotPermitted(_("You do not have the power to do this here."))


def can(acting: Acting, organisation: Organisation | None, role: str) -> bool:
    """Whether `require_power` would pass (for showing or hiding buttons)."""
    try:
        require_power(acting, organisation, role)
    except NotPermitted:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Organisations


def _clean_org_values(values: dict[str, Any], *, instance: Organisation | None) -> dict[str, Any]:
    """Validate and normalise organisation fields; raise DomainError naming the field."""
    cleaned = dict(values)
    if "code" in cleaned:
        try:
            cleaned["code"] = validate_uscc(str(cleaned["code"] or ""))
        except InvalidCode as exc:
            raise DomainError(
                _("Not a valid unified social credit code: %(reason)s") % {"reason": exc},
                field="code",
            ) from None
        clash = Organisation.objects.filter(code=cleaned["code"])
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise Conflict(_("Another organisation already has this code."), field="code")
    if "name" in cleaned:
        cleaned["name"] = str(cleaned["name"] or "").strip()
        if not cleaned["name"]:
            raise DomainError(_("The name is required."), field="name")
    for text_field in ("short_name", "doc_code", "division_code", "node_code"):
        if text_field in cleaned:
            cleaned[text_field] = str(cleaned[text_field] or "").strip()
    if cleaned.get("doc_code"):
        clash = Organisation.objects.filter(doc_code=cleaned["doc_code"])
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise Conflict(
                _("Another organisation already uses this document code."), field="doc_code"
            )
    division = cleaned.get("division_code")
    if division and (len(division) != 6 or not division.isascii() or not division.isdigit()):
        raise DomainError(_("The division code must be 6 digits."), field="division_code")
    if "kind" in cleaned and cleaned["kind"] not in OrgKind.values:
        raise DomainError(_("Unknown organisation type."), field="kind")
    if "level" in cleaned and cleaned["level"] not in OrgLevel.values:
        raise DomainError(_("Unknown level."), field="level")
    return cleaned


@transaction.atomic
def do_create_organisation(
    *, parent: Organisation | None, acting: Acting, **values: Any
) -> Organisation:
    """Create a unit under `parent` (a root only for a system actor)."""
    if parent is None and acting.user is not None:
        raise NotPermitted(_("Only the platform itself creates a root organisation."))
    if parent is not None:
        # Lock the parent and read its path afresh: a move of the parent's subtree running now
        # finishes first, so the new unit's path is built from the parent's final path.
        parent = Organisation.objects.select_for_update().get(pk=parent.pk)
    require_power(acting, parent, Role.SYSTEM_ADMIN)
    unknown = set(values) - set(ORG_FIELDS)
    if unknown:
        raise DomainError(f"unknown fields: {sorted(unknown)}")
    for required in ("code", "name", "kind", "level"):
        values.setdefault(required, "")
    cleaned = _clean_org_values(values, instance=None)
    if parent is not None and not parent.is_active:
        raise DomainError(_("The parent organisation is inactive."), field="parent")
    if parent is not None and len(parent.path) > MAX_PARENT_PATH:
        raise DomainError(_("The tree is too deep here."), field="parent")
    org = Organisation(parent=parent, **cleaned)
    org.save()
    record_audit(
        "org.created",
        acting=acting,
        obj=org,
        details={"code": org.code, "parent": parent.code if parent else None},
    )
    return org


@transaction.atomic
def do_update_organisation(
    organisation: Organisation, *, acting: Acting, **values: Any
) -> Organisation:
    """Edit a unit's own fields. Changing the parent is `do_move_organisation`."""
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    require_power(acting, org, Role.SYSTEM_ADMIN)
    unknown = set(values) - set(ORG_FIELDS)
    if unknown:
        raise DomainError(f"unknown fields: {sorted(unknown)}")
    cleaned = _clean_org_values(values, instance=org)
    changes = {}
    for name, value in cleaned.items():
        old = getattr(org, name)
        if old != value:
            changes[name] = [old, value]
            setattr(org, name, value)
    if changes:
        org.save()
        record_audit("org.updated", acting=acting, obj=org, details={"changes": changes})
    return org


@transaction.atomic
def do_move_organisation(
    organisation: Organisation, *, new_parent: Organisation, acting: Acting
) -> Organisation:
    """Put a unit (and its subtree) under another parent; descendants' paths in one UPDATE."""
    # Both ends locked in one statement in primary-key order (fixed order: two opposite moves
    # cannot deadlock).
    locked = {
        o.pk: o
        for o in Organisation.objects.select_for_update()
        .filter(pk__in={organisation.pk, new_parent.pk})
        .order_by("pk")
    }
    if organisation.pk not in locked or new_parent.pk not in locked:
        raise Organisation.DoesNotExist("No such organisation.")
    org, target = locked[organisation.pk], locked[new_parent.pk]
    require_power(acting, org, Role.SYSTEM_ADMIN)
    require_power(acting, target, Role.SYSTEM_ADMIN)
    if org.parent_id is None and acting.user is not None:
        raise NotPermitted(_("A root organisation cannot be moved."))
    if target.path.startswith(org.path):
        raise DomainError(
            _("An organisation cannot be moved under itself or one of its descendants."),
            field="parent",
        )
    if not target.is_active:
        raise DomainError(_("The new parent organisation is inactive."), field="parent")
    if org.parent_id == target.pk:
        return org
    old_path, old_depth, old_parent_id = org.path, org.depth, org.parent_id
    new_path = child_path(target.path, org.pk)
    deepest = Organisation.objects.filter(path__startswith=old_path).aggregate(
        longest=Max(Length("path"))
    )["longest"] or len(old_path)
    if len(new_path) + deepest - len(old_path) > 255:
        raise DomainError(_("The tree would be too deep there."), field="parent")
    depth_shift = target.depth + 1 - old_depth
    # Lock the subtree first (in path order) so that a unit being created or saved under it
    # waits for this move and reads the new paths; the UPDATE below then sees every row.
    list(
        Organisation.objects.select_for_update()
        .filter(path__startswith=old_path)
        .order_by("path")
        .values_list("pk", flat=True)
    )
    # The unit and all its descendants: replace the old path prefix in one statement.
    Organisation.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1), output_field=CharField()),
        depth=F("depth") + depth_shift,
    )
    Organisation.objects.filter(pk=org.pk).update(parent=target)
    org.refresh_from_db()
    record_audit(
        "org.moved",
        acting=acting,
        obj=org,
        details={"from_parent": old_parent_id, "to_parent": target.pk, "old_path": old_path},
    )
    return org


@transaction.atomic
def do_deactivate_organisation(organisation: Organisation, *, acting: Acting) -> Organisation:
    """Deactivate a unit. Refused while it has active sub-units or active positions."""
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    require_power(acting, org, Role.SYSTEM_ADMIN)
    if not org.is_active:
        return org
    if org.children.filter(is_active=True).exists():
        raise Conflict(_("Deactivate its active sub-units first."))
    if org.positions.filter(is_active=True).exists():
        raise Conflict(_("Remove the people's positions in it first."))
    org.is_active = False
    org.save(update_fields=["is_active", "updated_at"])
    record_audit("org.deactivated", acting=acting, obj=org, details={"code": org.code})
    return org


# ---------------------------------------------------------------------------------------------
# Users and positions


def _admin_roles_of(user: User, *, excluding_position: Position | None = None) -> set[str]:
    qs = PositionRole.objects.filter(
        position__user=user, position__is_active=True, role__in=ADMIN_ROLE_CODES
    )
    if excluding_position is not None:
        qs = qs.exclude(position=excluding_position)
    return set(qs.values_list("role", flat=True))


def _clean_user_values(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: str(v or "").strip() for k, v in values.items()}
    if len(cleaned.get("full_name", "")) > 100:
        raise DomainError(_("The name is too long (at most 100 characters)."), field="full_name")
    phone = cleaned.get("phone", "")
    if phone and (len(phone) > 20 or not all(c.isdigit() or c in "+- " for c in phone)):
        raise DomainError(_("Enter a phone number of digits only."), field="phone")
    email = cleaned.get("email", "")
    if email:
        from django.core.validators import validate_email

        try:
            validate_email(email)
        except ValidationError:
            raise DomainError(_("Enter a valid e-mail address."), field="email") from None
        # validate_email allows 320 characters; the column holds EMAIL_MAX_LENGTH.
        if len(email) > EMAIL_MAX_LENGTH:
            raise DomainError(
                _("The e-mail address is too long (at most %(max)d characters).")
                % {"max": EMAIL_MAX_LENGTH},
                field="email",
            )
    return cleaned


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not username:
        raise DomainError(_("The user name is required."), field="username")
    if len(username) > 150:
        raise DomainError(_("The user name is too long."), field="username")
    from django.contrib.auth.validators import UnicodeUsernameValidator

    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise DomainError(
            _("Use only letters, digits and @ . + - _ in the user name."), field="username"
        ) from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("This user name is taken."), field="username")
    return username


def _set_initial_password(user: User, password: str | None) -> None:
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), field="password") from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.must_change_password = True


def _lock_for_new_position(organisation: Organisation) -> Organisation:
    """The unit, locked and read afresh: a deactivation running now (which checks that no
    active position is left) finishes first, and its outcome is seen."""
    return Organisation.objects.select_for_update().get(pk=organisation.pk)


@dataclass(frozen=True)
class NewPosition:
    organisation: Organisation
    title: str = ""


@transaction.atomic
def do_create_user(
    *,
    username: str,
    position: NewPosition,
    acting: Acting,
    password: str | None = None,
    **values: Any,
) -> User:
    """Create an account with its first (primary) position in an organisation."""
    organisation = _lock_for_new_position(position.organisation)
    require_power(acting, organisation, Role.SYSTEM_ADMIN)
    if not organisation.is_active:
        raise DomainError(_("The organisation is inactive."), field="organisation")
    unknown = set(values) - set(USER_FIELDS)
    if unknown:
        raise DomainError(f"unknown fields: {sorted(unknown)}")
    username = _check_username(username)
    cleaned = _clean_user_values(values)
    user = User(username=username, **cleaned)
    _set_initial_password(user, password)
    user.save()
    created = Position.objects.create(
        user=user,
        organisation=organisation,
        title=(position.title or "").strip()[:100],
        is_primary=True,
    )
    record_audit(
        "user.created",
        acting=acting,
        obj=user,
        details={"organisation": organisation.code, "position": created.pk},
    )
    return user


def require_power_over_user(acting: Acting, user: User, role: str) -> None:
    """The actor must hold `role` over at least one organisation the user has an active
    position in (only when the person has none left: one they had a position in).

    An ended position gives no power over the person: someone who moved on is no longer the
    old unit's to edit or disable (that unit may still give them a position again).
    """
    if acting.user is None:
        return
    positions = list(user.positions.select_related("organisation"))
    active = [p for p in positions if p.is_active]
    orgs = [p.organisation for p in (active or positions)]
    if not any(can(acting, org, role) for org in orgs):
        raise NotPermitted(_("You do not have the power to do this for this person."))


@transaction.atomic
def do_update_user(user: User, *, acting: Acting, **values: Any) -> User:
    """Edit a person's name, e-mail and phone."""
    target = User.objects.select_for_update().get(pk=user.pk)
    require_power_over_user(acting, target, Role.SYSTEM_ADMIN)
    unknown = set(values) - set(USER_FIELDS)
    if unknown:
        raise DomainError(f"unknown fields: {sorted(unknown)}")
    cleaned = _clean_user_values(values)
    changes = {}
    for name, value in cleaned.items():
        old = getattr(target, name)
        if old != value:
            changes[name] = [old, value]
            setattr(target, name, value)
    if changes:
        target.save()
        record_audit("user.updated", acting=acting, obj=target, details={"changes": changes})
    return target


@transaction.atomic
def do_deactivate_user(user: User, *, acting: Acting) -> User:
    """Disable an account (it keeps its history; it can no longer log in)."""
    target = User.objects.select_for_update().get(pk=user.pk)
    require_power_over_user(acting, target, Role.SYSTEM_ADMIN)
    if acting.user is not None and acting.user.pk == target.pk:
        raise NotPermitted(_("You cannot deactivate your own account."))
    if not target.is_active:
        return target
    if acting.user is not None and _admin_roles_of(target):
        raise Conflict(
            _(
                "This person holds a system, security or audit administrator role; the security "
                "administrator revokes it first."
            )
        )
    target.is_active = False
    target.save(update_fields=["is_active"])
    record_audit("user.deactivated", acting=acting, obj=target)
    return target


@transaction.atomic
def do_add_position(
    user: User, *, organisation: Organisation, title: str = "", acting: Acting
) -> Position:
    """Give a person a (further) position in an organisation, without roles."""
    target = User.objects.select_for_update().get(pk=user.pk)
    organisation = _lock_for_new_position(organisation)
    require_power(acting, organisation, Role.SYSTEM_ADMIN)
    if not organisation.is_active:
        raise DomainError(_("The organisation is inactive."), field="organisation")
    title = (title or "").strip()
    if len(title) > 100:
        raise DomainError(_("The title is too long (at most 100 characters)."), field="title")
    existing = Position.objects.filter(user=target, organisation=organisation, title=title).first()
    if existing is not None and existing.is_active:
        raise Conflict(_("This person already holds this position."), field="title")
    has_primary = target.positions.filter(is_primary=True, is_active=True).exists()
    if existing is not None:
        existing.is_active = True
        existing.save(update_fields=["is_active", "updated_at"])
        existing.role_grants.all().delete()
        position = existing
    else:
        position = Position.objects.create(
            user=target,
            organisation=organisation,
            title=title,
            is_primary=not target.positions.filter(is_primary=True).exists(),
        )
    if not has_primary and not position.is_primary:
        target.positions.filter(is_primary=True).update(is_primary=False)
        position.is_primary = True
        position.save(update_fields=["is_primary", "updated_at"])
    record_audit(
        "position.added",
        acting=acting,
        obj=target,
        details={"position": position.pk, "organisation": organisation.code, "title": title},
    )
    return position


@transaction.atomic
def do_remove_position(position: Position, *, acting: Acting) -> Position:
    """End a position: it becomes inactive and loses its roles."""
    target = User.objects.select_for_update().get(pk=position.user_id)
    pos = Position.objects.select_for_update().select_related("organisation").get(pk=position.pk)
    require_power(acting, pos.organisation, Role.SYSTEM_ADMIN)
    if acting.user is not None and acting.user.pk == target.pk:
        raise NotPermitted(_("You cannot remove your own position."))
    if not pos.is_active:
        return pos
    roles = sorted(pos.role_grants.values_list("role", flat=True))
    if acting.user is not None and set(roles) & ADMIN_ROLE_CODES:
        # Ending the position would revoke a 三员 role: that is the security administrator's act.
        raise Conflict(
            _(
                "This position holds a system, security or audit administrator role; the "
                "security administrator revokes it first."
            )
        )
    pos.role_grants.all().delete()
    pos.is_active = False
    was_primary = pos.is_primary
    pos.is_primary = False
    pos.save(update_fields=["is_active", "is_primary", "updated_at"])
    if was_primary:
        successor = target.positions.filter(is_active=True).order_by("id").first()
        if successor is not None:
            successor.is_primary = True
            successor.save(update_fields=["is_primary", "updated_at"])
    record_audit(
        "position.removed",
        acting=acting,
        obj=target,
        details={
            "position": pos.pk,
            "organisation": pos.organisation.code,
            "title": pos.title,
            "roles": roles,
        },
    )
    return pos


# ---------------------------------------------------------------------------------------------
# Roles


def _check_role_change(position: Position, role: str, acting: Acting) -> None:
    if role not in ROLE_CODES:
        raise DomainError(_("Unknown role."), field="roles")
    require_power(acting, position.organisation, Role.SECURITY_ADMIN)
    if acting.user is not None and acting.user.pk == position.user_id:
        raise NotPermitted(_("Nobody grants or revokes their own roles."))


@transaction.atomic
def do_grant_role(position: Position, role: str, *, acting: Acting) -> PositionRole:
    """Grant a role to a position. The 三员 roles stay with three different people."""
    role = str(role)
    # Lock the person first (fixed order: user, then position) so two grants cannot race.
    target = User.objects.select_for_update().get(pk=position.user_id)
    pos = Position.objects.select_for_update().select_related("organisation").get(pk=position.pk)
    _check_role_change(pos, role, acting)
    if not pos.is_active:
        raise DomainError(_("The position has ended."), field="roles")
    existing = pos.role_grants.filter(role=role).first()
    if existing is not None:
        return existing
    if role in ADMIN_ROLE_CODES:
        held = _admin_roles_of(target) - {role}
        if held:
            raise Conflict(
                _(
                    "The system, security and audit administrator roles must be held by three "
                    "different people (三员分立); this person already holds another."
                ),
                field="roles",
            )
    grant = PositionRole.objects.create(position=pos, role=role)
    record_audit(
        "role.granted",
        acting=acting,
        obj=target,
        details={"position": pos.pk, "organisation": pos.organisation.code, "role": role},
    )
    return grant


@transaction.atomic
def do_revoke_role(position: Position, role: str, *, acting: Acting) -> None:
    role = str(role)
    target = User.objects.select_for_update().get(pk=position.user_id)
    pos = Position.objects.select_for_update().select_related("organisation").get(pk=position.pk)
    _check_role_change(pos, role, acting)
    deleted, _rows = pos.role_grants.filter(role=role).delete()
    if deleted:
        record_audit(
            "role.revoked",
            acting=acting,
            obj=target,
            details={"position": pos.pk, "organisation": pos.organisation.code, "role": role},
        )


@transaction.atomic
def do_set_position_roles(position: Position, roles: set[str], *, acting: Acting) -> Position:
    """Make the position hold exactly `roles` (each change audited as a grant or revoke)."""
    roles = {str(r) for r in roles}
    unknown = roles - ROLE_CODES
    if unknown:
        raise DomainError(_("Unknown role."), field="roles")
    current = set(position.role_grants.values_list("role", flat=True))
    for role in sorted(current - roles):
        do_revoke_role(position, role, acting=acting)
    for role in sorted(roles - current):
        do_grant_role(position, role, acting=acting)
    # An unchanged set still needs the power check, so nobody learns anything by trying.
    if current == roles:
        pos = Position.objects.select_related("organisation").get(pk=position.pk)
        require_power(acting, pos.organisation, Role.SECURITY_ADMIN)
        if acting.user is not None and acting.user.pk == pos.user_id:
            raise NotPermitted(_("Nobody grants or revokes their own roles."))
    return position


@transaction.atomic
def do_record_export(kind: str, *, fmt: str, filters: str, acting: Acting) -> None:
    """Bulk exports of people and units are audited (who took which list, in what form)."""
    record_audit(f"{kind}.exported", acting=acting, details={"format": fmt, "filters": filters})


@transaction.atomic
def do_unlock_user(user: User, *, acting: Acting) -> int:
    """Clear the failed-login lockout of an account (安全管理员). Returns attempts removed."""
    from axes.utils import reset

    target = User.objects.select_for_update().get(pk=user.pk)
    require_power_over_user(acting, target, Role.SECURITY_ADMIN)
    removed = reset(username=target.get_username())
    record_audit(
        "user.unlocked",
        acting=acting,
        obj=target,
        details={"attempts_removed": removed, "at": timezone.now().isoformat()},
    )
    return int(removed or 0)


__all__ = [
    "ADMIN_ROLE_CODES",
    "NewPosition",
    "can",
    "do_add_position",
    "do_create_organisation",
    "do_create_user",
    "do_deactivate_organisation",
    "do_deactivate_user",
    "do_grant_role",
    "do_move_organisation",
    "do_record_export",
    "do_remove_position",
    "do_revoke_role",
    "do_set_position_roles",
    "do_unlock_user",
    "do_update_organisation",
    "do_update_user",
    "require_power",
    "require_power_over_user",
]
