"""Form helpers every app's views share."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from egov.core.errors import DomainError


def add_domain_error(
    form: forms.Form, exc: DomainError, aliases: Mapping[str, str] | None = None
) -> None:
    """Show a refused action next to the field it names (or at the top when it names none).

    `aliases` maps a service's field name to the form's where the two differ.
    """
    field = (aliases or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, str(exc.message))
