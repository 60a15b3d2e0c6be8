"""The foundation's own to-do providers, seen through the home page and the registry."""

from __future__ import annotations

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse
from factory.django import DjangoModelFactory

from egov.core.todos import todos_for
from egov.orgs.choices import Role
from egov.orgs.tests.factories import OrganisationFactory, make_member

pytestmark = pytest.mark.django_db


class AccessAttemptFactory(DjangoModelFactory[AccessAttempt]):
    """django-axes' record of failed logins for one username, address and browser."""

    class Meta:
        model = AccessAttempt

    ip_address = "10.0.0.9"
    user_agent = "test"
    http_accept = "*/*"
    path_info = "/accounts/login/"
    get_data = ""
    post_data = ""
    failures_since_start = 5


def lock(username: str, failures: int = 5) -> None:
    AccessAttemptFactory(username=username, failures_since_start=failures)


def test_security_admin_sees_locked_accounts_in_scope_only():
    province = OrganisationFactory()
    city = OrganisationFactory(parent=province)
    elsewhere = OrganisationFactory()
    secadmin = make_member(province, Role.SECURITY_ADMIN)
    inside = make_member(city, Role.CLERK)
    outside = make_member(elsewhere, Role.CLERK)
    lock(inside.username)
    lock(outside.username)
    lock("nobody-by-this-name")
    items, summaries = todos_for(secadmin)
    locked = [i for i in items if i.kind == "account_locked"]
    assert [i.object_id for i in locked] == [str(inside.uuid)]
    assert next(s for s in summaries if s.subsystem == "accounts").count == 1


def test_below_the_limit_is_not_locked():
    province = OrganisationFactory()
    secadmin = make_member(province, Role.SECURITY_ADMIN)
    lock(make_member(province, Role.CLERK).username, failures=4)
    items, _ = todos_for(secadmin)
    assert not [i for i in items if i.kind == "account_locked"]


def test_clerk_gets_no_admin_todos():
    clerk = make_member(None, Role.CLERK)
    lock(clerk.username)
    items, summaries = todos_for(clerk)
    assert items == []
    assert all(s.count == 0 for s in summaries)


@time_machine.travel("2026-11-25 10:00 +0800")
def test_system_admin_is_asked_to_fill_in_next_year(client):
    admin = make_member(None, Role.SYSTEM_ADMIN)
    items, _ = todos_for(admin)
    calendar = [i for i in items if i.kind == "calendar_year"]
    assert [i.object_id for i in calendar] == ["2027"]
    assert calendar[0].url == reverse("core:calendar_admin")
    assert calendar[0].state in {"on_time", "due_soon"}
