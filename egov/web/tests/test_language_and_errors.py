"""Pages are Chinese unless the person chose English; error pages are ours, never a trace."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from egov.orgs.tests.factories import make_member

pytestmark = pytest.mark.django_db


def test_pages_are_chinese_whatever_the_browser_says(client):
    response = client.get(reverse("accounts:login"), headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 200
    assert '<html lang="zh-hans"' in response.content.decode()


def test_the_language_cookie_is_a_choice(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert '<html lang="en"' in client.get(reverse("accounts:login")).content.decode()


def test_an_unknown_language_cookie_falls_back_to_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    assert '<html lang="zh-hans"' in client.get(reverse("accounts:login")).content.decode()


def test_api_follows_accept_language(client):
    client.force_login(make_member(None, "clerk"))
    english = client.get(
        "/api/v1/organisations/00000000-0000-4000-8000-000000000000",
        headers={"Accept-Language": "en"},
    )
    chinese = client.get(
        "/api/v1/organisations/00000000-0000-4000-8000-000000000000",
        headers={"Accept-Language": "zh-hans"},
    )
    assert english.status_code == chinese.status_code == 404
    assert english.json()["code"] == chinese.json()["code"] == "not_found"
    assert english.json()["message"] != chinese.json()["message"]


def test_not_found_page_is_ours(client):
    client.force_login(make_member(None, "clerk"))
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'href="/"' in html
    assert "Traceback" not in html
    assert '<html lang="zh-hans"' in html
