"""The home page is the to-do centre (我的待办)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from egov.core import todos
from egov.core.choices import DeadlineState
from egov.core.todos import TodoItem
from egov.orgs.models import User
from egov.orgs.tests.factories import make_member

pytestmark = pytest.mark.django_db


class ListProvider:
    """A provider over a fixed list, as a subsystem would answer from its own tables."""

    subsystem = "testing"
    label = "Testing"

    def __init__(self, items: list[TodoItem]):
        self.items = items

    def items_for(self, user: User, limit: int) -> Sequence[TodoItem]:
        return self.items[:limit]

    def count_for(self, user: User) -> int:
        return len(self.items)


@pytest.fixture
def provider() -> Iterator[ListProvider]:
    now = timezone.now()
    items = [
        TodoItem("testing", "t", "On time task", "/x/1", now, now + timedelta(days=9)),
        TodoItem(
            "testing",
            "t",
            "Overdue task",
            "/x/2",
            now,
            now - timedelta(days=1),
            DeadlineState.OVERDUE,
        ),
        TodoItem(
            "testing",
            "t",
            "Due soon task",
            "/x/3",
            now,
            now + timedelta(hours=5),
            DeadlineState.DUE_SOON,
        ),
    ]
    instance = ListProvider(items)
    saved = dict(todos._providers)
    todos.register_todo_provider(instance)
    yield instance
    todos._providers.clear()
    todos._providers.update(saved)


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_clerk_sees_todo_centre_overdue_first(client, provider):
    client.force_login(make_member(None, "clerk"))
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="todo-centre"' in html
    assert html.index("Overdue task") < html.index("Due soon task") < html.index("On time task")
    assert 'class="todo state-overdue"' in html
    assert 'data-testid="todo-count-testing"' in html


def test_empty_todo_centre(client):
    client.force_login(make_member(None, "clerk"))
    response = client.get(reverse("web:home"))
    assert (
        'data-testid="todo-empty"' in response.content.decode()
        or 'data-testid="todo-items"' in response.content.decode()
    )


def test_htmx_request_gets_the_fragment_only(client, provider):
    client.force_login(make_member(None, "clerk"))
    response = client.get(
        reverse("web:home"), {"subsystem": "testing"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Overdue task" in html


def test_home_query_count_does_not_grow_with_items(client, provider, django_assert_max_num_queries):
    client.force_login(make_member(None, "clerk"))
    client.get(reverse("web:home"))  # warm caches (content types, session)
    # A few queries per registered subsystem (its count), none per item.
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("web:home"))
    provider.items = provider.items * 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("web:home"))


def test_large_text_toggle_refuses_open_redirect(client):
    response = client.post(reverse("web:toggle_large_text"), {"next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert response.cookies["egov_large_text"].value == "1"


def test_large_text_class_rendered(client):
    client.force_login(make_member(None, "clerk"))
    client.cookies["egov_large_text"] = "1"
    assert 'class="large-text"' in client.get(reverse("web:home")).content.decode()


def test_manifest_and_service_worker(client):
    manifest = client.get(reverse("web:manifest"))
    assert manifest.status_code == 200
    assert manifest.json()["start_url"] == reverse("web:home")
    assert client.get(reverse("web:service_worker"))["Content-Type"].startswith("text/javascript")
