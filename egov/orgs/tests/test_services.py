"""Services: powers of the 三员, separation of duties, audit events, positions."""

from __future__ import annotations

from typing import Any

import pytest

from egov.core.acting import Acting
from egov.core.errors import Conflict, DomainError, NotPermitted
from egov.core.models import AuditEvent
from egov.orgs import services
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, Position, PositionRole, User
from egov.orgs.tests.factories import (
    OrganisationFactory,
    PositionFactory,
    UserFactory,
    make_member,
)
from egov.orgs.uscc import make_uscc

pytestmark = pytest.mark.django_db


def _acting(user: User) -> Acting:
    fresh = User.objects.get(pk=user.pk)
    return Acting(user=fresh, position=fresh.current_position())


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


@pytest.fixture
def tree() -> dict[str, Any]:
    root = OrganisationFactory.create(kind=OrgKind.GOVERNMENT)
    office = OrganisationFactory.create(parent=root, kind=OrgKind.GENERAL_OFFICE)
    city = OrganisationFactory.create(parent=root, kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY)
    city_office = OrganisationFactory.create(parent=city, level=OrgLevel.CITY)
    other_city = OrganisationFactory.create(parent=root, level=OrgLevel.CITY)
    return {
        "root": root,
        "office": office,
        "city": city,
        "city_office": city_office,
        "other_city": other_city,
        "sysadmin": make_member(root, Role.SYSTEM_ADMIN),
        "secadmin": make_member(root, Role.SECURITY_ADMIN),
        "auditor": make_member(root, Role.AUDIT_ADMIN),
        "city_sysadmin": make_member(city, Role.SYSTEM_ADMIN),
        "city_secadmin": make_member(city, Role.SECURITY_ADMIN),
        "clerk": make_member(office, Role.CLERK),
    }


def _org_values(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "code": make_uscc("1", "1", "130100", f"TTT{n:05d}"),
        "name": f"新单位{n}",
        "kind": OrgKind.DEPARTMENT,
        "level": OrgLevel.CITY,
        **extra,
    }


# Organisations ------------------------------------------------------------------------------


def test_sysadmin_creates_in_subtree_and_it_is_audited(tree: dict[str, Any]) -> None:
    org = services.do_create_organisation(
        parent=tree["city"], acting=_acting(tree["city_sysadmin"]), **_org_values(1)
    )
    assert org.parent == tree["city"] and org.path.startswith(tree["city"].path)
    assert _actions()[-1] == "org.created"


@pytest.mark.parametrize("who", ["city_sysadmin", "secadmin", "auditor", "clerk"])
def test_create_outside_powers_is_refused(tree: dict[str, Any], who: str) -> None:
    before = Organisation.objects.count()
    with pytest.raises(NotPermitted):
        services.do_create_organisation(
            parent=tree["other_city"], acting=_acting(tree[who]), **_org_values(2)
        )
    assert Organisation.objects.count() == before
    assert "org.created" not in _actions()


def test_only_the_system_creates_roots(tree: dict[str, Any]) -> None:
    with pytest.raises(NotPermitted):
        services.do_create_organisation(
            parent=None, acting=_acting(tree["sysadmin"]), **_org_values(3)
        )
    root = services.do_create_organisation(parent=None, acting=Acting.system("t"), **_org_values(4))
    assert root.depth == 0


