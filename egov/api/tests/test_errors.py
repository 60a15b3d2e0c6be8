"""Bad input: one error shape, the field named, never a 500, nothing half-written."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from django.conf import settings

from egov.api.testing import ApiClient
from egov.orgs.models import Organisation
from egov.orgs.uscc import make_uscc

ORGS = "/api/v1/organisations"


def _create_body(parent, **overrides):
    body = {
        "parent": str(parent.uuid),
        "code": make_uscc("1", "1", "130000", "MB000001"),
        "name": "新单位",
        "kind": "department",
        "level": "province",
    }
    body.update(overrides)
    return body


def _fields(response) -> set[str]:
    return {d["field"] for d in response.json()["details"]}


def test_malformed_json(admin_client, tree):
    before = Organisation.objects.count()
    response = admin_client.post(ORGS, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    response = admin_client.post(ORGS, data=b"\xff\xfe", content_type="application/json")
    assert response.status_code == 400
    assert Organisation.objects.count() == before


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_json_that_is_not_an_object(admin_client, tree, body):
    response = admin_client.post(ORGS, data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.json()["code"] in ("invalid", "malformed_json")


def test_wrong_types_name_the_field(admin_client, tree):
    response = admin_client.post_json(ORGS, _create_body(tree.province, sort_order="many"))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "sort_order" in _fields(response)
    response = admin_client.post_json(ORGS, _create_body(tree.province, kind="ministry"))
    assert response.status_code == 422
    assert "kind" in _fields(response)


def test_missing_fields_are_named(admin_client, tree):
    response = admin_client.post_json(ORGS, {"parent": str(tree.province.uuid)})
    assert response.status_code == 422
    assert {"code", "name", "kind", "level"} <= _fields(response)


def test_unknown_fields_are_refused(admin_client, tree):
    before = Organisation.objects.count()
    response = admin_client.post_json(ORGS, _create_body(tree.province, is_active=False))
    assert response.status_code == 422
    detail = response.json()["details"][0]
    assert detail["field"] == "is_active" and detail["code"] == "extra_forbidden"
    assert Organisation.objects.count() == before


def test_too_long_and_nul_text(admin_client, tree):
    response = admin_client.post_json(ORGS, _create_body(tree.province, name="长" * 201))
    assert response.status_code == 422
    assert _fields(response) == {"name"}
    response = admin_client.post_json(ORGS, _create_body(tree.province, name="a\x00b"))
    assert response.status_code == 422
    assert _fields(response) == {"name"}
    response = admin_client.get(ORGS, {"q": "a\x00b"})
    assert response.status_code == 422
    assert _fields(response) == {"q"}


def test_oversized_body(admin_client, tree):
    before = Organisation.objects.count()
    huge = json.dumps(_create_body(tree.province, name="x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    response = admin_client.post(ORGS, data=huge, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert Organisation.objects.count() == before


def test_other_organisations_ids(clerk_client, tree):
    # Outside the clerk's scope: 404, the same answer as for an id that does not exist.
    response = clerk_client.get(f"{ORGS}/{tree.other_province.uuid}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    response = clerk_client.get(f"{ORGS}/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    # In a body or a filter: the field is named.
    response = clerk_client.get(ORGS, {"parent": str(tree.other_province.uuid)})
    assert response.status_code == 404
    assert _fields(response) == {"parent"}


def test_other_organisations_ids_in_writes(admin_client, tree):
    before = Organisation.objects.count()
    response = admin_client.post_json(ORGS, _create_body(tree.other_province))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert _fields(response) == {"parent"}
    response = admin_client.patch_json(f"{ORGS}/{tree.other_province.uuid}", {"name": "改名"})
    assert response.status_code == 404
    assert Organisation.objects.count() == before
    tree.other_province.refresh_from_db()
    assert tree.other_province.name == "另一省"


@pytest.mark.parametrize("bad", ["not-a-uuid", "1", "%00", "' or 1=1"])
def test_malformed_path_ids(admin_client, tree, bad):
    response = admin_client.get(f"{ORGS}/{bad}")
    assert response.status_code in (404, 422)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "x"}, "page"),
        ({"page": 10**12}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
    ],
)
def test_pagination_bounds(admin_client, tree, params, field):
    response = admin_client.get(ORGS, params)
    assert response.status_code == 422
    assert field in _fields(response)


def test_pagination_pages(admin_client, tree):
    first = admin_client.get(ORGS, {"page_size": 2}).json()
    assert first["count"] == 4 and len(first["items"]) == 2
    assert first["page"] == 1 and first["page_size"] == 2
    second = admin_client.get(ORGS, {"page": 2, "page_size": 2}).json()
    assert {o["uuid"] for o in first["items"]}.isdisjoint({o["uuid"] for o in second["items"]})
    past_end = admin_client.get(ORGS, {"page": 99, "page_size": 100}).json()
    assert past_end["items"] == [] and past_end["count"] == 4


def test_unknown_paths_and_methods(admin_client, tree):
    response = admin_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert admin_client.delete(ORGS).status_code == 405


def test_no_credentials(anon_client, tree):
    response = anon_client.get(ORGS)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    response = ApiClient(HTTP_AUTHORIZATION="Basic abc").get(ORGS)
    assert response.status_code == 401


def test_messages_follow_the_language_codes_do_not(admin_client, tree):
    english = admin_client.get(f"{ORGS}/{uuid4()}", HTTP_ACCEPT_LANGUAGE="en")
    chinese = admin_client.get(f"{ORGS}/{uuid4()}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.json()["code"] == chinese.json()["code"] == "not_found"
    assert english["Content-Language"] == "en"
    assert chinese["Content-Language"] == "zh-hans"


def test_openapi_document_and_docs_page(anon_client):
    response = anon_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "egov API"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            # Every operation documents its errors in the one shape.
            errors = [code for code in operation["responses"] if code.startswith("4")]
            assert errors, f"{method} {path} documents no error responses"
    page = anon_client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    # No inline script under the CSP: the settings ride in a JSON data block.
    assert '<script type="application/json"' in html
    assert "cdn" not in html.lower()
    for chunk in html.split("<script")[1:]:
        head = chunk.partition(">")[0]
        assert "src=" in head or 'type="application/json"' in head


def test_repeated_query_parameters(admin_client, tree):
    response = admin_client.get(ORGS + "?level=city&level=province")
    assert response.status_code == 422
    assert _fields(response) == {"level"}
