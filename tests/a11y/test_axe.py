"""Accessibility: every page checked with axe-core in Chromium (no serious or critical
violations), and keyboard-only journeys for the tracker, the RAG change and the agenda."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import url_for

from core.extensions import db
from tests.cohort.test_tracker_helpers import make_case

pytestmark = pytest.mark.browser

AXE = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@pytest.fixture
def world(engine_name, partnership, app):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    from panels.models import Meeting

    case = make_case(partnership, given="Zoë", family="O'Brien", rag="amber", lead_officer="DC Ward",
                     last_engagement=dt.date(2026, 5, 1))
    make_case(partnership, given="Sam", family="Nguyễn Thị", rag="red")
    meeting = db.session.execute(
        db.select(Meeting).filter_by(panel_id=partnership.panels["IOM"].id).order_by(Meeting.date)
    ).scalars().first()
    ids = {"case": case.id, "meeting": meeting.id}
    db.session.commit()
    with app.test_request_context():
        endpoints = {name: url_for(name) for name in ("auth.admin_users", "auth.admin_agencies")
                     if name in app.view_functions}
    db.session.remove()
    return ids, endpoints


def violations(page, path: str) -> list[dict]:
    page.goto(path)
    assert "/sign-in" not in page.url or path == "/sign-in", f"{path} redirected to {page.url}"
    page.add_script_tag(url="/assets/js/axe.min.js")
    return [v for v in page.evaluate(AXE) if v["impact"] in ("serious", "critical")]


def pages_for(ids, endpoints):
    m, c = ids["meeting"], ids["case"]
    return {
        None: ["/sign-in"],
        "coord": ["/", "/panels", "/panels/IOM", "/panels/IOM/tracker", "/panels/IOM/tracker?rag=red",
                  f"/cases/{c}", f"/meetings/{m}", f"/meetings/{m}/agenda", "/kpis", "/agreements",
                  "/agreements/matrix", "/panels/IOM/import", "/panels/IOM/refer", "/overlaps", "/account"],
        "police": [f"/cases/{c}", "/panels/IOM/tracker"],
        "dwp": [f"/cases/{c}", "/panels/IOM/tracker"],
        "analyst": ["/duplicates", "/overlaps", "/kpis", "/kpis/equality?panel=IOM"],
        "auditor": ["/access-log", "/agreements"],
        "admin": ["/agreements", *endpoints.values()],
    }


def test_every_page_has_no_serious_axe_violations(page_for, world):
    ids, endpoints = world
    found = {}
    checked = 0
    for user, paths in pages_for(ids, endpoints).items():
        page = page_for(user)
        for path in paths:
            bad = violations(page, path)
            checked += 1
            if bad:
                found[f"{user}:{path}"] = bad
    assert checked >= 25
    assert found == {}, found


def tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the element matching `selector` has focus (proves keyboard reach)."""
    for _ in range(limit):
        if page.evaluate("sel => document.activeElement && document.activeElement.matches(sel)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach {selector} with the keyboard")


def test_keyboard_only_tracker_search(page_for, world):
    page = page_for("coord")
    page.goto("/panels/IOM/tracker")
    tab_to(page, "#q")
    page.keyboard.type("Nguyễn")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q="))
    text = page.locator("#tracker-results").inner_text()
    assert "Nguyễn Thị" in text and "O'Brien" not in text


def test_keyboard_only_rag_change(page_for, world):
    ids, _ = world
    page = page_for("police")
    page.goto(f"/cases/{ids['case']}")
    tab_to(page, "input[name=rag]")
    # Arrow keys move between radios in a group and select the focused one.
    for _ in range(4):
        if page.evaluate("() => document.activeElement.value") == "red":
            page.keyboard.press("Space")
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.checked && document.activeElement.value") == "red"
    tab_to(page, "textarea[name=rationale]")
    page.keyboard.type("Arrested for burglary; keyboard only")
    tab_to(page, "form:has(textarea[name=rationale]) button[type=submit], "
                 "form:has(textarea[name=rationale]) input[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "keyboard only" in page.content()


def test_keyboard_only_agenda_publish(page_for, world):
    ids, _ = world
    page = page_for("coord")
    page.goto(f"/meetings/{ids['meeting']}/agenda")
    generate = page.locator("form[action$='/agenda/generate'] button")
    if generate.count():
        tab_to(page, "form[action$='/agenda/generate'] button")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    tab_to(page, "form[action$='/agenda/publish'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "published" in page.content().lower()
