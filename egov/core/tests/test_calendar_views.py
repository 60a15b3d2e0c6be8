"""The system administrator's working-day calendar page."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from egov.core.acting import Acting
from egov.core.models import AuditEvent, CalendarOverride, CalendarYear
from egov.core.services import do_set_calendar_override
from egov.orgs.choices import Role
from egov.orgs.models import User
from egov.orgs.tests.factories import make_member
from egov.orgs.tests.otp_helpers import login_verified

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
URL = "/core/calendar/"
SYSTEM = Acting.system("test")


@pytest.fixture(autouse=True)
def late_2026() -> object:
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=SH), tick=False) as t:
        yield t


@pytest.fixture
def sysadmin() -> User:
    return make_member(None, Role.SYSTEM_ADMIN)


@pytest.fixture
def admin_client(client: Client, sysadmin: User) -> Client:
    login_verified(client, sysadmin)
    return client


def override(day: date, working: bool = False, note: str = "") -> CalendarOverride:
    return do_set_calendar_override(day=day, is_working_day=working, note=note, acting=SYSTEM)


def test_urls() -> None:
    assert reverse("core:calendar_admin") == URL
    assert reverse("core:calendar_year_confirm") == "/core/calendar/confirm-year/"
    assert (
        reverse("core:calendar_override_delete", args=[3]) == "/core/calendar/overrides/3/delete/"
    )


@pytest.mark.parametrize("role", [None, Role.CLERK, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN])
def test_only_the_system_administrator(client: Client, role: str | None) -> None:
    user = make_member(None, *([role] if role else []))
    login_verified(client, user)
    existing = override(date(2027, 1, 1))
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"date": "2027-01-02", "is_working_day": "0"}).status_code == 404
    assert client.post(f"/core/calendar/overrides/{existing.pk}/delete/").status_code == 404
    assert client.post("/core/calendar/confirm-year/", {"year": "2027"}).status_code == 404
    assert CalendarOverride.objects.count() == 1
    assert not CalendarYear.objects.exists()


def test_anonymous_is_sent_to_log_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_page_warns_about_next_year(admin_client: Client) -> None:
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert response.context["uncovered"] == [2027]
    assert b'data-testid="calendar-uncovered"' in response.content
    assert b'data-testid="confirm-year-2027"' in response.content


def test_add_edit_delete_an_override(admin_client: Client) -> None:
    response = admin_client.post(
        URL + "?year=2027", {"date": "2027-01-01", "is_working_day": "0", "note": "元旦"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/core/calendar/?year=2027"
    created = CalendarOverride.objects.get()
    assert (created.date, created.is_working_day, created.note) == (date(2027, 1, 1), False, "元旦")

    page = admin_client.get(URL, {"year": "2027"})
    assert b'data-testid="override-2027-01-01"' in page.content
    edit = admin_client.get(URL, {"edit": created.pk})
    assert edit.status_code == 200
    assert edit.context["editing"] is True

    response = admin_client.post(
        URL,
        {"override_id": created.pk, "date": "2027-01-02", "is_working_day": "1", "note": "调休"},
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert (created.date, created.is_working_day) == (date(2027, 1, 2), True)

    response = admin_client.post(f"/core/calendar/overrides/{created.pk}/delete/")
    assert response.status_code == 302
    assert not CalendarOverride.objects.exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="core.calendar_override").values_list(
            "action", flat=True
        )
    )
    assert actions == [
        "core.calendar_override.set",
        "core.calendar_override.set",
        "core.calendar_override.delete",
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"date": "2027-02-30", "is_working_day": "0"}, "date"),
        ({"date": "not a date", "is_working_day": "0"}, "date"),
        ({"date": "", "is_working_day": "0"}, "date"),
        ({"date": "1899-01-01", "is_working_day": "0"}, "date"),
        ({"date": "2027-01-05", "is_working_day": "maybe"}, "is_working_day"),
        ({"date": "2027-01-05", "is_working_day": "0", "note": "x" * 201}, "note"),
        ({"date": "2027-01-05", "is_working_day": "0", "override_id": "abc"}, "override_id"),
        ({"date": "2027-01-01", "is_working_day": "1"}, "date"),  # already has one
    ],
)
def test_bad_input_is_named_next_to_the_field(
    admin_client: Client, data: dict[str, str], field: str
) -> None:
    override(date(2027, 1, 1))
    before = CalendarOverride.objects.count()
    response = admin_client.post(URL, data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    if field != "override_id":
        assert f'data-testid="error-{field}"'.encode() in response.content
    assert CalendarOverride.objects.count() == before
    assert CalendarOverride.objects.get(date=date(2027, 1, 1)).is_working_day is False


def test_editing_a_missing_override(admin_client: Client) -> None:
    assert admin_client.get(URL, {"edit": "999999"}).status_code == 404
    response = admin_client.post(
        URL, {"override_id": "999999", "date": "2027-01-05", "is_working_day": "0"}
    )
    assert response.status_code == 400
    assert not CalendarOverride.objects.exists()
    assert admin_client.post("/core/calendar/overrides/999999/delete/").status_code == 404


def test_wrong_methods(admin_client: Client) -> None:
    assert admin_client.get("/core/calendar/confirm-year/").status_code == 405
    assert admin_client.get("/core/calendar/overrides/1/delete/").status_code == 405


def test_confirming_a_year(admin_client: Client) -> None:
    # Nothing entered for 2027 yet: refused, named on the year.
    response = admin_client.post("/core/calendar/confirm-year/", {"year": "2027"})
    assert response.status_code == 400
    assert "year" in response.context["confirm_form"].errors
    assert not CalendarYear.objects.exists()

    override(date(2027, 1, 1), note="元旦")
    response = admin_client.post("/core/calendar/confirm-year/", {"year": "2027"})
    assert response.status_code == 302
    confirmed = CalendarYear.objects.get()
    assert confirmed.year == 2027
    assert confirmed.confirmed_by
    page = admin_client.get(URL)
    assert page.context["uncovered"] == []
    assert b'data-testid="calendar-uncovered"' not in page.content
    # Again: no second row, no second audit event.
    admin_client.post("/core/calendar/confirm-year/", {"year": "2027"})
    assert CalendarYear.objects.count() == 1
    assert AuditEvent.objects.filter(action="core.calendar_year.confirm").count() == 1


@pytest.mark.parametrize("year", ["2026", "abc", "", "99999", "-1"])
def test_confirming_bad_years(admin_client: Client, year: str) -> None:
    response = admin_client.post("/core/calendar/confirm-year/", {"year": year})
    assert response.status_code == 400
    assert "year" in response.context["confirm_form"].errors
    assert not CalendarYear.objects.exists()


@pytest.mark.parametrize("year", ["abc", "1", "2026", "2025"])
def test_year_parameter_is_forgiving(admin_client: Client, year: str) -> None:
    response = admin_client.get(URL, {"year": year})
    assert response.status_code == 200


def test_page_queries_do_not_grow_with_overrides(
    admin_client: Client, django_assert_max_num_queries
) -> None:
    override(date(2027, 1, 1))
    admin_client.get(URL, {"year": "2027"})  # warm the session and caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        admin_client.get(URL, {"year": "2027"})
    for day in range(2, 28):
        override(date(2027, 2, day))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(URL, {"year": "2027"})
    assert len(response.context["overrides"]) == 27
