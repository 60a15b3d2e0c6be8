"""Fixtures for API tests: a small tree, users in it, validated clients."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from egov.api.testing import ApiClient, bearer_for
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, make_member


@dataclass
class Tree:
    province: Organisation
    office: Organisation
    department: Organisation
    city: Organisation
    other_province: Organisation


@pytest.fixture
def tree(db: None) -> Tree:
    province = OrganisationFactory.create(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE
    )
    office = OrganisationFactory.create(parent=province, kind=OrgKind.GENERAL_OFFICE)
    department = OrganisationFactory.create(parent=province, kind=OrgKind.DEPARTMENT)
    city = OrganisationFactory.create(parent=province, kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY)
    other = OrganisationFactory.create(name="另一省", kind=OrgKind.GOVERNMENT)
    return Tree(province, office, department, city, other)


@pytest.fixture
def sysadmin(tree: Tree) -> User:
    return make_member(tree.province, Role.SYSTEM_ADMIN, username="sysadmin")


@pytest.fixture
def clerk(tree: Tree) -> User:
    return make_member(tree.department, Role.CLERK, username="clerk")


@pytest.fixture
def admin_client(sysadmin: User) -> ApiClient:
    return ApiClient(token=bearer_for(sysadmin))


@pytest.fixture
def clerk_client(clerk: User) -> ApiClient:
    return ApiClient(token=bearer_for(clerk))


@pytest.fixture
def anon_client() -> ApiClient:
    return ApiClient()
