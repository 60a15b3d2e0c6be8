"""Who is acting: the user, the position they act in, and where the request came from.

Every service takes `acting=` so that the audit trail records who, in which position and
organisation, from which address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from egov.orgs.models import Organisation, Position, User


@dataclass(frozen=True)
class Acting:
    user: User | None
    position: Position | None = None
    source_ip: str | None = None
    # For system actors (tasks, commands): a label recorded as the user name.
    label: str = ""

    @property
    def organisation(self) -> Organisation | None:
        return self.position.organisation if self.position is not None else None

    @property
    def username(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return self.label or "system"

    @classmethod
    def system(cls, label: str = "system") -> Acting:
        return cls(user=None, label=label)

    @classmethod
    def anonymous(cls, request: HttpRequest, label: str = "anonymous") -> Acting:
        """Nobody signed in yet (a token request): whatever session the client carries."""
        from egov.core.middleware import client_ip

        return cls(user=None, source_ip=client_ip(request), label=label)

    @classmethod
    def from_request(cls, request: HttpRequest, user: Any = None) -> Acting:
        from egov.core.middleware import client_ip

        user = user if user is not None else getattr(request, "user", None)
        if user is not None and not user.is_authenticated:
            user = None
        position = user.current_position(request) if user is not None else None
        return cls(user=user, position=position, source_ip=client_ip(request))
