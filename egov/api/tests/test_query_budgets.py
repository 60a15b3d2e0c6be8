"""List endpoints run the same number of queries whatever the number of rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from egov.api.testing import ApiClient, bearer_for
from egov.api.tests.factories import ApiDeviceFactory, NotificationFactory
from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.orgs.choices import Role
from egov.orgs.tests.factories import OrganisationFactory, make_member


def _queries(client: ApiClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200, response.content
    return len(captured)


def _grow(make: Callable[[int], object], client: ApiClient, url: str) -> tuple[int, int]:
    make(3)
    small = _queries(client, url)
    make(30)
    large = _queries(client, url)
    return small, large


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/organisations",
        "/api/v1/organisations/{province}/children",
        "/api/v1/users",
        "/api/v1/users?role=clerk",
    ],
)
def test_organisation_and_user_lists(admin_client, tree, url):
    url = url.format(province=tree.province.uuid)

    def make(n: int) -> None:
        for _ in range(n):
            org = OrganisationFactory.create(parent=tree.province)
            make_member(org, Role.CLERK, Role.DRAFTER)

    small, large = _grow(make, admin_client, url)
    assert small == large
    assert large <= 8


def test_user_detail_and_me_do_not_grow_with_positions(admin_client, sysadmin, tree):
    from egov.orgs.tests.factories import PositionFactory

    small = _queries(admin_client, "/api/v1/me")
    for _ in range(5):
        PositionFactory.create(
            user=sysadmin,
            organisation=OrganisationFactory.create(),
            is_primary=False,
            roles=["clerk"],
        )
    assert _queries(admin_client, "/api/v1/me") == small
    assert _queries(admin_client, f"/api/v1/users/{sysadmin.uuid}") <= small + 2


def test_notifications(clerk_client, clerk):
    small, large = _grow(
        lambda n: NotificationFactory.create_batch(n, recipient=clerk),
        clerk_client,
        "/api/v1/notifications",
    )
    assert small == large


def test_devices(clerk_client, clerk):
    small, large = _grow(
        lambda n: ApiDeviceFactory.create_batch(n, user=clerk),
        clerk_client,
        "/api/v1/auth/devices",
    )
    assert small == large


def test_audit_events(tree, clerk):
    auditor = make_member(tree.province, Role.AUDIT_ADMIN, username="auditor")
    client = ApiClient(token=bearer_for(auditor))
    acting = Acting(user=clerk, position=clerk.current_position())

    def make(n: int) -> None:
        for i in range(n):
            record_audit("test.event", acting=acting, details={"i": i})

    small, large = _grow(make, client, "/api/v1/audit/events")
    assert small == large
