"""The demo data: complete, valid, and idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from egov.core.models import AuditEvent
from egov.orgs.choices import SEPARATED_ADMIN_ROLES, OrgKind, OrgLevel, Role
from egov.orgs.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo
from egov.orgs.models import Organisation, PositionRole, User
from egov.orgs.uscc import validate_uscc

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[int, int, int, int]:
    return (
        Organisation.objects.count(),
        User.objects.count(),
        PositionRole.objects.count(),
        AuditEvent.objects.count(),
    )


def test_seed_twice_changes_nothing() -> None:
    first = seed_demo()
    assert first.organisations_created > 60 and first.users_created == len(DEMO_LOGINS)
    before = _snapshot()
    passwords = dict(User.objects.values_list("username", "password"))
    call_command("seed_demo", stdout=io.StringIO())
    assert _snapshot() == before
    assert dict(User.objects.values_list("username", "password")) == passwords


def test_demo_tree_shape() -> None:
    seed_demo()
    province = Organisation.objects.get(doc_code="冀政")
    assert province.parent is None and province.kind == OrgKind.GOVERNMENT
    assert Organisation.objects.get(doc_code="冀政办").parent == province
    departments = province.children.filter(kind=OrgKind.DEPARTMENT)
    assert departments.count() >= 20
    cities = province.children.filter(kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY)
    assert cities.count() == 11
    sjz_office = Organisation.objects.select_related("parent").get(doc_code="石政办")
    assert sjz_office.parent is not None and sjz_office.parent.division_code == "130100"
    assert Organisation.objects.filter(level=OrgLevel.COUNTY, division_code="130121").exists()
    for code in Organisation.objects.values_list("code", flat=True):
        assert validate_uscc(code) == code


def test_demo_users_cover_every_role_and_log_in() -> None:
    seed_demo()
    held = set(PositionRole.objects.values_list("role", flat=True))
    assert held == set(Role.values)
    admins = {str(r) for r in SEPARATED_ADMIN_ROLES}
    for user in User.objects.all():
        assert len(user.role_codes() & admins) <= 1
    for username, password, _description in DEMO_LOGINS:
        user = User.objects.get(username=username)
        assert password == DEMO_PASSWORD and user.check_password(password)
        assert not user.must_change_password
    assert User.objects.get(username="sjz_clerk").positions.get().organisation.doc_code == "石政办"


def test_refused_with_production_settings(settings: object) -> None:
    settings.SETTINGS_MODULE = "egov.settings.prod"  # type: ignore[attr-defined]
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())
    assert not Organisation.objects.exists()
    call_command("seed_demo", "--force", "--quiet-logins", stdout=io.StringIO())
    assert Organisation.objects.exists()
