"""The auditor's viewer: who may see it, filters, keyset paging, CSV export, bad input."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from egov.core.acting import Acting
from egov.core.audit import record_audit, verify_chain
from egov.core.choices import AuditOutcome
from egov.core.models import AuditEvent
from egov.core.views.audit import PAGE_SIZE, UTF8_BOM
from egov.orgs.choices import Role
from egov.orgs.tests.factories import OrganisationFactory, make_member
from egov.orgs.tests.otp_helpers import login_verified

pytestmark = pytest.mark.django_db

LIST = reverse("core:audit_list")
EXPORT = reverse("core:audit_export")


@pytest.fixture
def province():
    return OrganisationFactory.create(name="省政府办公厅")


@pytest.fixture
def auditor(province):
    return make_member(province, Role.AUDIT_ADMIN)


@pytest.fixture
def auditor_client(client, auditor):
    login_verified(client, auditor)
    return client


def _events(n: int, action: str = "test.happened", **kwargs) -> list[AuditEvent]:
    acting = kwargs.pop("acting", None) or Acting.system("robot")
    return [record_audit(action, acting=acting, **kwargs) for _ in range(n)]


def _seqs(response) -> list[int]:
    return [event.seq for event, _badge in response.context["events"]]


# --- who may look -------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize(
    "roles",
    [
        [Role.SYSTEM_ADMIN],
        [Role.SECURITY_ADMIN],
        [Role.CLERK],
        [],
        [Role.AUDIT_ADMIN, Role.SYSTEM_ADMIN],  # a 三员 breach does not open the trail either
    ],
)
@pytest.mark.parametrize("url_name", ["core:audit_list", "core:audit_export", "core:audit_detail"])
def test_everyone_but_the_auditor_gets_404(client, roles, url_name):
    event = _events(1)[0]
    user = make_member(None, *roles)
    login_verified(client, user)
    args = [event.seq] if url_name == "core:audit_detail" else []
    response = client.get(reverse(url_name, args=args))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action__in=["audit.viewed", "audit.exported"]).exists()


def test_superuser_without_the_role_gets_404(client):
    user = make_member(None, is_superuser=True, is_staff=True)
    login_verified(client, user)
    assert client.get(LIST).status_code == 404


def test_post_is_refused(auditor_client):
    assert auditor_client.post(LIST).status_code == 405


# --- the list ---------------------------------------------------------------------------------


def test_auditor_sees_newest_first_and_the_view_is_audited(auditor_client, auditor):
    _events(3)
    response = auditor_client.get(LIST)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert _seqs(response) == [3, 2, 1]  # the viewing event is recorded after the page is read
    viewed = AuditEvent.objects.get(action="audit.viewed")
    assert viewed.actor_id == auditor.pk
    assert viewed.organisation_name == "省政府办公厅"
    assert list(verify_chain()) == []


def test_filters(auditor_client, province):
    finance = OrganisationFactory.create(name="河北省财政厅", parent=province)
    clerk = make_member(finance, Role.CLERK, username="zhang")
    acting = Acting(user=clerk, position=clerk.current_position(), source_ip="10.0.0.9")
    assert acting.organisation is not None
    org_id = acting.organisation.pk
    _events(2, action="auth.login", acting=acting)
    _events(1, action="auth.login_failed", outcome=AuditOutcome.FAILURE, username="zhang")
    target = _events(1, action="org.updated", acting=acting, obj=acting.organisation)[0]
    _events(2, action="role.granted")
    cases = {
        "user=zhang": 4,
        "action=auth.login": 2,
        "action=auth.*": 3,
        "outcome=failure": 1,
        f"organisation={org_id}": 3,
        "organisation=财政": 3,
        f"object=orgs.organisation:{org_id}": 1,
        "object=河北省财政厅": 1,
        "user=zhang&action=org.updated": 1,
        "user=nobody": 0,
    }
    for query, expected in cases.items():
        response = auditor_client.get(f"{LIST}?{query}")
        assert response.status_code == 200, query
        assert len(response.context["events"]) == expected, query
    response = auditor_client.get(f"{LIST}?object=orgs.organisation:{org_id}")
    assert _seqs(response) == [target.seq]


def _acting_in(org) -> Acting:
    clerk = make_member(org, Role.CLERK)
    return Acting(user=clerk, position=clerk.current_position())


def test_an_auditor_sees_only_the_organisations_they_audit(client, province):
    city = OrganisationFactory.create(name="石家庄市人民政府", parent=province)
    county = OrganisationFactory.create(name="正定县人民政府", parent=city)
    other_city = OrganisationFactory.create(name="唐山市人民政府", parent=province)
    in_city = _events(1, acting=_acting_in(city))[0]
    in_county = _events(1, acting=_acting_in(county))[0]
    elsewhere = _events(1, acting=_acting_in(other_city))[0]
    orgless = _events(1, action="auth.login_failed", outcome=AuditOutcome.FAILURE)[0]
    city_auditor = make_member(city, Role.AUDIT_ADMIN)
    login_verified(client, city_auditor)
    response = client.get(LIST)
    assert response.status_code == 200
    assert in_city.seq in _seqs(response)
    assert in_county.seq in _seqs(response)
    assert elsewhere.seq not in _seqs(response)
    assert orgless.seq not in _seqs(response)
    for hidden in (elsewhere, orgless):
        detail = client.get(reverse("core:audit_detail", args=[hidden.seq]))
        assert detail.status_code == 404
    exported = {row[0] for row in _csv(client.get(EXPORT))[1:]}
    assert {str(in_city.seq), str(in_county.seq)} <= exported
    assert not {str(elsewhere.seq), str(orgless.seq)} & exported


def test_a_root_auditor_also_sees_events_without_an_organisation(auditor_client):
    orgless = _events(1, action="auth.login_failed", outcome=AuditOutcome.FAILURE)[0]
    assert orgless.seq in _seqs(auditor_client.get(LIST))


def test_time_range_uses_local_dates(auditor_client):
    # 2026-03-01 23:30 in Shanghai is 15:30 UTC the same day.
    with time_machine.travel(datetime(2026, 3, 1, 15, 30, tzinfo=UTC), tick=False):
        on_day = _events(1)[0]
    with time_machine.travel(datetime(2026, 3, 1, 16, 30, tzinfo=UTC), tick=False):
        next_day = _events(1)[0]
    response = auditor_client.get(f"{LIST}?since=2026-03-01&until=2026-03-01")
    assert _seqs(response) == [on_day.seq]
    response = auditor_client.get(f"{LIST}?since=2026-03-02")
    assert next_day.seq in _seqs(response)
    assert on_day.seq not in _seqs(response)


def test_keyset_paging_walks_the_whole_trail(auditor_client):
    _events(PAGE_SIZE * 2 + 5)
    seen: list[int] = []
    response = auditor_client.get(LIST)
    while True:
        seen.extend(_seqs(response))
        older = response.context["older"]
        if older is None:
            break
        response = auditor_client.get(f"{LIST}?before={older}")
    assert seen == list(range(PAGE_SIZE * 2 + 5, 0, -1))
    newer = response.context["newer"]
    back = auditor_client.get(f"{LIST}?after={newer}")
    assert _seqs(back) == list(range(PAGE_SIZE * 2 + 5 - PAGE_SIZE, 5, -1))
    assert back.context["older"] is not None


def test_list_query_count_does_not_grow(auditor_client):
    _events(3)
    with CaptureQueriesContext(connection) as small:
        assert auditor_client.get(LIST).status_code == 200
    _events(PAGE_SIZE * 3)
    with CaptureQueriesContext(connection) as large:
        assert auditor_client.get(f"{LIST}?before=100").status_code == 200
    assert len(large) <= len(small) + 1  # the "newer" exists() query when paging back


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=2026-02-30", "until"),
        ("since=2026-03-02&until=2026-03-01", "until"),
        ("outcome=maybe", "outcome"),
        ("action=DROP%20TABLE", "action"),
        ("user=" + "x" * 151, "user"),
        ("object=" + "x" * 301, "object"),
        ("before=abc", "before"),
        ("before=0", "before"),
        ("before=" + "9" * 30, "before"),
        ("after=-1", "after"),
        ("before=5&after=2", "after"),
    ],
)
def test_bad_filters_are_named(auditor_client, query, field):
    response = auditor_client.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert f'data-testid="error-{field}"' in response.content.decode()
    export = auditor_client.get(f"{EXPORT}?{query}")
    assert export.status_code == 400
    assert field in [d["field"] for d in export.json()["details"]]
    assert not AuditEvent.objects.filter(action__in=["audit.viewed", "audit.exported"]).exists()


def test_huge_organisation_number_is_a_name_search_not_a_500(auditor_client):
    response = auditor_client.get(f"{LIST}?organisation={'9' * 40}")
    assert response.status_code == 200


# --- one event --------------------------------------------------------------------------------


def test_detail_shows_the_event_and_records_the_view(auditor_client):
    event = _events(1, details={"changed": ["name"]})[0]
    response = auditor_client.get(reverse("core:audit_detail", args=[event.seq]))
    assert response.status_code == 200
    assert response.context["intact"] is True
    assert "changed" in response.context["details_json"]
    viewed = AuditEvent.objects.get(action="audit.viewed")
    assert viewed.object_type == "core.auditevent"
    assert viewed.object_id == str(event.pk)


def test_detail_flags_an_edited_row(auditor_client):
    event = _events(1)[0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER core_auditevent_no_update ON core_auditevent")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
        cursor.execute(
            "UPDATE core_auditevent SET action = 'auth.logout' WHERE id = %s", [event.pk]
        )
    response = auditor_client.get(reverse("core:audit_detail", args=[event.seq]))
    assert response.context["intact"] is False
    assert 'data-testid="audit-row-broken"' in response.content.decode()


def test_detail_of_a_missing_event_is_404(auditor_client):
    assert auditor_client.get(reverse("core:audit_detail", args=[999])).status_code == 404


# --- export -----------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(UTF8_BOM)
    return list(csv.reader(io.StringIO(body[len(UTF8_BOM) :])))


def test_export_streams_filtered_rows_with_bom(auditor_client, auditor, province):
    finance = OrganisationFactory.create(name="河北省财政厅", parent=province)
    clerk = make_member(finance, Role.CLERK, username="li")
    acting = Acting(user=clerk, position=clerk.current_position(), source_ip="10.0.0.9")
    _events(2, action="auth.login", acting=acting)
    _events(3, action="role.granted")
    response = auditor_client.get(f"{EXPORT}?action=auth.login")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = _csv(response)
    assert len(rows) == 3  # header and two rows
    assert [r[0] for r in rows[1:]] == ["1", "2"]
    assert rows[1][4] == "河北省财政厅"
    assert rows[1][9] == "10.0.0.9"
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_id == auditor.pk
    assert exported.details == {"filters": {"action": "auth.login"}}


def test_export_defuses_spreadsheet_formulas(auditor_client):
    record_audit(
        "auth.login_failed",
        acting=Acting.system(),
        outcome=AuditOutcome.FAILURE,
        username='=HYPERLINK("http://evil")',
    )
    rows = _csv(auditor_client.get(EXPORT))
    assert rows[1][2].startswith("'=")


def test_export_of_many_rows_streams_in_order(auditor_client):
    _events(2500)
    rows = _csv(auditor_client.get(EXPORT))
    assert len(rows) == 1 + 2500 + 1  # header, the rows, and the export's own record
    assert [r[0] for r in rows[1:]] == [str(n) for n in range(1, 2502)]
    assert rows[-1][5] == "audit.exported"


def test_viewing_old_events_after_time_travel(auditor_client):
    with time_machine.travel(datetime.now(UTC) - timedelta(days=400), tick=False):
        _events(1)
    assert auditor_client.get(LIST).status_code == 200


def test_auditable_events_is_empty_for_anyone_else(province):
    from egov.core.audit import auditable_events, is_auditor

    _events(1)
    system_admin = make_member(province, Role.SYSTEM_ADMIN)
    both = make_member(province, Role.AUDIT_ADMIN, Role.SECURITY_ADMIN)
    for user in (system_admin, both):
        assert not is_auditor(user)
        assert not auditable_events(user).exists()
