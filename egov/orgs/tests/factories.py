"""Factories for the organisation tree, users and positions (use these, never objects.create)."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from egov.orgs.choices import OrgKind, OrgLevel
from egov.orgs.models import Organisation, PasswordHistory, Position, PositionRole, User
from egov.orgs.uscc import make_uscc

DEFAULT_PASSWORD = "Egov#Test2026"


def _code(n: int) -> str:
    return make_uscc("1", "1", "130000", f"{n:08d}")


class OrganisationFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    code = factory.Sequence(_code)
    name = factory.Sequence(lambda n: f"测试单位{n}")
    short_name = factory.Sequence(lambda n: f"单位{n}")
    doc_code = factory.Sequence(lambda n: f"测{n}")
    kind = OrgKind.DEPARTMENT
    level = OrgLevel.PROVINCE
    division_code = "130000"
    parent = None


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gov.cn")
    phone = "13800000000"

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: Any) -> None:
        obj.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class PositionFactory(DjangoModelFactory[Position]):
    class Meta:
        model = Position
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    title = "科员"
    is_primary = True

    @factory.post_generation
    def roles(obj: Position, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        for role in extracted or []:
            PositionRoleFactory(position=obj, role=role)


class PositionRoleFactory(DjangoModelFactory[PositionRole]):
    class Meta:
        model = PositionRole

    position = factory.SubFactory(PositionFactory)
    role = "clerk"


class PasswordHistoryFactory(DjangoModelFactory[PasswordHistory]):
    class Meta:
        model = PasswordHistory

    user = factory.SubFactory(UserFactory)
    password = "!"


def make_member(organisation: Organisation | None = None, *roles: str, **user_fields: Any) -> User:
    """A user with one primary position in `organisation` holding `roles`."""
    user = UserFactory(**user_fields)
    PositionFactory(
        user=user, organisation=organisation or OrganisationFactory(), roles=list(roles)
    )
    return user
