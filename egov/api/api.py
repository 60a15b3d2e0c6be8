"""The `/api/v1` mount point: one NinjaAPI with every app's router, auth and the error shape."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from egov.api.auth import session_auth, token_auth
from egov.api.errors import JsonParser, install_error_handlers

api = NinjaAPI(
    title="egov API",
    version="1",
    description=(
        "REST API of the egov platform. Authenticate with `Authorization: Bearer <access token>` "
        "(see `/auth/token`) or, in the browser, with the session (send `X-CSRFToken` on "
        "writes). Errors are `{code, message, details}`; lists are paginated."
    ),
    urls_namespace="api-1",
    auth=[token_auth, session_auth],
    parser=JsonParser(),
    docs=Swagger(settings={"persistAuthorization": False}),
)
install_error_handlers(api)

api.add_router("/auth", "egov.api.token_api.router")
api.add_router("", "egov.orgs.api.router")
api.add_router("", "egov.core.api.router")
api.add_router("", "egov.pki.api.router")
api.add_router("", "egov.exchange.api.router")
api.add_router("", "egov.supervision.api.router")
api.add_router("", "egov.documents.api.router")
api.add_router("", "egov.duty.api.router")
