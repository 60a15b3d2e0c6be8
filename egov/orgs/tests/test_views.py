"""Pages: lists with constant queries, detail pages, forms with bad input, 404 outside scope."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from egov.core.models import AuditEvent
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, Position, User
from egov.orgs.tests.factories import OrganisationFactory, PositionFactory, make_member
from egov.orgs.tests.otp_helpers import login_verified
from egov.orgs.uscc import make_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree() -> dict[str, Any]:
    root = OrganisationFactory.create(kind=OrgKind.GOVERNMENT)
    office = OrganisationFactory.create(parent=root, kind=OrgKind.GENERAL_OFFICE)
    city = OrganisationFactory.create(parent=root, level=OrgLevel.CITY)
    return {
        "root": root,
        "office": office,
        "city": city,
        "sysadmin": make_member(root, Role.SYSTEM_ADMIN),
        "secadmin": make_member(root, Role.SECURITY_ADMIN),
        "auditor": make_member(root, Role.AUDIT_ADMIN),
        "clerk": make_member(office, Role.CLERK),
        "city_clerk": make_member(city, Role.CLERK),
    }


def _as(user: User) -> Client:
    client = Client()
    login_verified(client, user)
    return client


def _code(n: int) -> str:
    return make_uscc("1", "1", "130100", f"YEW{n:05d}")


# Lists ---------------------------------------------------------------------------------------


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_organisation_list_queries_do_not_grow(tree: dict[str, Any]) -> None:
    client = _as(tree["auditor"])
    url = reverse("orgs:organisation_list")
    for _ in range(5):
        OrganisationFactory.create(parent=tree["city"])
    small = _count_queries(client, url)
    for _ in range(70):
        OrganisationFactory.create(parent=tree["office"])
    large = _count_queries(client, url)
    assert small == large
    response = client.get(url, {"page": 2})
    assert response.status_code == 200
    assert b'data-testid="org-row"' in response.content


def test_user_list_queries_do_not_grow(tree: dict[str, Any]) -> None:
    client = _as(tree["auditor"])
    url = reverse("orgs:user_list")
    for _ in range(5):
        PositionFactory.create(organisation=tree["city"], roles=[Role.CLERK])
    small = _count_queries(client, url)
    for _ in range(60):
        PositionFactory.create(organisation=tree["office"], roles=[Role.CLERK, Role.DRAFTER])
    large = _count_queries(client, url)
    assert small == large


def test_list_filters(tree: dict[str, Any]) -> None:
    client = _as(tree["auditor"])
    url = reverse("orgs:organisation_list")
    response = client.get(url, {"parent": str(tree["city"].uuid), "level": "city"})
    assert list(response.context["page"].object_list) == [tree["city"]]
    response = client.get(url, {"q": tree["office"].code})
    assert list(response.context["page"].object_list) == [tree["office"]]
    # A malformed or unknown parent is a 404, a bad level is ignored, a silly page is clamped.
    assert client.get(url, {"parent": "zzz"}).status_code == 404
    assert client.get(url, {"parent": str(tree["clerk"].uuid)}).status_code == 404
    assert client.get(url, {"level": "galaxy"}).status_code == 200
    assert client.get(url, {"page": "99999"}).status_code == 200
    assert client.get(url, {"page": "-1x"}).status_code == 200
    users = client.get(reverse("orgs:user_list"), {"role": Role.CLERK})
    assert {u.username for u in users.context["page"].object_list} == {
        tree["clerk"].username,
        tree["city_clerk"].username,
    }


def test_lists_need_login() -> None:
    response = Client().get(reverse("orgs:organisation_list"))
    assert response.status_code == 302


# Scope ---------------------------------------------------------------------------------------


def test_outsider_gets_404(tree: dict[str, Any]) -> None:
    client = _as(tree["city_clerk"])
    office_position = tree["clerk"].positions.get()
    urls = [
        reverse("orgs:organisation_detail", args=[tree["office"].uuid]),
        reverse("orgs:organisation_edit", args=[tree["office"].uuid]),
        reverse("orgs:user_detail", args=[tree["clerk"].uuid]),
        reverse("orgs:user_edit", args=[tree["clerk"].uuid]),
        reverse("orgs:user_unlock", args=[tree["clerk"].uuid]),
        reverse("orgs:position_roles", args=[office_position.uuid]),
        reverse("orgs:position_remove", args=[office_position.uuid]),
        "/orgs/not-a-uuid/",
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"roles": ["signer"]}).status_code == 404, url
    assert office_position.roles == ["clerk"]


def test_in_scope_but_not_allowed_is_403(tree: dict[str, Any]) -> None:
    client = _as(tree["clerk"])
    assert (
        client.get(reverse("orgs:organisation_edit", args=[tree["office"].uuid])).status_code == 403
    )
    assert client.get(reverse("orgs:organisation_create")).status_code == 403
    assert client.get(reverse("orgs:organisation_import")).status_code == 403
    auditor = _as(tree["auditor"])
    position = tree["clerk"].positions.get()
    assert auditor.post(reverse("orgs:position_roles", args=[position.uuid]), {}).status_code == 403
    assert (
        auditor.post(reverse("orgs:user_deactivate", args=[tree["clerk"].uuid])).status_code == 403
    )
    assert User.objects.get(pk=tree["clerk"].pk).is_active


# Detail pages --------------------------------------------------------------------------------


def test_detail_pages(tree: dict[str, Any]) -> None:
    client = _as(tree["sysadmin"])
    response = client.get(tree["office"].get_absolute_url())
    assert response.status_code == 200
    assert response.context["breadcrumb"] == [(tree["root"], True)]
    assert b'data-testid="edit"' in response.content
    assert [p.user for p in response.context["positions"]] == [tree["clerk"]]
    response = client.get(tree["clerk"].get_absolute_url())
    assert response.status_code == 200
    assert b'data-testid="remove-position"' in response.content
    assert b'data-testid="set-roles"' not in response.content  # that is the security admin's
    secadmin = _as(tree["secadmin"])
    response = secadmin.get(tree["clerk"].get_absolute_url())
    assert (
        b'data-testid="set-roles"' in response.content
        and b'data-testid="unlock"' in response.content
    )


# Organisation forms --------------------------------------------------------------------------


def _org_post(**overrides: Any) -> dict[str, Any]:
    return {
        "code": _code(1),
        "name": "新建局",
        "short_name": "新局",
        "doc_code": "新",
        "kind": OrgKind.DEPARTMENT,
        "level": OrgLevel.CITY,
        "division_code": "130100",
        "sort_order": "1",
        "node_code": "",
        **overrides,
    }


def test_create_organisation(tree: dict[str, Any]) -> None:
    client = _as(tree["sysadmin"])
    url = reverse("orgs:organisation_create") + f"?parent={tree['city'].uuid}"
    assert client.get(url).status_code == 200
    response = client.post(url, _org_post(parent_code=tree["city"].code))
    assert response.status_code == 302
    org = Organisation.objects.get(code=_code(1))
    assert org.parent == tree["city"]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"code": "12345"}, "code"),
        ({"code": _code(2)[:-1] + ("0" if _code(2)[-1] != "0" else "1")}, "code"),
        ({"name": ""}, "name"),
        ({"kind": "castle"}, "kind"),
        ({"division_code": "1301"}, "division_code"),
        ({"sort_order": "-3"}, "sort_order"),
        ({"sort_order": "lots"}, "sort_order"),
        ({"name": "名" * 201}, "name"),
        ({"parent_code": ""}, "parent_code"),
        ({"parent_code": make_uscc("1", "1", "130000", "NNNNNNNN")}, "parent_code"),
    ],
)
def test_create_organisation_bad_input(
    tree: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    client = _as(tree["sysadmin"])
    before = Organisation.objects.count()
    data = {"parent_code": tree["city"].code, **_org_post(code=_code(3)), **overrides}
    response = client.post(reverse("orgs:organisation_create"), data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"'.encode() in response.content
    assert Organisation.objects.count() == before


def test_doc_code_taken_is_shown_on_the_field(tree: dict[str, Any]) -> None:
    client = _as(tree["sysadmin"])
    data = _org_post(parent_code=tree["city"].code, doc_code=tree["office"].doc_code)
    response = client.post(reverse("orgs:organisation_create"), data)
    assert response.status_code == 400
    assert b'data-testid="error-doc_code"' in response.content


def test_edit_and_move_organisation(tree: dict[str, Any]) -> None:
    client = _as(tree["sysadmin"])
    child = OrganisationFactory.create(parent=tree["office"])
    url = reverse("orgs:organisation_edit", args=[tree["office"].uuid])
    data = _org_post(code=tree["office"].code, doc_code=tree["office"].doc_code)
    # Under its own descendant: refused, on the parent field.
    response = client.post(url, {**data, "parent_code": child.code})
    assert response.status_code == 400
    assert b'data-testid="error-parent_code"' in response.content
    response = client.post(url, {**data, "parent_code": tree["city"].code, "name": "改名厅"})
    assert response.status_code == 302
    office = Organisation.objects.get(pk=tree["office"].pk)
    child.refresh_from_db()
    assert office.parent == tree["city"] and office.name == "改名厅"
    assert child.path.startswith(office.path) and child.depth == 3


def test_deactivate_organisation(tree: dict[str, Any]) -> None:
    client = _as(tree["sysadmin"])
    empty = OrganisationFactory.create(parent=tree["city"])
    assert (
        client.post(reverse("orgs:organisation_deactivate", args=[tree["office"].uuid])).status_code
        == 409
    )
    response = client.post(reverse("orgs:organisation_deactivate", args=[empty.uuid]))
    assert response.status_code == 302
    empty.refresh_from_db()
    assert not empty.is_active


# People forms --------------------------------------------------------------------------------


def test_create_user(tree: dict[str, Any]) -> None:
    client = _as(tree["sysadmin"])
    url = reverse("orgs:user_create")
    assert client.get(url, {"organisation": str(tree["office"].uuid)}).status_code == 200
    response = client.post(
        url,
        {
            "username": "zhangsan",
            "full_name": "张三",
            "organisation_code": tree["office"].code,
            "title": "科员",
            "email": "zs@example.gov.cn",
            "phone": "13900000000",
            "password": "Qw3#rtyuIop",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="zhangsan")
    assert user.must_change_password and user.positions.get().organisation == tree["office"]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"username": ""}, "username"),
        ({"username": "a b"}, "username"),
        ({"username": "x" * 151}, "username"),
        ({"full_name": ""}, "full_name"),
        ({"email": "not-mail"}, "email"),
        ({"phone": "phone!"}, "phone"),
        ({"password": "abc"}, "password"),
        ({"organisation_code": "bad"}, "organisation_code"),
        ({"organisation_code": make_uscc("1", "1", "130000", "NNNNNNNN")}, "organisation_code"),
    ],
)
def test_create_user_bad_input(tree: dict[str, Any], overrides: dict[str, Any], field: str) -> None:
    client = _as(tree["sysadmin"])
    data = {
        "username": "lisi",
        "full_name": "李四",
        "organisation_code": tree["office"].code,
        "title": "",
        "email": "",
        "phone": "",
        "password": "",
        **overrides,
    }
    before = User.objects.count()
    response = client.post(reverse("orgs:user_create"), data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"'.encode() in response.content
    assert User.objects.count() == before


def test_edit_user_and_positions(tree: dict[str, Any]) -> None:
    client = _as(tree["sysadmin"])
    clerk = tree["clerk"]
    response = client.post(
        reverse("orgs:user_edit", args=[clerk.uuid]),
        {"full_name": "新名", "email": "", "phone": ""},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=clerk.pk).full_name == "新名"
    url = reverse("orgs:position_add", args=[clerk.uuid])
    assert client.post(url, {"organisation_code": "x", "title": ""}).status_code == 400
    response = client.post(url, {"organisation_code": tree["city"].code, "title": "挂职"})
    assert response.status_code == 302
    added = Position.objects.get(user=clerk, organisation=tree["city"])
    response = client.post(reverse("orgs:position_remove", args=[added.uuid]))
    assert response.status_code == 302
    added.refresh_from_db()
    assert not added.is_active


def test_roles_form(tree: dict[str, Any]) -> None:
    client = _as(tree["secadmin"])
    position = tree["clerk"].positions.get()
    url = reverse("orgs:position_roles", args=[position.uuid])
    assert client.get(url).status_code == 200
    response = client.post(url, {"roles": [Role.CLERK, Role.DRAFTER]})
    assert response.status_code == 302
    assert set(position.roles) == {"clerk", "drafter"}
    assert client.post(url, {"roles": ["emperor"]}).status_code == 400
    sysadmin_position = tree["sysadmin"].positions.get()
    response = client.post(
        reverse("orgs:position_roles", args=[sysadmin_position.uuid]),
        {"roles": [Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN]},
    )
    assert response.status_code == 400
    assert b'data-testid="error-roles"' in response.content
    assert sysadmin_position.roles == ["system_admin"]
    own = tree["secadmin"].positions.get()
    assert (
        client.post(reverse("orgs:position_roles", args=[own.uuid]), {"roles": []}).status_code
        == 403
    )
    assert own.roles == ["security_admin"]


def test_unlock(tree: dict[str, Any]) -> None:
    client = _as(tree["secadmin"])
    url = reverse("orgs:user_unlock", args=[tree["clerk"].uuid])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert _as(tree["sysadmin"]).post(url).status_code == 403


# Export and import ---------------------------------------------------------------------------


def test_exports(tree: dict[str, Any]) -> None:
    client = _as(tree["auditor"])
    response = client.get(reverse("orgs:organisation_export"), {"format": "csv", "level": "city"})
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert (
        text.startswith("\ufeff") and tree["city"].code in text and tree["office"].code not in text
    )
    response = client.get(reverse("orgs:organisation_export"), {"format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.content[:4] == b"PK\x03\x04"
    response = client.get(reverse("orgs:user_export"), {"format": "csv"})
    assert tree["clerk"].username in response.content.decode("utf-8")
    outsider = _as(tree["city_clerk"])
    response = outsider.get(reverse("orgs:user_export"), {"format": "csv"})
    assert tree["clerk"].username not in response.content.decode("utf-8")
    exported = AuditEvent.objects.filter(action__endswith=".exported")
    assert list(exported.order_by("seq").values_list("action", flat=True)) == [
        "org.exported",
        "org.exported",
        "user.exported",
        "user.exported",
    ]


def test_import_page_reports_rows(tree: dict[str, Any]) -> None:
    client = _as(tree["sysadmin"])
    csv_text = (
        "code,name,kind,level,parent_code\n"
        f"{_code(10)},好单位,department,city,{tree['city'].code}\n"
        f"{_code(11)},,department,city,{tree['city'].code}\n"
    )
    upload = io.BytesIO(csv_text.encode("utf-8"))
    upload.name = "orgs.csv"
    response = client.post(reverse("orgs:organisation_import"), {"file": upload})
    assert response.status_code == 400
    assert b'data-row="3" data-field="name"' in response.content
    assert not Organisation.objects.filter(code=_code(10)).exists()
    junk = io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00")
    junk.name = "x.csv"
    response = client.post(reverse("orgs:organisation_import"), {"file": junk})
    assert response.status_code == 400
    assert b'data-testid="error-file"' in response.content
    good = io.BytesIO(
        csv_text.split("\n", 2)[0].encode() + b"\n" + csv_text.split("\n")[1].encode()
    )
    good.name = "orgs.csv"
    response = client.post(reverse("orgs:organisation_import"), {"file": good})
    assert response.status_code == 302
    assert Organisation.objects.filter(code=_code(10), parent=tree["city"]).exists()


def test_edit_with_move_is_all_or_nothing(tree: dict[str, Any]) -> None:
    """A move and a refused field change in one form: the move is not kept either."""
    client = _as(tree["sysadmin"])
    child = OrganisationFactory.create(parent=tree["office"])
    old_path = child.path
    url = reverse("orgs:organisation_edit", args=[child.uuid])
    data = _org_post(code=child.code, doc_code=tree["office"].doc_code)  # taken: refused
    response = client.post(url, {**data, "parent_code": tree["city"].code})
    assert response.status_code == 400
    assert b'data-testid="error-doc_code"' in response.content
    child.refresh_from_db()
    assert child.parent_id == tree["office"].pk
    assert child.path == old_path
    assert not AuditEvent.objects.filter(action="org.moved").exists()
