"""Production: refuses to start when it is not safe to."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *

if DEBUG:
    raise ImproperlyConfigured("EGOV_DEBUG must be off in production.")
if (
    not os.environ.get("EGOV_SECRET_KEY")
    or SECRET_KEY.startswith(DEFAULT_SECRET_KEY_MARKER)
    or len(SECRET_KEY) < 50
):
    raise ImproperlyConfigured(
        "Set EGOV_SECRET_KEY to a random value of at least 50 characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )

# Served over TLS behind a reverse proxy: secure cookies and HSTS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("EGOV_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("EGOV_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
}

# --- PKI: the CA's key-encryption key must come from the environment (docs/pki.md). ---
EGOV_PKI_REQUIRE_KEK = True