@pytest.mark.parametrize(
    "values,field",
    [
        ({"code": "911300000000000000"}, "code"),
        ({"code": "not a code"}, "code"),
        ({"name": "  "}, "name"),
        ({"kind": "castle"}, "kind"),
        ({"level": "galaxy"}, "level"),
        ({"division_code": "12ab"}, "division_code"),
    ],
)
def test_bad_values_name_the_field(
    tree: dict[str, Any], values: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as excinfo:
        services.do_create_organisation(
            parent=tree["city"], acting=_acting(tree["sysadmin"]), **_org_values(5, **values)
        )
    assert excinfo.value.field == field


def test_duplicate_code_and_doc_code_conflict(tree: dict[str, Any]) -> None:
    acting = _acting(tree["sysadmin"])
    with pytest.raises(Conflict) as excinfo:
        services.do_create_organisation(
            parent=tree["city"], acting=acting, **_org_values(6, code=tree["office"].code)
        )
    assert excinfo.value.field == "code"
    with pytest.raises(Conflict) as excinfo:
        services.do_create_organisation(
            parent=tree["city"], acting=acting, **_org_values(7, doc_code=tree["office"].doc_code)
        )
    assert excinfo.value.field == "doc_code"


def test_update_records_changes(tree: dict[str, Any]) -> None:
    org = services.do_update_organisation(
        tree["city_office"], acting=_acting(tree["city_sysadmin"]), short_name="市府办"
    )
    assert org.short_name == "市府办"
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None and event.action == "org.updated"
    assert event.details["changes"]["short_name"][1] == "市府办"


def test_move_needs_power_over_both_ends(tree: dict[str, Any]) -> None:
    with pytest.raises(NotPermitted):
        services.do_move_organisation(
            tree["city_office"],
            new_parent=tree["other_city"],
            acting=_acting(tree["city_sysadmin"]),
        )
    services.do_move_organisation(
        tree["city_office"], new_parent=tree["other_city"], acting=_acting(tree["sysadmin"])
    )
    assert "org.moved" in _actions()


def test_deactivate_refuses_with_active_children_or_people(tree: dict[str, Any]) -> None:
    acting = _acting(tree["sysadmin"])
    with pytest.raises(Conflict):
        services.do_deactivate_organisation(tree["city"], acting=acting)
    with pytest.raises(Conflict):
        services.do_deactivate_organisation(tree["office"], acting=acting)
    org = services.do_deactivate_organisation(tree["other_city"], acting=acting)
    assert not org.is_active
    assert _actions()[-1] == "org.deactivated"


# Users and positions -------------------------------------------------------------------------


def test_create_user_with_primary_position(tree: dict[str, Any]) -> None:
    user = services.do_create_user(
        username="newbie",
        position=services.NewPosition(tree["city_office"], "科员"),
        password="Xy7#kLmn2q",
        acting=_acting(tree["city_sysadmin"]),
        full_name="新人",
    )
    assert user.check_password("Xy7#kLmn2q") and user.must_change_password
    assert user.positions.get().is_primary
    assert _actions()[-1] == "user.created"


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"username": ""}, "username"),
        ({"username": "bad name!"}, "username"),
        ({"password": "short"}, "password"),
        ({"email": "nope"}, "email"),
        ({"phone": "call me"}, "phone"),
    ],
)
def test_create_user_bad_input(tree: dict[str, Any], kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"username": "someone", **kwargs}
    with pytest.raises(DomainError) as excinfo:
        services.do_create_user(
            position=services.NewPosition(tree["office"]), acting=_acting(tree["sysadmin"]), **args
        )
    assert excinfo.value.field == field
    assert not User.objects.filter(username="someone").exists()


def test_username_taken_case_insensitively(tree: dict[str, Any]) -> None:
    with pytest.raises(Conflict):
        services.do_create_user(
            username=tree["clerk"].username.upper(),
            position=services.NewPosition(tree["office"]),
            acting=_acting(tree["sysadmin"]),
        )


def test_security_admin_cannot_create_users(tree: dict[str, Any]) -> None:
    with pytest.raises(NotPermitted):
        services.do_create_user(
            username="x1",
            position=services.NewPosition(tree["office"]),
            acting=_acting(tree["secadmin"]),
        )


