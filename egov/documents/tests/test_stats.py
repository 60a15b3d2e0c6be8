"""Statistics of official documents: figures per organisation and period, the overdue list, the
scope (own organisations; a general office's clerk sees the government below), a fixed number
of queries, and the page with good and bad periods.

Also home of the small document factories the report tests share, and of a test URL
configuration that adds the report views to the documents' URLs (until they are wired there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, include, path, reverse

import egov.urls
from egov.documents import report_views
from egov.documents import urls as documents_urls
from egov.documents.choices import (
    IncomingState,
    OutgoingState,
    Urgency,
)
from egov.documents.models import IncomingDocument
from egov.documents.stats import Period, document_stats
from egov.documents.tests.factories import (
    IncomingDocumentFactory,
    OutgoingDocumentFactory,
)
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, UserFactory, make_member

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 20, 10, 0, tzinfo=TZ)
MARCH = Period.month(2026, 3)

# --- test URL configuration: the documents' URLs plus the report views -------------------------

_report_patterns = [
    path("stats/", report_views.stats, name="stats"),
    path("out/<str:doc_id>/form.pdf", report_views.outgoing_form_pdf, name="outgoing_form_pdf"),
    path("in/<str:doc_id>/form.pdf", report_views.incoming_form_pdf, name="incoming_form_pdf"),
]
urlpatterns = [
    path(
        "documents/",
        include(([*_report_patterns, *documents_urls.urlpatterns], "documents")),
    ),
    *(
        p
        for p in egov.urls.urlpatterns
        if not (isinstance(p, URLResolver) and p.namespace == "documents")
    ),
]
URLCONF = "egov.documents.tests.test_stats"


def at(y: int, m: int, d: int, h: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=TZ)


# --- the world -----------------------------------------------------------------------------------


@dataclass
class World:
    province: Organisation
    office: Organisation
    city: Organisation
    city_unit: Organisation
    elsewhere: Organisation
    office_clerk: User
    office_drafter: User
    city_clerk: User
    outsider: User


@pytest.fixture
def world(db: Any) -> World:
    province = OrganisationFactory(
        name="河北省人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.PROVINCE
    )
    office = OrganisationFactory(
        name="河北省人民政府办公厅",
        kind=OrgKind.GENERAL_OFFICE,
        level=OrgLevel.PROVINCE,
        parent=province,
    )
    city = OrganisationFactory(
        name="石家庄市人民政府", kind=OrgKind.GOVERNMENT, level=OrgLevel.CITY, parent=province
    )
    city_unit = OrganisationFactory(
        name="石家庄市政府办公室秘书科",
        kind=OrgKind.INTERNAL_UNIT,
        level=OrgLevel.CITY,
        parent=city,
    )
    elsewhere = OrganisationFactory(name="山西省人民政府", kind=OrgKind.GOVERNMENT)
    return World(
        province=province,
        office=office,
        city=city,
        city_unit=city_unit,
        elsewhere=elsewhere,
        office_clerk=make_member(office, Role.CLERK),
        office_drafter=make_member(office, Role.DRAFTER),
        city_clerk=make_member(city, Role.CLERK),
        outsider=UserFactory(),
    )


@dataclass
class Docs:
    closed_late: IncomingDocument
    open_overdue: IncomingDocument
    closed_on_time: IncomingDocument
    waiting: IncomingDocument
    old_overdue: IncomingDocument


def month_of_documents(w: World) -> Docs:
    """March 2026 as described in each line; `NOW` is 20 March."""
    OutgoingDocumentFactory(
        organisation=w.office, state=OutgoingState.DISPATCHED, dispatched_at=at(2026, 3, 5)
    )
    OutgoingDocumentFactory(
        organisation=w.office, state=OutgoingState.DISPATCHED, dispatched_at=at(2026, 2, 27)
    )
    OutgoingDocumentFactory(organisation=w.office)  # a draft: not sent
    OutgoingDocumentFactory(
        organisation=w.elsewhere, state=OutgoingState.DISPATCHED, dispatched_at=at(2026, 3, 6)
    )
    city = w.city
    docs = Docs(
        # received 2 March, signed for after 4 hours, closed after 10 days — 2 days late
        closed_late=IncomingDocumentFactory(
            organisation=city,
            received_at=at(2026, 3, 2),
            signed_for_at=at(2026, 3, 2, 13),
            state=IncomingState.CLOSED,
            reply_due=date(2026, 3, 10),
            closed_at=at(2026, 3, 12),
            urgency=Urgency.URGENT,
        ),
        # received 10 March, signed for after 2 hours, in handling, due 15 March: overdue
        open_overdue=IncomingDocumentFactory(
            organisation=city,
            received_at=at(2026, 3, 10, 8),
            signed_for_at=at(2026, 3, 10, 10),
            state=IncomingState.IN_HANDLING,
            reply_due=date(2026, 3, 15),
        ),
        # received in February, closed 1 March after 9 days, on time
        closed_on_time=IncomingDocumentFactory(
            organisation=city,
            received_at=at(2026, 2, 20),
            signed_for_at=at(2026, 2, 20, 10),
            state=IncomingState.ARCHIVED,
            reply_due=date(2026, 3, 5),
            closed_at=at(2026, 3, 1),
        ),
        # received 18 March, not yet signed for
        waiting=IncomingDocumentFactory(organisation=city, received_at=at(2026, 3, 18)),
        # received in January, still in handling, due 1 February
        old_overdue=IncomingDocumentFactory(
            organisation=city,
            received_at=at(2026, 1, 10),
            signed_for_at=at(2026, 1, 10, 9, 30),
            state=IncomingState.IN_HANDLING,
            reply_due=date(2026, 2, 1),
        ),
    )
    IncomingDocumentFactory(
        organisation=w.office,
        received_at=at(2026, 3, 3),
        signed_for_at=at(2026, 3, 3, 10),
        state=IncomingState.SIGNED_FOR,
    )
    IncomingDocumentFactory(  # outside every scope of the world's people
        organisation=w.elsewhere,
        received_at=at(2026, 3, 3),
        state=IncomingState.IN_HANDLING,
        reply_due=date(2026, 3, 4),
    )
    return docs


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def rows_by_name(user: User, period: Period = MARCH) -> dict[str, Any]:
    return {u.name: u for u in document_stats(user, period).units}


# --- figures -------------------------------------------------------------------------------------


def test_figures_per_organisation(world: World) -> None:
    month_of_documents(world)
    rows = rows_by_name(world.office_clerk)
    city = rows["石家庄市人民政府"]
    assert (city.sent, city.received, city.signed_for, city.closed) == (0, 3, 2, 2)
    assert city.avg_sign_for_hours == pytest.approx(3.0)  # (4 + 2) / 2
    assert city.avg_close_days == pytest.approx(9.5)  # (10 + 9) / 2
    assert (city.overdue_open, city.closed_late, city.overdue) == (2, 1, 3)
    office = rows["河北省人民政府办公厅"]
    assert (office.sent, office.received, office.signed_for, office.closed) == (1, 1, 1, 0)
    assert office.avg_sign_for_hours == pytest.approx(1.0)
    assert office.avg_close_days is None
    assert office.overdue == 0


def test_totals_and_the_overdue_list(world: World) -> None:
    docs = month_of_documents(world)
    data = document_stats(world.office_clerk, MARCH)
    assert (data.total.sent, data.total.received, data.total.closed) == (1, 4, 2)
    assert data.total.avg_sign_for_hours == pytest.approx((4 + 2 + 1) / 3)
    assert data.total.overdue == 3
    listed = [(r.document.pk, r.days_overdue, r.closed_late) for r in data.overdue]
    assert listed == [
        (docs.old_overdue.pk, 47, False),  # 1 Feb → 20 Mar
        (docs.closed_late.pk, 2, True),  # due 10 Mar, closed 12 Mar
        (docs.open_overdue.pk, 5, False),  # due 15 Mar
    ]
    # the general office's clerk sees the city's figures but may not open its documents
    assert not any(r.visible for r in data.overdue)
    city_view = document_stats(world.city_clerk, MARCH)
    assert all(r.visible for r in city_view.overdue)


def test_another_period(world: World) -> None:
    month_of_documents(world)
    february = rows_by_name(world.city_clerk, Period.month(2026, 2))["石家庄市人民政府"]
    assert (february.received, february.closed, february.closed_late) == (1, 0, 0)
    assert february.overdue_open == 2  # open overdue documents count whatever the period
    days = rows_by_name(world.city_clerk, Period(date(2026, 3, 1), date(2026, 3, 5)))
    assert days["石家庄市人民政府"].received == 1
    assert days["石家庄市人民政府"].closed == 1  # closed 1 March


def test_a_day_boundary_is_local_time(world: World) -> None:
    # 31 March 23:30 in Beijing is still March, though it is 15:30 UTC the same day
    IncomingDocumentFactory(organisation=world.city, received_at=at(2026, 3, 31, 23, 30))
    IncomingDocumentFactory(organisation=world.city, received_at=at(2026, 4, 1, 0, 30))
    assert rows_by_name(world.city_clerk)["石家庄市人民政府"].received == 1


# --- scope ---------------------------------------------------------------------------------------


def test_scope_of_each_person(world: World) -> None:
    month_of_documents(world)
    # the general office's clerk: the office and the organisations of the provincial government
    assert set(rows_by_name(world.office_clerk)) == {"河北省人民政府办公厅", "石家庄市人民政府"}
    # a city clerk: the city only; a drafter of the office: the office only
    assert set(rows_by_name(world.city_clerk)) == {"石家庄市人民政府"}
    assert set(rows_by_name(world.office_drafter)) == {"河北省人民政府办公厅"}
    # nobody else's figures, and nothing for a person without a position
    nothing = document_stats(world.outsider, MARCH)
    assert nothing.units == [] and nothing.overdue == [] and nothing.total.received == 0


def test_own_organisation_is_listed_even_without_figures(world: World) -> None:
    rows = rows_by_name(world.city_clerk)
    assert list(rows) == ["石家庄市人民政府"] and rows["石家庄市人民政府"].is_empty


def test_a_signer_of_a_general_office_sees_below(world: World) -> None:
    month_of_documents(world)
    leader = make_member(world.office, Role.SIGNER)
    assert "石家庄市人民政府" in rows_by_name(leader)


def test_queries_do_not_grow_with_documents_and_organisations(world: World) -> None:
    month_of_documents(world)
    clerk = User.objects.get(pk=world.office_clerk.pk)
    with CaptureQueriesContext(connection) as small:
        document_stats(clerk, MARCH)
    for i in range(5):
        county = OrganisationFactory(
            name=f"测试县{i}", kind=OrgKind.GOVERNMENT, level=OrgLevel.COUNTY, parent=world.city
        )
        for _ in range(3):
            IncomingDocumentFactory(
                organisation=county,
                received_at=at(2026, 3, 4),
                signed_for_at=at(2026, 3, 4, 11),
                state=IncomingState.IN_HANDLING,
                reply_due=date(2026, 3, 6),
            )
        OutgoingDocumentFactory(
            organisation=county, state=OutgoingState.DISPATCHED, dispatched_at=at(2026, 3, 7)
        )
    clerk = User.objects.get(pk=world.office_clerk.pk)  # a new request: nothing cached
    with CaptureQueriesContext(connection) as large:
        data = document_stats(clerk, MARCH)
    assert len(data.units) == 7 and len(data.overdue) == 18
    assert len(large.captured_queries) == len(small.captured_queries) <= 8


# --- the page ------------------------------------------------------------------------------------


@pytest.mark.urls(URLCONF)
def test_the_page_shows_the_month(world: World, client: Client) -> None:
    docs = month_of_documents(world)
    client.force_login(world.city_clerk)
    response = client.get(reverse("documents:stats"), {"month": "2026-03"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="stats-table"' in html and "石家庄市人民政府" in html
    assert reverse("documents:incoming_detail", args=[docs.open_overdue.uuid]) in html
    assert response.context["data"].total.received == 3
    assert response.context["month"] == "2026-03"
    assert response.context["next_month"] == ""  # April is in the future


@pytest.mark.urls(URLCONF)
def test_the_page_defaults_to_this_month_and_takes_a_range(world: World, client: Client) -> None:
    month_of_documents(world)
    client.force_login(world.office_clerk)
    response = client.get(reverse("documents:stats"))
    assert response.status_code == 200 and response.context["period"] == MARCH
    response = client.get(
        reverse("documents:stats"), {"since": "2026-03-01", "until": "2026-03-05"}
    )
    assert response.status_code == 200
    assert response.context["period"] == Period(date(2026, 3, 1), date(2026, 3, 5))
    assert response.context["data"].total.received == 2  # the city 2 March, the office 3 March
    assert client.head(reverse("documents:stats")).status_code == 200


@pytest.mark.urls(URLCONF)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": "March"}, "month"),
        ({"month": "2026-03" * 50}, "month"),
        ({"since": "2026-03-01"}, "until"),
        ({"until": "2026-03-01"}, "since"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, "until"),
        ({"since": "2024-01-01", "until": "2026-03-01"}, "until"),
        ({"since": "yesterday", "until": "2026-03-01"}, "since"),
    ],
)
def test_a_bad_period_is_refused_with_the_field_named(
    world: World, client: Client, query: dict[str, str], field: str
) -> None:
    client.force_login(world.office_clerk)
    response = client.get(reverse("documents:stats"), query)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert response.context["period"] == MARCH  # the page still shows this month


@pytest.mark.urls(URLCONF)
def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get(reverse("documents:stats"))
    assert response.status_code == 302
    assert client.post(reverse("documents:stats")).status_code in (302, 405)
