"""Page-number pagination for every list endpoint: `?page=&page_size=` → `{items, count, page, page_size}`.

Usage in a router::

    @router.get("/things", response={200: Page[ThingOut], **ERRORS})
    def list_things(request, paging: Query[PageQuery]):
        return paginate(selectors.list_things_for(request.user), paging)

Two queries per page (a COUNT and the slice) plus whatever `select_related`/`prefetch_related`
the queryset carries — constant whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from ninja import Schema
from pydantic import Field

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Keeps OFFSET inside what every database accepts (no overflow → no 500).
MAX_PAGE = 100_000

T = TypeVar("T")


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page number")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class Page(Schema, Generic[T]):
    items: list[T]
    count: int = Field(description="Number of items on every page together")
    page: int
    page_size: int


def paginate(rows: QuerySet[Any] | Sequence[Any], paging: PageQuery) -> dict[str, Any]:
    """Slice one page; a page past the end is empty, not an error."""
    count = rows.count() if isinstance(rows, QuerySet) else len(rows)
    offset = (paging.page - 1) * paging.page_size
    items = list(rows[offset : offset + paging.page_size]) if offset < count else []
    return {"items": items, "count": count, "page": paging.page, "page_size": paging.page_size}
