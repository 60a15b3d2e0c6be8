"""The materialised path: ancestors and descendants in constant queries; moves."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.orgs import services
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

SYSTEM = Acting.system("test")


def _chain(depth: int) -> list[Organisation]:
    orgs = [OrganisationFactory.create()]
    for _ in range(depth - 1):
        orgs.append(OrganisationFactory.create(parent=orgs[-1]))
    return orgs


def _wide(root: Organisation, n: int) -> None:
    for _ in range(n):
        OrganisationFactory.create(parent=root)


@pytest.mark.parametrize("depth,width", [(3, 5), (12, 60)])
def test_ancestors_and_descendants_take_one_query(depth: int, width: int) -> None:
    chain = _chain(depth)
    _wide(chain[0], width)
    leaf = Organisation.objects.get(pk=chain[-1].pk)
    root = Organisation.objects.get(pk=chain[0].pk)
    with CaptureQueriesContext(connection) as ctx:
        ancestors = list(leaf.ancestors())
        descendants = list(root.descendants())
    assert len(ctx.captured_queries) == 2
    assert [a.pk for a in ancestors] == [o.pk for o in chain[:-1]]
    assert len(descendants) == depth - 1 + width
    assert leaf.depth == depth - 1


def test_path_and_depth_are_set_on_create() -> None:
    root, child, grandchild = _chain(3)
    grandchild.refresh_from_db()
    assert grandchild.path == f"/{root.pk:09d}/{child.pk:09d}/{grandchild.pk:09d}/"
    assert grandchild.depth == 2
    assert grandchild.ancestor_ids == [root.pk, child.pk]


def test_move_rewrites_the_subtree_in_one_update() -> None:
    root = OrganisationFactory.create()
    a = OrganisationFactory.create(parent=root)
    b = OrganisationFactory.create(parent=root)
    a1 = OrganisationFactory.create(parent=a)
    a11 = OrganisationFactory.create(parent=a1)
    with CaptureQueriesContext(connection) as ctx:
        services.do_move_organisation(a, new_parent=b, acting=SYSTEM)
    updates = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("UPDATE") and "orgs_organisation" in q["sql"]
    ]
    assert len(updates) == 2  # the subtree's paths, then the unit's parent
    for org in (a, a1, a11):
        org.refresh_from_db()
    assert a.parent_id == b.pk
    assert a.path == f"{b.path}{a.pk:09d}/" and a.depth == 2
    assert a1.path == f"{a.path}{a1.pk:09d}/" and a1.depth == 3
    assert a11.path == f"{a1.path}{a11.pk:09d}/" and a11.depth == 4
    assert set(b.descendants().values_list("pk", flat=True)) == {a.pk, a1.pk, a11.pk}
    assert not root.descendants().filter(pk=a.pk, parent=root).exists()


def test_move_under_own_descendant_is_refused() -> None:
    root = OrganisationFactory.create()
    a = OrganisationFactory.create(parent=root)
    a1 = OrganisationFactory.create(parent=a)
    for target in (a, a1):
        with pytest.raises(DomainError) as excinfo:
            services.do_move_organisation(a, new_parent=target, acting=SYSTEM)
        assert excinfo.value.field == "parent"
    a.refresh_from_db()
    assert a.parent_id == root.pk


def test_move_to_current_parent_changes_nothing() -> None:
    root = OrganisationFactory.create()
    a = OrganisationFactory.create(parent=root)
    before = a.path
    services.do_move_organisation(a, new_parent=root, acting=SYSTEM)
    a.refresh_from_db()
    assert a.path == before
