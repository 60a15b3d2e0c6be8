"""Mounted by the project at `api/v1/`."""

from django.urls import path, re_path

from egov.api.api import api
from egov.api.errors import json_not_found

urlpatterns = [
    path("", api.urls),
    # Anything else under /api/v1/ answers in the API's error shape, not Django's HTML 404.
    re_path(r"^.*$", json_not_found, name="api-not-found"),
]