def test_positions_add_and_remove(tree: dict[str, Any]) -> None:
    acting = _acting(tree["sysadmin"])
    clerk = tree["clerk"]
    second = services.do_add_position(clerk, organisation=tree["city"], title="挂职", acting=acting)
    assert not second.is_primary
    with pytest.raises(Conflict):
        services.do_add_position(clerk, organisation=tree["city"], title="挂职", acting=acting)
    first = clerk.positions.get(is_primary=True)
    assert PositionRole.objects.filter(position=first).exists()
    services.do_remove_position(first, acting=acting)
    first.refresh_from_db()
    second.refresh_from_db()
    assert not first.is_active and not first.role_grants.exists()
    assert second.is_primary
    assert _actions()[-2:] == ["position.added", "position.removed"]


def test_update_and_deactivate_user(tree: dict[str, Any]) -> None:
    acting = _acting(tree["sysadmin"])
    services.do_update_user(tree["clerk"], acting=acting, full_name="改名")
    services.do_deactivate_user(tree["clerk"], acting=acting)
    tree["clerk"].refresh_from_db()
    assert tree["clerk"].full_name == "改名" and not tree["clerk"].is_active
    with pytest.raises(NotPermitted):
        services.do_deactivate_user(tree["sysadmin"], acting=acting)
    with pytest.raises(NotPermitted):
        services.do_update_user(tree["clerk"], acting=_acting(tree["city_sysadmin"]), phone="1")


def test_an_ended_position_gives_no_power_over_the_person(tree: dict[str, Any]) -> None:
    """Someone who left the city for the province is no longer the city's to edit or disable;
    the city's administrator may still give them a position again."""
    system = Acting.system("test")
    person = make_member(tree["city_office"], Role.CLERK)
    services.do_add_position(person, organisation=tree["office"], title="借调", acting=system)
    services.do_remove_position(
        person.positions.get(organisation=tree["city_office"]), acting=system
    )
    city_sysadmin = _acting(tree["city_sysadmin"])
    with pytest.raises(NotPermitted):
        services.do_update_user(person, acting=city_sysadmin, email="x@example.com")
    with pytest.raises(NotPermitted):
        services.do_deactivate_user(person, acting=city_sysadmin)
    person.refresh_from_db()
    assert person.is_active and person.email != "x@example.com"
    # The province's administrator still may; a person with no active position at all stays
    # with the administrators of the units they had positions in.
    services.do_update_user(person, acting=_acting(tree["sysadmin"]), full_name="调任")
    services.do_remove_position(person.positions.get(organisation=tree["office"]), acting=system)
    services.do_update_user(person, acting=city_sysadmin, full_name="离任")
    services.do_add_position(person, organisation=tree["city"], acting=city_sysadmin)


# Roles ---------------------------------------------------------------------------------------


def test_security_admin_grants_and_revokes(tree: dict[str, Any]) -> None:
    position = tree["clerk"].positions.get()
    acting = _acting(tree["secadmin"])
    services.do_grant_role(position, Role.DRAFTER, acting=acting)
    assert set(position.roles) == {"clerk", "drafter"}
    services.do_revoke_role(position, Role.CLERK, acting=acting)
    assert position.roles == ["drafter"]
    assert _actions()[-2:] == ["role.granted", "role.revoked"]


@pytest.mark.parametrize("who", ["sysadmin", "auditor", "city_secadmin"])
def test_others_cannot_grant(tree: dict[str, Any], who: str) -> None:
    position = tree["clerk"].positions.get()
    with pytest.raises(NotPermitted):
        services.do_grant_role(position, Role.SIGNER, acting=_acting(tree[who]))
    assert position.roles == ["clerk"]


def test_nobody_grants_themselves(tree: dict[str, Any]) -> None:
    position = tree["secadmin"].positions.get()
    with pytest.raises(NotPermitted):
        services.do_grant_role(position, Role.CLERK, acting=_acting(tree["secadmin"]))


