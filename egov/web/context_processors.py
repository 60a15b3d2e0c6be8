"""What every page's shell needs: the node, the zone, the current position."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def shell(request: HttpRequest) -> dict[str, Any]:
    return {"egov_node_name": settings.EGOV_NODE_NAME, "egov_zone": settings.EGOV_ZONE}
