"""The security baseline at the HTTP layer: CSP, no inline code, CSRF, cookies, production guards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from egov.orgs.choices import Role
from egov.orgs.tests.factories import DEFAULT_PASSWORD, make_member
from egov.orgs.tests.otp_helpers import TOTPDeviceFactory, login_verified

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)
EXECUTABLE_SCRIPT_TYPES = {"", "text/javascript", "module", "application/javascript"}


class InlineCodeFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, styles, handlers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.problems.append(f'<{tag} style="{value}">')
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> (inline event handler)")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            kind = (names.get("type") or "").lower()
            self._in_script = None if "src" in names or kind not in EXECUTABLE_SCRIPT_TYPES else ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            if self._in_script.strip():
                self.problems.append(f"inline <script>: {self._in_script.strip()[:80]!r}")
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._in_script += data


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def assert_csp(response) -> None:
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip()
    )
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def assert_clean_page(response) -> None:
    assert_csp(response)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    if response.get("Content-Type", "").startswith("text/html"):
        problems = inline_code(response.content.decode())
        assert not problems, f"{response.request['PATH_INFO']}: {problems}"


def test_the_finder_finds_what_it_should():
    html = """
      <script>alert(1)</script><script src="/x.js"></script>
      <script type="application/json">{"a": 1}</script>
      <div style="color:red" onclick="x()"></div><a href="javascript:void(0)">x</a>
      <style>p {}</style>
    """
    problems = inline_code(html)
    assert len(problems) == 5
    assert inline_code('<script src="/static/a.js" defer></script><p class="x">ok</p>') == []


# ---------------------------------------------------------------------------------------------
# Pages as each kind of person sees them


def test_login_and_lockout_pages_are_clean(client):
    assert_clean_page(client.get(reverse("accounts:login")))
    response = client.post(reverse("accounts:login"), {"username": "x", "password": "y"})
    assert_clean_page(response)
    user = make_member(None, Role.CLERK)
    for n in range(5):
        response = client.post(
            reverse("accounts:login"), {"username": user.username, "password": f"Bad#{n}pass"}
        )
    assert response.status_code == 429
    assert_clean_page(response)


def test_clerk_pages_are_clean(client):
    user = make_member(None, Role.CLERK)
    client.force_login(user)
    for url in ["/", reverse("accounts:password_change"), "/no-such-page/"]:
        assert_clean_page(client.get(url))
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": "a", "new_password2": "b"},
    )
    assert response.status_code == 400
    assert_clean_page(response)


def test_second_factor_pages_are_clean(client):
    signer = make_member(None, Role.SIGNER)
    client.post(
        reverse("accounts:login"), {"username": signer.username, "password": DEFAULT_PASSWORD}
    )
    response = client.get(reverse("accounts:otp_setup"))
    assert response.status_code == 200
    assert "<svg" in response.content.decode()
    assert_clean_page(response)
    response = client.post(reverse("accounts:otp_setup"), {"token": "nonsense"})
    assert_clean_page(response)

    other = make_member(None, Role.AUDIT_ADMIN)
    TOTPDeviceFactory.create(user=other)
    second = Client()
    second.post(
        reverse("accounts:login"), {"username": other.username, "password": DEFAULT_PASSWORD}
    )
    assert_clean_page(second.get(reverse("accounts:otp_verify")))
    # Redirects carry the headers too.
    assert_csp(second.get("/"))


def _simple_get_paths() -> list[str]:
    """Every URL in the project that takes no argument (admin and the API excepted)."""
    paths: list[str] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.converters:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                try:
                    paths.append(reverse(name))
                except Exception:  # noqa: S112  # takes arguments after all
                    continue

    walk(get_resolver().url_patterns, "", "")
    return sorted({p for p in paths if not p.startswith(("/admin/", "/api/"))})


def test_every_simple_page_is_clean_for_an_administrator(client):
    user = make_member(None, Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True)
    login_verified(client, user)
    paths = _simple_get_paths()
    assert "/" in paths
    assert reverse("accounts:login") in paths
    for path in paths:
        response = client.get(path)
        assert response.status_code < 500, path
        assert_clean_page(response)


# ---------------------------------------------------------------------------------------------
# CSRF and cookies


def test_login_without_csrf_token_is_refused():
    user = make_member(None, Role.CLERK)
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(
        reverse("accounts:login"), {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in csrf_client.session


def test_session_cookie_is_http_only_and_same_site(client):
    user = make_member(None, Role.CLERK)
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["max-age"]  # ends with the browser; the server ends it after idling


# ---------------------------------------------------------------------------------------------
# Production settings (in a fresh interpreter: settings load once per process)

GOOD_KEY = "k" * 30 + "-Z8qJ3mV1xR5tY7uW2eP4sL6nB9cD0fG"

PROBE = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings
    # No collectstatic manifest here: plain storage for the page's asset URLs.
    plain = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=plain):
        response = Client().get("/accounts/login/", secure=True)
        insecure = Client().get("/accounts/login/")
    print(json.dumps({
        "session_secure": settings.SESSION_COOKIE_SECURE,
        "csrf_secure": settings.CSRF_COOKIE_SECURE,
        "hsts_seconds": settings.SECURE_HSTS_SECONDS,
        "status": response.status_code,
        "hsts": response.get("Strict-Transport-Security", ""),
        "csrf_cookie_secure": bool(response.cookies["csrftoken"]["secure"]),
        "csp": response.get("Content-Security-Policy", ""),
        "insecure_status": insecure.status_code,
        "insecure_location": insecure.get("Location", ""),
    }))
    """
)


def run_prod(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "egov.settings.prod",
        "EGOV_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "EGOV_ALLOWED_HOSTS": "testserver",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_debug(tmp_path):
    result = run_prod(
        tmp_path, "import django; django.setup()", EGOV_DEBUG="1", EGOV_SECRET_KEY=GOOD_KEY
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "EGOV_DEBUG" in result.stderr


@pytest.mark.parametrize(
    "key",
    [None, "insecure-development-key-change-me" + "x" * 40, "short-key"],
    ids=["missing", "default", "short"],
)
def test_production_refuses_a_default_or_weak_secret_key(tmp_path, key):
    env = {} if key is None else {"EGOV_SECRET_KEY": key}
    result = run_prod(tmp_path, "import django; django.setup()", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "EGOV_SECRET_KEY" in result.stderr


def test_production_sends_secure_cookies_and_hsts(tmp_path):
    result = run_prod(tmp_path, PROBE, EGOV_SECRET_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["session_secure"] is True
    assert facts["csrf_secure"] is True
    assert facts["hsts_seconds"] >= 31_536_000
    assert facts["status"] == 200
    assert facts["hsts"].startswith("max-age=31536000")
    assert "includeSubDomains" in facts["hsts"]
    assert facts["csrf_cookie_secure"] is True
    assert "unsafe-inline" not in facts["csp"]
    # Plain HTTP is sent to HTTPS.
    assert facts["insecure_status"] == 301
    assert facts["insecure_location"].startswith("https://")
