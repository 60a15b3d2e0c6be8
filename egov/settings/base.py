"""Settings shared by every deployment. Everything that differs comes from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("EGOV_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


SECRET_KEY = os.environ.get("EGOV_SECRET_KEY", "insecure-development-key-change-me")
DEFAULT_SECRET_KEY_MARKER = "insecure-development-key"
DEBUG = env_bool("EGOV_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in os.environ.get("EGOV_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("EGOV_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Node identity (节点): one deployment serving many organisations; see ARCHITECTURE.md.
EGOV_NODE_CODE = os.environ.get("EGOV_NODE_CODE", "hebei-province")
EGOV_NODE_NAME = os.environ.get("EGOV_NODE_NAME", "河北省政务内网节点")
# Zone (网络区域): intranet / extranet / internet portal are separate deployments of this code.
EGOV_ZONE = os.environ.get("EGOV_ZONE", "intranet")

INSTALLED_APPS = [
    # The admin requires a second factor (django-otp's OTPAdminSite): see egov/orgs/admin_site.py.
    "egov.orgs.admin_site.EgovAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks",
    "django_tasks_db",
    "egov.core",
    "egov.orgs",
    "egov.pki",
    "egov.exchange",
    "egov.documents",
    "egov.supervision",
    "egov.duty",
    "egov.api",
    "egov.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "egov.core.middleware.RequestContextMiddleware",
    "egov.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "egov.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "egov.orgs.middleware.AccountPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # AxesMiddleware last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "egov.urls"
WSGI_APPLICATION = "egov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "egov.web.context_processors.shell",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'egov.sqlite3'}"),
        conn_max_age=env_int("EGOV_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the task worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "orgs.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "egov.orgs.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "egov.orgs.passwords.PasswordHistoryValidator", "OPTIONS": {"history": 5}},
    {"NAME": "egov.orgs.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
]
# Days after which a password must be changed; 0 turns expiry off.
EGOV_PASSWORD_MAX_AGE_DAYS = env_int("EGOV_PASSWORD_MAX_AGE_DAYS", 0)

# django-axes: lock the account after five failures (GB/T 22239 level 3: 登录失败处理).
AXES_FAILURE_LIMIT = env_int("EGOV_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("EGOV_LOCKOUT_MINUTES", 30) / 60  # hours
# Lock the account after N failures from anywhere, and an address after N failures on any account.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "egov.orgs.auth_views.lockout_response"
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# Masked in the form data axes keeps for each failure (axes' defaults, then the fields of the
# password-change and OTP forms, which also count failures: "password" is always masked).
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "ip_address",
    "old_password",
    "new_password1",
    "new_password2",
    "token",
]

# Sessions: idle timeout (30 minutes by default), renewed on every request.
SESSION_COOKIE_AGE = env_int("EGOV_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

OTP_TOTP_ISSUER = "egov"
# Whom a locked-out person should call (shown on the lockout page), e.g. "安全管理员 0311-1234567".
EGOV_HELPDESK = os.environ.get("EGOV_HELPDESK", "")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "egov" / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("EGOV_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request size limits: bodies and uploads above these are refused with 413, not read.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("EGOV_MAX_BODY_BYTES", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
EGOV_IMPORT_MAX_BYTES = env_int("EGOV_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
EGOV_IMPORT_MAX_ROWS = env_int("EGOV_IMPORT_MAX_ROWS", 50_000)

# Background work: Django's task API. Database backend by default; RQ on Redis when REDIS_URL is set.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# Audit trail retention (留存): rows younger than this cannot be deleted.
EGOV_AUDIT_RETENTION_DAYS = env_int("EGOV_AUDIT_RETENTION_DAYS", 180)

# Notifications: e-mail through Django's backend; SMS through a gateway adapter.
EMAIL_BACKEND = os.environ.get(
    "EGOV_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("EGOV_FROM_EMAIL", "egov@localhost")
EGOV_SMS_GATEWAY = os.environ.get("EGOV_SMS_GATEWAY", "egov.core.sms.LoggingSmsGateway")
EGOV_SMS_GATEWAY_URL = os.environ.get("EGOV_SMS_GATEWAY_URL", "")
EGOV_SMS_GATEWAY_TOKEN = os.environ.get("EGOV_SMS_GATEWAY_TOKEN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "egov.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("EGOV_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # WeasyPrint and fontTools narrate every step of a layout at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- PKI (egov.pki, the provincial CA) -------------------------------------------------------
# The key-encryption key is read by egov/pki/keystore.py from the environment (EGOV_PKI_KEK) and
# is deliberately not a setting (it must never show on a debug page). See docs/pki.md.
EGOV_PKI_REQUIRE_KEK = env_bool("EGOV_PKI_REQUIRE_KEK", False)
EGOV_PKI_BASE_URL = os.environ.get("EGOV_PKI_BASE_URL", "http://127.0.0.1:8000")
EGOV_PKI_DNS_ZONES = [
    z.strip() for z in os.environ.get("EGOV_PKI_DNS_ZONES", "hebei.gov.cn").split(",") if z.strip()
]
# --- end PKI ---------------------------------------------------------------------------------

# --- Official documents (egov.documents) -------------------------------------------------------
# Largest attachment accepted (bytes); uploads are streamed, never held in memory.
EGOV_DOCUMENT_MAX_UPLOAD_BYTES = env_int("EGOV_DOCUMENT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
# Font map for the GB/T 9704 layout: role → families, first installed wins. Unset: the
# standard's faces first, then the free Noto / AR PL faces (egov/documents/layout/fonts.py).
EGOV_DOCUMENT_FONTS: dict[str, list[str]] | None = None
# The face for the visible seal's lettering (a .ttf/.otf/.ttc path); unset: Noto Serif CJK Bold.
EGOV_SEAL_FONT = os.environ.get("EGOV_SEAL_FONT", "")
