"""`/organisations`, `/users`, `/me` through the API."""

from __future__ import annotations

from egov.core.models import AuditEvent
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User
from egov.orgs.tests.factories import OrganisationFactory, make_member
from egov.orgs.uscc import make_uscc

ORGS = "/api/v1/organisations"
USERS = "/api/v1/users"


def _uuids(response) -> set[str]:
    return {item["uuid"] for item in response.json()["items"]}


def test_scope_of_the_organisation_list(admin_client, clerk_client, tree):
    admin_sees = _uuids(admin_client.get(ORGS))
    assert str(tree.province.uuid) in admin_sees and str(tree.city.uuid) in admin_sees
    assert str(tree.other_province.uuid) not in admin_sees
    assert _uuids(clerk_client.get(ORGS)) == {str(tree.department.uuid)}


def test_filters(admin_client, tree):
    assert _uuids(admin_client.get(ORGS, {"level": "city"})) == {str(tree.city.uuid)}
    assert _uuids(admin_client.get(ORGS, {"kind": "general_office"})) == {str(tree.office.uuid)}
    assert _uuids(admin_client.get(ORGS, {"q": "河北省"})) == {str(tree.province.uuid)}
    sub = OrganisationFactory.create(parent=tree.city)
    assert _uuids(admin_client.get(ORGS, {"parent": str(tree.city.uuid)})) == {
        str(tree.city.uuid),
        str(sub.uuid),
    }
    assert admin_client.get(ORGS, {"level": "planet"}).status_code == 422


def test_detail_children_ancestors(admin_client, clerk_client, tree):
    detail = admin_client.get(f"{ORGS}/{tree.city.uuid}").json()
    assert detail["parent"] == str(tree.province.uuid) and detail["depth"] == 1
    children = admin_client.get(f"{ORGS}/{tree.province.uuid}/children").json()
    assert children["count"] == 3
    ancestors = admin_client.get(f"{ORGS}/{tree.city.uuid}/ancestors").json()
    assert [a["uuid"] for a in ancestors["items"]] == [str(tree.province.uuid)]
    # The clerk sees their own unit but none of its ancestors.
    assert clerk_client.get(f"{ORGS}/{tree.department.uuid}/ancestors").json()["count"] == 0
    assert clerk_client.get(f"{ORGS}/{tree.province.uuid}/children").status_code == 404


def test_create_and_update_organisation(admin_client, tree):
    response = admin_client.post_json(
        ORGS,
        {
            "parent": str(tree.city.uuid),
            "code": make_uscc("1", "1", "130000", "MB000001"),
            "name": "石家庄市人民政府办公室",
            "kind": "general_office",
            "level": "city",
        },
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["parent"] == str(tree.city.uuid)
    org = Organisation.objects.get(uuid=created["uuid"])
    assert org.parent == tree.city
    assert AuditEvent.objects.filter(action="org.created").exists()

    response = admin_client.patch_json(f"{ORGS}/{org.uuid}", {"short_name": "市府办"})
    assert response.status_code == 200
    assert response.json()["short_name"] == "市府办"
    response = admin_client.patch_json(f"{ORGS}/{org.uuid}", {"name": None})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "name"


def test_domain_errors_name_the_field(admin_client, tree):
    response = admin_client.post_json(
        ORGS,
        {
            "parent": str(tree.city.uuid),
            "code": "123",
            "name": "单位",
            "kind": "department",
            "level": "city",
        },
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "code"
    response = admin_client.patch_json(f"{ORGS}/{tree.city.uuid}", {"code": tree.office.code})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_a_clerk_may_not_write(clerk_client, tree):
    before = Organisation.objects.count()
    response = clerk_client.post_json(
        ORGS,
        {
            "parent": str(tree.department.uuid),
            "code": make_uscc("1", "1", "130000", "MB000001"),
            "name": "处室",
            "kind": "internal_unit",
            "level": "province",
        },
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert Organisation.objects.count() == before


def test_users(admin_client, clerk_client, tree, clerk, sysadmin):
    outsider = make_member(tree.other_province, Role.CLERK)
    listed = _uuids(admin_client.get(USERS))
    assert str(clerk.uuid) in listed and str(outsider.uuid) not in listed
    assert _uuids(admin_client.get(USERS, {"role": "clerk"})) == {str(clerk.uuid)}
    assert _uuids(admin_client.get(USERS, {"organisation": str(tree.department.uuid)})) == {
        str(clerk.uuid)
    }
    detail = admin_client.get(f"{USERS}/{clerk.uuid}").json()
    assert detail["positions"][0]["roles"] == ["clerk"]
    assert admin_client.get(f"{USERS}/{outsider.uuid}").status_code == 404
    assert clerk_client.get(f"{USERS}/{sysadmin.uuid}").status_code == 404


def test_create_user(admin_client, clerk_client, tree):
    body = {"username": "lisi", "organisation": str(tree.office.uuid), "full_name": "李四"}
    response = admin_client.post_json(USERS, body)
    assert response.status_code == 201, response.json()
    assert response.json()["positions"][0]["organisation"]["uuid"] == str(tree.office.uuid)
    assert User.objects.get(username="lisi").must_change_password
    response = admin_client.post_json(USERS, body)
    assert response.status_code == 409
    assert response.json()["details"][0]["field"] == "username"
    response = admin_client.post_json(USERS, {**body, "username": "wangwu", "password": "123"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "password"
    assert not User.objects.filter(username="wangwu").exists()
    response = clerk_client.post_json(USERS, {**body, "username": "zhaoliu"})
    assert response.status_code in (403, 404)
    assert not User.objects.filter(username="zhaoliu").exists()


def test_me(clerk_client, clerk, tree):
    me = clerk_client.get("/api/v1/me").json()
    assert me["user"]["uuid"] == str(clerk.uuid)
    assert me["positions"][0]["organisation"]["uuid"] == str(tree.department.uuid)
    assert me["current_position"] == me["positions"][0]["uuid"]
    assert me["requires_second_factor"] is False
