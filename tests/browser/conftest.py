"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

No browser is downloaded (`playwright install` cannot work here): Playwright's Python
package brings its own driver and launches /usr/bin/chromium (apt-get install chromium).
Set BATON_CHROMIUM to use another Chromium binary.
"""

import fcntl
import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

CHROMIUM = os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("BATON_SHOTS_DIR", "/tmp/baton-shots"))
PASSWORD = "correct-horse-battery"

# What the live server needs that production settings (DEBUG off) get in the way of:
# - the manifest storage wants `collectstatic` first; the live server serves from the finders instead;
# - SSL redirect and secure-only cookies would send the browser to https:// and drop the session;
# - a fast hasher, so logging in does not cost a second per test.
# The live server builds its middleware when it starts, so this must be on before it starts.
BROWSER_SETTINGS = {
    "STORAGES": {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    },
    "SECURE_SSL_REDIRECT": False,
    "SECURE_HSTS_SECONDS": 0,
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
}


@pytest.fixture(scope="package")
def live_server(django_db_setup):
    """pytest-django's live server, started with BROWSER_SETTINGS in force for this package only.

    Same name as pytest-django's fixture, so its helper still gives each test transactional
    database access and adds the host to ALLOWED_HOSTS; package scope keeps the overrides
    from leaking into the rest of the suite.
    """
    from pytest_django.live_server_helper import LiveServer

    overrides = override_settings(**BROWSER_SETTINGS)
    overrides.enable()
    server = LiveServer(os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost")
    try:
        yield server
    finally:
        server.stop()
        overrides.disable()


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the whole browser suite (all of it lives in this package).

    Playwright's sync API keeps an asyncio loop running in the main thread while it is
    started, and Django then refuses ORM calls from that thread (SynchronousOnlyOperation).
    The tests and the live server's setup do call the ORM there, so the check is lifted
    while Playwright runs, and Playwright is stopped when this package is done: package
    scope rather than session scope, so the rest of the suite keeps Django's check.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"No Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def shots():
    """Folder for screenshots a person can look at after the run (outside the repository), emptied once a run:
    with xdist, by whichever worker comes first (the others keep what it and they wrote)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex  # one id for all the workers of a run
    SHOTS.parent.mkdir(parents=True, exist_ok=True)
    with open(SHOTS.parent / f".{SHOTS.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = SHOTS / ".run"
        if not marker.is_file() or marker.read_text() != run:
            shutil.rmtree(SHOTS, ignore_errors=True)
            SHOTS.mkdir(parents=True)
            marker.write_text(run)
    return SHOTS


class JsErrors(list):
    """Console errors and uncaught exceptions of one page, as text."""


@pytest.fixture
def js_errors():
    return JsErrors()


@pytest.fixture
def page(browser, live_server, js_errors):
    """A fresh browser context (no cookies) with the live server as base URL."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5_000)
    page = context.new_page()
    page.on("console", lambda msg: js_errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: js_errors.append(f"pageerror: {exc}"))
    yield page
    context.close()


def log_in(page, username, password=PASSWORD):
    """Log in through the real login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
