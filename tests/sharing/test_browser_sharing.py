"""In Chromium (SQLite only): an administrator changes the grant matrix and suspends an agreement;
an auditor filters the access log. Each page is checked with axe-core and for CSP errors.

Every read after a click goes through Playwright's retrying `expect`, so it waits for the next page
instead of reading the one being left (the test once failed that way in a full run)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.extensions import db
from sharing.models import Isa

pytestmark = pytest.mark.browser

AXE = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                     .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""


@pytest.fixture
def sqlite_only(engine_name):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")


def _check(page, errors: list[str]) -> None:
    page.add_script_tag(url="/assets/js/axe.min.js")
    assert page.evaluate(AXE) == [], page.url
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_admin_changes_grants_and_auditor_reads_the_log(sqlite_only, partnership, page_for):
    isa_id = db.session.execute(db.select(Isa.id).filter_by(ref="ISA-IOM-TEST")).scalar_one()
    db.session.commit()
    db.session.remove()

    page = page_for("admin")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"/agreements/{isa_id}")
    _check(page, errors)
    page.get_by_role("button", name="Change agreement ISA-IOM-TEST").click()
    _check(page, errors)
    page.get_by_label("DWP – Contact").select_option("r")
    page.get_by_role("button", name="Save agreement").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("saved")
    expect(page.locator('[data-grant="DWP:contact"]')).to_have_text(re.compile(r"^\s*Read\s*$"))
    page.get_by_role("button", name="Suspend sharing").click()
    expect(page.locator("h1")).to_have_text("Suspend sharing under ISA-IOM-TEST?")  # asked first
    page.get_by_role("button", name="Suspend sharing").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("is now suspended")
    page.goto("/agreements/matrix")
    _check(page, errors)
    assert page.locator('[data-grant^="IOM:"]').count() == 0  # nothing in force on IOM now
    page.goto("/agreements/new")
    _check(page, errors)

    page = page_for("auditor")
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/access-log")
    _check(page, errors)
    page.get_by_label("Action").select_option("admin")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"action=admin"))
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("suspended")
    expect(rows.nth(1)).to_contain_text("grant added: DWP contact r")
    page.goto("/access-log/nominal")
    page.get_by_label("Nominal ID").fill("1")
    page.get_by_role("button", name="Show who has seen this nominal").click()
    page.wait_for_url(re.compile(r"/access-log/nominals/1$"))
    _check(page, errors)
