"""Project-wide pytest configuration.

Browser tests (`@pytest.mark.e2e`) drive Debian's Chromium through Playwright's sync API against
Django's `live_server`. Use the `page` fixture (a fresh browser context per test); the Chromium
process is shared by the tests of one module.

Without /usr/bin/chromium the browser tests are skipped with a visible reason, unless
EGOV_REQUIRE_BROWSER=1 (as in CI and `make test`), in which case they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("EGOV_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent / "var" / "screenshots"


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _audit_rows_removable_after_transactional_tests(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """Transactional tests (live_server, transaction=True) end with a flush of every table.

    The audit trail's database guard refuses to DELETE rows inside the retention period, which
    SQLite's flush does (PostgreSQL truncates, which the row trigger does not see). Before that
    flush, remove the test's audit rows with the guard lifted for that one statement.
    """
    if not _is_transactional(request):
        yield
        return
    request.getfixturevalue("transactional_db")  # set up first, so torn down (flushed) after us
    yield
    from django.db import connection, transaction

    tables = set(connection.introspection.table_names())
    if "core_auditguard" not in tables:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT retention_days FROM core_auditguard WHERE id = 1")
        row = cursor.fetchone()
        cursor.execute("UPDATE core_auditguard SET retention_days = 0 WHERE id = 1")
        cursor.execute("DELETE FROM core_auditevent")
        if row is not None:
            cursor.execute("UPDATE core_auditguard SET retention_days = %s WHERE id = 1", [row[0]])


def _browser_missing(reason: str) -> None:
    if os.environ.get("EGOV_REQUIRE_BROWSER") == "1":
        pytest.fail(f"EGOV_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the tests of one module.

    Playwright's sync API keeps an event loop running in this thread while it is started, and
    Django refuses database calls from inside a running loop; so, for browser tests only,
    DJANGO_ALLOW_ASYNC_UNSAFE is set while the browser lives and removed after.
    """
    if not CHROMIUM.exists():
        _browser_missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev dependency missing
        _browser_missing("the playwright package is not installed")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server, in Chinese, Beijing time."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 800},
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    # A CSP violation or script error shows in the console: fail the test on it.
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # A test that expects an error status (a 400 form, a 429 lockout) clears this list.
    tab.console_errors = errors
    try:
        yield tab
    finally:
        context.close()
    if errors:
        pytest.fail(f"browser console errors: {errors}", pytrace=False)


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