def test_three_admin_roles_stay_with_three_people(tree: dict[str, Any]) -> None:
    acting = _acting(tree["secadmin"])
    sysadmin_position = tree["sysadmin"].positions.get()
    with pytest.raises(Conflict) as excinfo:
        services.do_grant_role(sysadmin_position, Role.AUDIT_ADMIN, acting=acting)
    assert excinfo.value.field == "roles"
    # Not through a second position either.
    other = services.do_add_position(
        tree["sysadmin"], organisation=tree["city"], title="兼职", acting=Acting.system("t")
    )
    with pytest.raises(Conflict):
        services.do_grant_role(other, Role.SECURITY_ADMIN, acting=acting)
    # The same admin role in a second position is allowed.
    services.do_grant_role(other, Role.SYSTEM_ADMIN, acting=acting)
    # Once the first position ends, the person may take another admin role.
    with pytest.raises(Conflict):
        services.do_grant_role(other, Role.AUDIT_ADMIN, acting=acting)


def test_set_position_roles_is_all_or_nothing(tree: dict[str, Any]) -> None:
    position = tree["clerk"].positions.get()
    acting = _acting(tree["secadmin"])
    services.do_set_position_roles(position, {Role.CLERK, Role.REVIEWER}, acting=acting)
    assert set(position.roles) == {"clerk", "reviewer"}
    person = UserFactory.create()
    PositionFactory.create(user=person, organisation=tree["office"], roles=[Role.AUDIT_ADMIN])
    second = PositionFactory.create(user=person, organisation=tree["city"], is_primary=False)
    with pytest.raises(Conflict):
        services.do_set_position_roles(second, {Role.CLERK, Role.SYSTEM_ADMIN}, acting=acting)
    # The clerk role granted before the refused one was rolled back with it.
    assert second.roles == []
    with pytest.raises(DomainError):
        services.do_set_position_roles(position, {"emperor"}, acting=acting)


def test_unlock_user(tree: dict[str, Any]) -> None:
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(
        username=tree["clerk"].username,
        ip_address="10.0.0.1",
        user_agent="t",
        failures_since_start=9,
    )
    with pytest.raises(NotPermitted):
        services.do_unlock_user(tree["clerk"], acting=_acting(tree["sysadmin"]))
    removed = services.do_unlock_user(tree["clerk"], acting=_acting(tree["secadmin"]))
    assert removed == 1
    assert not AccessAttempt.objects.filter(username=tree["clerk"].username).exists()
    assert _actions()[-1] == "user.unlocked"


def test_auditor_writes_nothing(tree: dict[str, Any]) -> None:
    acting = _acting(tree["auditor"])
    calls = [
        lambda: services.do_update_organisation(tree["office"], acting=acting, name="x"),
        lambda: services.do_deactivate_user(tree["clerk"], acting=acting),
        lambda: services.do_add_position(tree["clerk"], organisation=tree["city"], acting=acting),
        lambda: services.do_revoke_role(tree["clerk"].positions.get(), "clerk", acting=acting),
        lambda: services.do_unlock_user(tree["clerk"], acting=acting),
    ]
    for call in calls:
        with pytest.raises(NotPermitted):
            call()
    assert Position.objects.filter(user=tree["clerk"]).count() == 1


def test_sysadmin_cannot_strip_the_other_admins(tree: dict[str, Any]) -> None:
    acting = _acting(tree["sysadmin"])
    with pytest.raises(Conflict):
        services.do_remove_position(tree["auditor"].positions.get(), acting=acting)
    with pytest.raises(Conflict):
        services.do_deactivate_user(tree["secadmin"], acting=acting)
    assert tree["auditor"].positions.get().roles == ["audit_admin"]
    assert User.objects.get(pk=tree["secadmin"].pk).is_active
    services.do_revoke_role(
        tree["auditor"].positions.get(), Role.AUDIT_ADMIN, acting=_acting(tree["secadmin"])
    )
    services.do_remove_position(tree["auditor"].positions.get(), acting=acting)
