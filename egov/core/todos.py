"""The to-do centre (我的待办): each app registers a provider; the home page and the API list them.

A provider answers for one subsystem: how many items wait for a user, and the items themselves.
Both must run a constant number of queries whatever the number of items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from django.utils import timezone

from egov.core.choices import DeadlineState

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from egov.orgs.models import User


@dataclass(frozen=True)
class TodoItem:
    subsystem: str
    kind: str
    title: str
    url: str
    created_at: datetime
    due_at: datetime | None = None
    state: str = DeadlineState.ON_TIME
    object_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_overdue(self) -> bool:
        return self.state == DeadlineState.OVERDUE


class TodoProvider(Protocol):
    @property
    def subsystem(self) -> str: ...

    @property
    def label(self) -> str | Promise: ...

    def items_for(self, user: User, limit: int) -> Sequence[TodoItem]: ...

    def count_for(self, user: User) -> int: ...


_providers: dict[str, TodoProvider] = {}


def register_todo_provider(provider: TodoProvider) -> TodoProvider:
    _providers[provider.subsystem] = provider
    return provider


def todo_providers() -> list[TodoProvider]:
    return list(_providers.values())


_STATE_ORDER = {
    DeadlineState.OVERDUE: 0,
    DeadlineState.DUE_SOON: 1,
    DeadlineState.ON_TIME: 2,
    DeadlineState.DONE: 3,
}


def sort_key(item: TodoItem) -> tuple[int, datetime, datetime]:
    """Overdue first, then due soon, then by due date (undated last), then oldest first."""
    far = datetime.max.replace(tzinfo=timezone.get_current_timezone())
    return (_STATE_ORDER.get(DeadlineState(item.state), 9), item.due_at or far, item.created_at)


@dataclass(frozen=True)
class TodoSummary:
    subsystem: str
    label: str
    count: int


def todo_counts(user: User) -> list[TodoSummary]:
    """How many items wait in each subsystem (one count query per provider)."""
    return [TodoSummary(p.subsystem, str(p.label), p.count_for(user)) for p in todo_providers()]


def todos_for(
    user: User, *, subsystem: str | None = None, limit: int = 200
) -> tuple[list[TodoItem], list[TodoSummary]]:
    """Every provider's items for the user, most urgent first, and a count per subsystem."""
    items: list[TodoItem] = []
    summaries: list[TodoSummary] = []
    for provider in todo_providers():
        count = provider.count_for(user)
        summaries.append(TodoSummary(provider.subsystem, str(provider.label), count))
        if count and (subsystem is None or subsystem == provider.subsystem):
            items.extend(provider.items_for(user, limit))
    items.sort(key=sort_key)
    return items[:limit], summaries


ProviderFactory = Callable[[], TodoProvider]
