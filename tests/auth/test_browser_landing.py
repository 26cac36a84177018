"""In Chromium: sign in on the live server and keep a screenshot of the landing page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import TEST_PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
def test_sign_in_and_screenshot_landing_page(engine_name, partnership, page_for):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    page = page_for()
    page.goto("/")
    assert "/sign-in" in page.url
    assert page.title() == "Sign in – Manage risk panels"
    page.fill("#email", "coord@test.example")
    page.fill("#password", "wrong-password-1")
    page.click("button[type=submit], input[type=submit]")
    assert page.locator(".govuk-error-summary").inner_text().count("Enter a correct email address and password")
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "sign-in" not in url)
    assert page.title().endswith("– Manage risk panels") and not page.title().startswith("Sign in")
    assert "Cora Coordinator" in page.locator("header").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "landing.png"), full_page=True)
    assert (ARTIFACTS / "landing.png").stat().st_size > 10_000
    page.click("text=Sign out")
    page.wait_for_url(lambda url: "sign-in" in url)
    assert "You have signed out" in page.content()
