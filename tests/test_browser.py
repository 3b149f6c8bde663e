"""A real browser (Debian's Chromium, driven by Playwright) uses the portal end to end.

These prove what the HTML-level tests cannot: the built CSS and JavaScript load under the
strict Content-Security-Policy, GOV.UK components start, and a user can sign in through
the real CSRF-protected form. Skipped (with the reason) where no Chromium is installed;
set PAM_REQUIRE_BROWSER=1 to make a missing browser a failure instead.
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from pam import create_app
from pam.auth.models import Role
from tests.conftest import TEST_PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if not CHROMIUM and not os.environ.get("PAM_REQUIRE_BROWSER"):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def live_server(database_url):
    """The portal with its production-like settings (CSRF on), on a free local port."""
    app = create_app(
        {
            "PAM_ENV": "testing",
            "SECRET_KEY": "browser-test",
            "SQLALCHEMY_DATABASE_URI": database_url,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    context.close()


def sign_in(page, live_server, email, password=TEST_PASSWORD):
    page.goto(f"{live_server}/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def test_officer_signs_in_and_the_styled_portal_works(page, live_server, make_user):
    officer = make_user(role=Role.OFFICER)
    sign_in(page, live_server, officer.email)
    page.wait_for_url(f"{live_server}/home")
    assert page.locator("h1").inner_text().startswith("Welcome")
    # The stylesheet loaded and applied, with Arial in place of GOV.UK Transport.
    body_font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "arial" in body_font.lower()
    # JavaScript ran under the CSP: the body is marked and GOV.UK Frontend initialised.
    assert "js-enabled" in page.evaluate("document.body.className")
    page.click("text=Providers")
    assert page.locator("h1").inner_text() == "Providers"
    assert page.problems == []


def test_a_wrong_password_shows_the_error_summary_and_keeps_the_email(page, live_server, make_user):
    user = make_user()
    sign_in(page, live_server, user.email, "not the password")
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert "Enter a correct email address and password" in summary.inner_text()
    assert page.input_value("#email") == user.email
    # GOV.UK's error summary script moves focus to the summary for screen-reader users.
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    assert page.problems == []


def test_the_password_show_button_works(page, live_server):
    page.goto(f"{live_server}/sign-in")
    page.fill("#password", "secret words")
    page.click("text=Show")
    assert page.get_attribute("#password", "type") == "text"
