"""In Chromium: the tracker updates itself, never under the user's focus; stale edits conflict."""

from __future__ import annotations

import re

import pytest

from cohort import services
from cohort.models import Case
from core.extensions import db
from tests.cohort.test_tracker_helpers import make_case, policy_for

pytestmark = pytest.mark.browser


@pytest.fixture
def sqlite_only(engine_name):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")


@pytest.fixture
def watched(sqlite_only, partnership):
    case = make_case(partnership, given="Zoë", family="O'Brien", rag="amber")
    make_case(partnership, given="Other", family="Person", rag="green")
    case_id = case.id
    db.session.commit()
    db.session.remove()
    return case_id


def row(page, case_id: int):
    return page.locator("#tracker-results tr", has=page.locator(f'a[href="/cases/{case_id}"]'))


def test_a_rag_change_appears_on_a_watching_tracker(page_for, watched):
    coordinator = page_for("coord")
    coordinator.goto("/panels/IOM/tracker")
    assert row(coordinator, watched).locator(".govuk-tag").first.inner_text() == "Amber"
    coordinator.evaluate("window.__marker = 'not reloaded'")

    practitioner = page_for("police")
    practitioner.goto(f"/cases/{watched}")
    practitioner.check("input[name=rag][value=red]")
    practitioner.fill("textarea[name=rationale]", "Arrested overnight")
    practitioner.click("button:has-text('Change RAG'), input[value='Change RAG']")
    practitioner.wait_for_url(re.compile(rf"/cases/{watched}$"))
    assert "RAG changed to red" in practitioner.content()

    tag = row(coordinator, watched).locator(".govuk-tag").first
    tag.wait_for(state="attached")
    coordinator.wait_for_function(
        f"""() => {{
            const link = document.querySelector('#tracker-results a[href="/cases/{watched}"]');
            return link && link.closest('tr').textContent.includes('Red');
        }}""",
        timeout=13_000,
    )
    assert coordinator.evaluate("window.__marker") == "not reloaded"
    assert "Last refreshed at" in coordinator.locator("#tracker-refreshed").inner_text()


def test_no_swap_while_focus_is_in_the_tracker(page_for, watched, partnership):
    coordinator = page_for("coord")
    coordinator.goto("/panels/IOM/tracker")
    coordinator.focus("#q")
    services.change_rag(db.session.get(Case, watched), to="red", rationale="While typing",
                        policy=policy_for(partnership, "police"))
    db.session.commit()
    db.session.remove()
    coordinator.wait_for_timeout(11_500)
    assert "Amber" in row(coordinator, watched).inner_text()  # not swapped under the focus
    coordinator.evaluate("document.activeElement.blur()")
    coordinator.wait_for_function(
        f"""() => document.querySelector('#tracker-results a[href="/cases/{watched}"]')
                    .closest('tr').textContent.includes('Red')""",
        timeout=13_000,
    )


def test_a_stale_edit_shows_the_conflict_page(page_for, watched, partnership):
    practitioner = page_for("police")
    practitioner.goto(f"/cases/{watched}")
    services.change_rag(db.session.get(Case, watched), to="green", rationale="Colleague: engaging well",
                        policy=policy_for(partnership, "probation"))
    db.session.commit()
    db.session.remove()
    practitioner.check("input[name=rag][value=red]")
    practitioner.fill("textarea[name=rationale]", "My escalation")
    practitioner.click("button:has-text('Change RAG'), input[value='Change RAG']")
    practitioner.wait_for_selector("h1:has-text('Someone else changed this case')")
    content = practitioner.content()
    assert "Colleague: engaging well" in content and "Pete Probation (NPS)" in content
    assert practitioner.input_value("textarea[name=rationale]") == "My escalation"
    assert practitioner.is_checked("input[name=rag][value=red]")
    practitioner.click("button:has-text('Apply my change to the new version'), "
                       "input[value='Apply my change to the new version']")
    practitioner.wait_for_url(re.compile(rf"/cases/{watched}$"))
    assert "RAG changed to red" in practitioner.content()
    db.session.expire_all()
    assert db.session.get(Case, watched).rag == "red"
    db.session.remove()
