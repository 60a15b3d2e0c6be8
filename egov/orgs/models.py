"""The organisation tree, users, and the positions through which users act."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from egov.core.models import TimeStampedModel
from egov.orgs.choices import SECOND_FACTOR_ROLES, OrgKind, OrgLevel, Role

if TYPE_CHECKING:
    from django.http import HttpRequest

PATH_SEPARATOR = "/"


def child_path(parent_path: str, pk: int) -> str:
    """The materialised path of unit `pk` under `parent_path` ("/" for a root).

    Keys are zero-padded so that ordering by path lists a tree depth-first with siblings in
    the order they were created (the government, then its office, then its departments).
    """
    return f"{parent_path}{pk:09d}{PATH_SEPARATOR}"


class Organisation(TimeStampedModel):
    """A unit in the tree: a government, its general office, a department or an internal unit.

    `path` is a materialised path of zero-padded primary keys ("/000000001/000000014/"), so
    descendants are one
    indexed prefix query and ancestors one `pk__in` query, whatever the depth or size.
    """

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    doc_code = models.CharField(
        _("document code"),
        max_length=20,
        blank=True,
        help_text=_("机关代字, used in document numbers"),
    )
    kind = models.CharField(_("type"), max_length=20, choices=OrgKind.choices)
    level = models.CharField(_("level"), max_length=10, choices=OrgLevel.choices)
    division_code = models.CharField(_("administrative division code"), max_length=6, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    node_code = models.CharField(
        _("node"), max_length=50, blank=True, help_text=_("the node serving it")
    )
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(code=""), name="orgs_organisation_code_not_blank"
            ),
            models.UniqueConstraint(
                fields=["doc_code"],
                condition=~models.Q(doc_code=""),
                name="orgs_organisation_doc_code_unique",
            ),
        ]
        indexes = [models.Index(fields=["parent", "sort_order"], name="orgs_org_parent_order")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The path holds this row's own key, so a new row is written, then given its path.
        # Moving a unit with descendants goes through orgs.services.do_move_organisation.
        super().save(*args, **kwargs)
        parent_path = self.parent.path if self.parent is not None else PATH_SEPARATOR
        path = child_path(parent_path, self.pk)
        depth = path.count(PATH_SEPARATOR) - 2
        if path != self.path or depth != self.depth:
            self.path, self.depth = path, depth
            Organisation.objects.filter(pk=self.pk).update(path=path, depth=depth)

    def get_absolute_url(self) -> str:
        return reverse("orgs:organisation_detail", args=[self.uuid])

    @property
    def ancestor_ids(self) -> list[int]:
        """Primary keys from the root down to the parent (no query)."""
        return [int(p) for p in self.path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR) if p][:-1]

    def ancestors(self) -> models.QuerySet[Organisation]:
        return Organisation.objects.filter(pk__in=self.ancestor_ids).order_by("depth")

    def descendants(self, include_self: bool = False) -> models.QuerySet[Organisation]:
        qs = Organisation.objects.filter(path__startswith=self.path)
        return qs if include_self else qs.exclude(pk=self.pk)


class User(AbstractUser):
    """A person with an account. What they may do comes from their positions' roles."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    must_change_password = models.BooleanField(_("must change password"), default=False)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_absolute_url(self) -> str:
        return reverse("orgs:user_detail", args=[self.uuid])

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def active_positions(self) -> models.QuerySet[Position]:
        return self.positions.filter(is_active=True).select_related("organisation")

    def current_position(self, request: HttpRequest | None = None) -> Position | None:
        """The position the user acts in: the one chosen in this session, else the primary one."""
        cached: Position | None = getattr(self, "_current_position", None)
        if cached is not None:
            return cached
        positions = list(self.active_positions().prefetch_related("role_grants"))
        chosen = None
        if request is not None and hasattr(request, "session"):
            chosen_id = request.session.get("position_id")
            chosen = next((p for p in positions if p.pk == chosen_id), None)
        if chosen is None:
            chosen = next(
                (p for p in positions if p.is_primary), positions[0] if positions else None
            )
        self._current_position = chosen
        return chosen

    def role_codes(self) -> set[str]:
        """Every role the user holds in any active position (one query, cached on the instance)."""
        cached: set[str] | None = getattr(self, "_role_codes", None)
        if cached is None:
            cached = set(
                PositionRole.objects.filter(
                    position__user=self, position__is_active=True
                ).values_list("role", flat=True)
            )
            self._role_codes = cached
        return cached

    def has_role(self, role: str) -> bool:
        return role in self.role_codes()

    @property
    def requires_second_factor(self) -> bool:
        return bool(self.role_codes() & {str(r) for r in SECOND_FACTOR_ROLES})


class Position(TimeStampedModel):
    """A user's post in one organisation (职务); roles attach here, not to the user."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="positions"
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="positions",
    )
    title = models.CharField(_("title"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organisation_id", "id"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "title"], name="orgs_position_unique"
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(is_primary=True),
                name="orgs_position_one_primary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation.short_name or self.organisation.name} {self.title}".strip()

    @property
    def roles(self) -> list[str]:
        return [grant.role for grant in self.role_grants.all()]


class PositionRole(models.Model):
    """A role granted to a position."""

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, db_index=True)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        ordering = ["position_id", "role"]
        verbose_name = _("role grant")
        constraints = [
            models.UniqueConstraint(fields=["position", "role"], name="orgs_positionrole_unique")
        ]

    def __str__(self) -> str:
        return f"{self.position_id}:{self.role}"


class PasswordHistory(models.Model):
    """Hashes of a user's previous passwords, so they are not reused."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("previous password")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d}"
