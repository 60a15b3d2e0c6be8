"""Scope: 404 outside it, never 403; constant queries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.http import Http404

from egov.orgs import selectors
from egov.orgs.choices import Role
from egov.orgs.models import User
from egov.orgs.tests.factories import OrganisationFactory, PositionFactory, make_member

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def tree() -> dict[str, Any]:
    root = OrganisationFactory.create()
    a = OrganisationFactory.create(parent=root)
    a1 = OrganisationFactory.create(parent=a)
    b = OrganisationFactory.create(parent=root)
    return {
        "root": root,
        "a": a,
        "a1": a1,
        "b": b,
        "a_member": make_member(a, Role.CLERK),
        "a_admin": make_member(a, Role.SYSTEM_ADMIN),
        "b_member": make_member(b, Role.CLERK),
        "root_auditor": make_member(root, Role.AUDIT_ADMIN),
    }


def test_member_sees_own_unit_only(tree: dict[str, Any]) -> None:
    user = _fresh(tree["a_member"])
    assert selectors.access_organisation_by_id(user, tree["a"].uuid) == tree["a"]
    for other in ("root", "a1", "b"):
        with pytest.raises(Http404):
            selectors.access_organisation_by_id(user, tree[other].uuid)


def test_admin_sees_subtree(tree: dict[str, Any]) -> None:
    user = _fresh(tree["a_admin"])
    assert selectors.access_organisation_by_id(user, tree["a1"].uuid) == tree["a1"]
    assert selectors.access_managed_organisation_by_id(user, str(tree["a1"].uuid)) == tree["a1"]
    with pytest.raises(Http404):
        selectors.access_organisation_by_id(user, tree["b"].uuid)
    with pytest.raises(Http404):
        selectors.access_managed_organisation_by_id(user, tree["a1"].uuid, {Role.SECURITY_ADMIN})


@pytest.mark.parametrize("bad", ["", "nope", 12, None, "00000000-0000-0000-0000-00000000000g"])
def test_malformed_ids_are_404(tree: dict[str, Any], bad: Any) -> None:
    with pytest.raises(Http404):
        selectors.access_organisation_by_id(_fresh(tree["root_auditor"]), bad)
    with pytest.raises(Http404):
        selectors.access_user_by_id(_fresh(tree["root_auditor"]), bad)


def test_users_in_scope(tree: dict[str, Any]) -> None:
    outsider = _fresh(tree["b_member"])
    assert selectors.access_user_by_id(outsider, outsider.uuid) == outsider
    with pytest.raises(Http404):
        selectors.access_user_by_id(outsider, tree["a_member"].uuid)
    with pytest.raises(Http404):
        selectors.access_user_by_id(outsider, uuid.uuid4())
    colleague = _fresh(tree["a_admin"])
    assert selectors.access_user_by_id(colleague, tree["a_member"].uuid) == tree["a_member"]
    auditor = _fresh(tree["root_auditor"])
    assert set(selectors.list_users_for(auditor)) >= {tree["a_member"], tree["b_member"]}
    assert list(selectors.list_users_for(auditor, role=Role.SYSTEM_ADMIN)) == [tree["a_admin"]]


def test_positions_out_of_scope_are_404(tree: dict[str, Any]) -> None:
    position = tree["a_member"].positions.get()
    with pytest.raises(Http404):
        selectors.access_position_by_id(_fresh(tree["b_member"]), position.uuid)
    assert selectors.access_position_by_id(_fresh(tree["a_admin"]), position.uuid) == position


def test_inactive_people_and_units_see_nothing(tree: dict[str, Any]) -> None:
    user = _fresh(tree["a_member"])
    user.is_active = False
    assert not selectors.visible_organisations(user).exists()
    tree["b"].is_active = False
    tree["b"].save()
    assert not selectors.visible_organisations(_fresh(tree["b_member"])).exists()


def test_breadcrumb_marks_what_may_be_opened(tree: dict[str, Any]) -> None:
    crumbs = selectors.visible_ancestors(_fresh(tree["a_admin"]), tree["a1"])
    assert crumbs == [(tree["root"], False), (tree["a"], True)]


@pytest.mark.parametrize("n", [3, 30])
def test_scope_queries_are_constant(
    tree: dict[str, Any], n: int, django_assert_max_num_queries: Any
) -> None:
    user = _fresh(tree["root_auditor"])
    for _ in range(n):
        PositionFactory.create(organisation=OrganisationFactory.create(parent=tree["a"]))
    with django_assert_max_num_queries(4):  # scope: 2, then one each
        orgs = list(selectors.list_organisations_for(user))
        users = list(selectors.list_users_for(user))
    assert len(orgs) == 4 + n and len(users) >= n


def test_admins_still_see_people_whose_positions_ended(tree: dict[str, Any]) -> None:
    position = tree["a_member"].positions.get()
    position.is_active = False
    position.save()
    assert selectors.access_user_by_id(_fresh(tree["a_admin"]), tree["a_member"].uuid)
    colleague = make_member(tree["a"], Role.CLERK)
    with pytest.raises(Http404):
        selectors.access_user_by_id(_fresh(colleague), tree["a_member"].uuid)
