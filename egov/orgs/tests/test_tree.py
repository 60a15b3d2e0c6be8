"""The materialised path: ancestors and descendants in constant queries; moves."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.orgs import services
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import OrganisationFactory
from egov.orgs.uscc import make_uscc

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


# --- concurrency (PostgreSQL row locks) ------------------------------------------------------


def _in_thread(target: Any, errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_unit_created_under_a_moving_subtree_gets_the_new_path(monkeypatch: Any) -> None:
    """While a subtree moves, a unit created under one of its units waits for the move and
    takes the new path (it used to read the old one and keep it for ever)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row locks matter on PostgreSQL")
    root = OrganisationFactory.create()
    a = OrganisationFactory.create(parent=root)
    b = OrganisationFactory.create(parent=root)
    a1 = OrganisationFactory.create(parent=a)
    moved, release = threading.Event(), threading.Event()
    real_record_audit = services.record_audit

    def record_audit_then_wait(action: str, **kwargs: Any) -> Any:
        event = real_record_audit(action, **kwargs)
        if action == "org.moved":  # the paths are rewritten; the move has not committed yet
            moved.set()
            release.wait(timeout=30)
        return event

    monkeypatch.setattr(services, "record_audit", record_audit_then_wait)
    errors: list[BaseException] = []
    mover = _in_thread(
        lambda: services.do_move_organisation(a, new_parent=b, acting=SYSTEM), errors
    )
    assert moved.wait(timeout=30)
    created: list[Organisation] = []
    creator = _in_thread(
        lambda: created.append(
            services.do_create_organisation(
                parent=a1,
                acting=SYSTEM,
                code=make_uscc("1", "1", "130100", "MNEW0001"),
                name="新处室",
                kind="internal_unit",
                level="province",
            )
        ),
        errors,
    )
    creator.join(timeout=0.5)  # without the parent's lock it finishes here, reading old paths
    release.set()
    mover.join(timeout=30)
    creator.join(timeout=30)
    assert errors == []
    child = Organisation.objects.get(pk=created[0].pk)
    a1.refresh_from_db()
    assert a1.path.startswith(Organisation.objects.get(pk=b.pk).path)
    assert child.path == f"{a1.path}{child.pk:09d}/"
    assert child.depth == a1.depth + 1


@pytest.mark.django_db(transaction=True)
def test_opposite_moves_lock_in_one_order() -> None:
    """A under B in one transaction and C under D in another must not lock A, then B while the
    other locks B, then A: both ends are locked in one statement, in key order."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row locks matter on PostgreSQL")
    root = OrganisationFactory.create()
    low = OrganisationFactory.create(parent=root)
    high = OrganisationFactory.create(parent=root)
    with CaptureQueriesContext(connection) as ctx:
        services.do_move_organisation(high, new_parent=low, acting=SYSTEM)
    locks = [
        q["sql"]
        for q in ctx.captured_queries
        if "FOR UPDATE" in q["sql"] and 'FROM "orgs_organisation"' in q["sql"]
    ]
    # The two ends in one statement, by key; then the subtree.
    assert str(low.pk) in locks[0] and str(high.pk) in locks[0]
    assert 'ORDER BY "orgs_organisation"."id" ASC' in locks[0]


@pytest.mark.django_db(transaction=True)
def test_no_position_is_added_to_a_unit_being_deactivated(monkeypatch: Any) -> None:
    """Deactivation checks that no active position is left; a position added meanwhile must
    wait and then be refused (it used to land in the inactive unit)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row locks matter on PostgreSQL")
    from egov.core.errors import DomainError as Refused
    from egov.orgs.models import Position
    from egov.orgs.tests.factories import UserFactory

    root = OrganisationFactory.create()
    unit = OrganisationFactory.create(parent=root)
    person = UserFactory.create()
    checked, release = threading.Event(), threading.Event()
    real_record_audit = services.record_audit

    def record_audit_then_wait(action: str, **kwargs: Any) -> Any:
        event = real_record_audit(action, **kwargs)
        if action == "org.deactivated":  # checked and written, not committed yet
            checked.set()
            release.wait(timeout=30)
        return event

    monkeypatch.setattr(services, "record_audit", record_audit_then_wait)
    errors: list[BaseException] = []
    deactivating = _in_thread(
        lambda: services.do_deactivate_organisation(unit, acting=SYSTEM), errors
    )
    assert checked.wait(timeout=30)
    adding = _in_thread(
        lambda: services.do_add_position(person, organisation=unit, acting=SYSTEM), errors
    )
    adding.join(timeout=0.5)  # without the unit's lock it finishes here
    release.set()
    deactivating.join(timeout=30)
    adding.join(timeout=30)
    assert not Organisation.objects.get(pk=unit.pk).is_active
    assert not Position.objects.filter(organisation=unit, is_active=True).exists()
    assert len(errors) == 1 and isinstance(errors[0], Refused)
    assert errors[0].field == "organisation"
