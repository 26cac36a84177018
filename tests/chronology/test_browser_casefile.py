"""In Chromium: the chronology, people search and documents pages have no serious or critical
axe violations, and a practitioner's journey (mark an overdue action done, see it in the
chronology; find a person from the header search box by keyboard) works end to end."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from cohort import services
from core import clock
from core.extensions import db
from tests.a11y.test_axe import AXE, violations
from tests.cohort.test_tracker_helpers import make_case, policy_for
from tests.documents.test_documents import PDF
from tests.support import clock_at

pytestmark = pytest.mark.browser


@pytest.fixture
def world(engine_name, partnership, app):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    case = make_case(partnership, given="Zoë", family="O'Brien", rag="amber", identity={"aliases": ["Zed Bee"]})
    police = policy_for(partnership, "police")
    action = services.add_action(case, description="Check the address", owner_agency_id=police.user.agency_id,
                                 owner_name="DC Ward", due=dt.date(2026, 11, 1), policy=police)
    services.add_note(case, category="intelligence", body="Seen with associates", policy=police)
    make_case(partnership, panel="MAPPA", nominal=case.nominal, ref="MAPPA-Z")
    db.session.commit()
    ids = {"case": case.id, "action": action.id}
    db.session.remove()
    return ids


def _upload_one(page, case_id: int) -> None:
    page.goto(f"/cases/{case_id}/documents/new")
    page.set_input_files("#file", files=[{"name": "Risk plan.pdf", "mimeType": "application/pdf",
                                           "buffer": io.BytesIO(PDF).getvalue()}])
    page.check("input[name=category][value=intelligence]")
    page.click("button:has-text('Upload'), input[type=submit][value=Upload]")
    page.wait_for_url(f"**/cases/{case_id}#documents")


def test_new_pages_have_no_serious_axe_violations(page_for, world):
    case_id = world["case"]
    found = {}
    police = page_for("police")
    _upload_one(police, case_id)
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/chronology", f"/cases/{case_id}/chronology?category=risk",
                 f"/cases/{case_id}/documents/new", "/search"):
        bad = violations(police, path)
        if bad:
            found[f"police:{path}"] = bad
    # the pages in their other states: search results, an upload refused, an empty chronology filter
    police.goto("/search")
    police.fill("#q", "Zoe O'Brien")
    police.keyboard.press("Enter")
    police.wait_for_selector("#results")
    police.add_script_tag(url="/assets/js/axe.min.js")
    bad = [v for v in police.evaluate(AXE) if v["impact"] in ("serious", "critical")]
    if bad:
        found["police:/search results"] = bad
    police.goto(f"/cases/{case_id}/documents/new")
    police.click("button:has-text('Upload'), input[type=submit][value=Upload]")
    police.wait_for_selector(".govuk-error-summary")
    police.add_script_tag(url="/assets/js/axe.min.js")
    bad = [v for v in police.evaluate(AXE) if v["impact"] in ("serious", "critical")]
    if bad:
        found["police:upload with errors"] = bad
    dwp = page_for("dwp")
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/chronology", "/search"):
        bad = violations(dwp, path)
        if bad:
            found[f"dwp:{path}"] = bad
    assert found == {}, found


def test_overdue_action_marked_done_shows_in_the_chronology(page_for, world):
    page = page_for("police")
    case_id = world["case"]
    page.goto(f"/cases/{case_id}#actions")
    assert page.locator("table .govuk-tag--red", has_text="Overdue").count() == 1
    clock.set_now(clock_at("2026-11-23T10:05:00"))  # five minutes after the note
    with page.expect_navigation():
        page.click("button:has-text('Mark done')")
    assert page.locator("table .govuk-tag--green", has_text="Done").count() == 1
    with page.expect_navigation():
        page.click("text=View the full chronology")
    titles = page.locator(".moj-timeline__title").all_inner_texts()
    assert titles[0] == "Action 1: done" and "Action 1 agreed" in titles
    page.select_option("#category", "intelligence")
    with page.expect_navigation():  # the filter is a GET form: read the new page, not the one leaving
        page.click("button:has-text('Filter')")
    assert page.locator(".moj-timeline__title").all_inner_texts() == ["Intelligence note"]
    assert "category=intelligence" in page.url


def test_find_a_person_from_the_header_by_keyboard(page_for, world):
    page = page_for("police")
    page.goto("/panels")
    page.focus("#header-search")
    page.keyboard.type("Zed Bee")
    page.keyboard.press("Enter")
    page.wait_for_selector("#results")
    assert page.url.endswith("/search")  # the term went in the body, not the address
    assert page.locator(".govuk-summary-card__title").all_inner_texts() == ["Zoë O'Brien"]
    links = page.locator(".app-search-result a").all_inner_texts()
    assert any("IOM" in text for text in links) and any("MAPPA" in text for text in links)
    page.click(".app-search-result a >> nth=0")
    assert "/cases/" in page.url
