"""Read helpers every app's selectors share."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404


def parse_public_id(value: Any) -> UUID:
    """A public id (UUID) from a URL or a form; anything malformed is a 404, like an unknown id."""
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Http404("No such object.") from None
