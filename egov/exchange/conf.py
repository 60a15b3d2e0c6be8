"""Settings of the exchange: a Django setting if defined, else the environment, else a default."""

from __future__ import annotations

import os

from django.conf import settings


def setting_int(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def setting_str(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return str(value) if value not in (None, "") else default
