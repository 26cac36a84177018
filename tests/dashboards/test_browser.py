"""In Chromium: a practitioner's day (dashboard -> my overdue action -> mark done -> the
chronology shows it) and axe-core on every page this issue adds (0 serious or critical)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core import clock
from core.extensions import db
from panels.models import Referral
from tests.a11y.test_axe import violations

pytestmark = pytest.mark.browser


@pytest.fixture
def day(engine_name, partnership, make_case, make_action):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    today = clock.today()
    case = make_case(given="Lee", family="Marsh", lead="POLICE")
    make_action(case, due=today - dt.timedelta(days=2), text="Check in with the hostel")
    make_action(case, due=today + dt.timedelta(days=2), text="Book the review")
    db.session.add(Referral(panel_id=partnership.panels["IOM"].id, case_id=case.id, status="awaiting_decision",
                            referred_on=today))
    db.session.commit()
    ids = {"case": case.id}
    db.session.remove()
    return ids


def test_a_practitioners_day(day, page_for):
    page = page_for("police")
    page.goto("/")
    assert page.locator("#my-overdue [data-count]").inner_text() == "1"
    page.click("#my-overdue")
    page.wait_for_url(re.compile(r"/my/actions\?when=overdue$"))
    assert page.locator("#total").inner_text() == "1 action"
    page.click("text=Check in with the hostel")
    page.wait_for_url(re.compile(rf"/cases/{day['case']}"))
    row = page.locator("li, tr").filter(has_text="Check in with the hostel").last
    row.get_by_role("button", name=re.compile("Mark done")).click()
    page.wait_for_load_state()
    assert "Action marked as done" in page.content()
    page.goto("/")
    assert page.locator("#my-overdue [data-count]").inner_text() == "0"
    assert page.locator("#my-due [data-count]").inner_text() == "1"
    page.goto(f"/cases/{day['case']}/chronology")
    assert page.get_by_text(re.compile("Check in with the hostel")).count() >= 1
    assert page.get_by_text("Action 1: done").count() == 1  # the first action, marked done by Paula Police


PAGES = {
    "police": ["/", "/my/cases", "/my/actions?when=overdue", "/my/actions?when=due", "/my/changes",
               "/notifications", "/notifications/preferences"],
    "coord": ["/", "/dashboard/referrals?panel=IOM", "/dashboard/actions?panel=IOM&agency=POLICE"],
    "analyst": ["/", "/data-quality?panel=IOM&problem=no_rag"],
    "admin": ["/", "/dashboard/agreements"],
    "auditor": ["/"],
}


@pytest.mark.parametrize("who", list(PAGES))
def test_new_pages_have_no_serious_axe_violations(day, page_for, who):
    page = page_for(who)
    found = {path: violations(page, path) for path in PAGES[who]}
    assert {p: v for p, v in found.items() if v} == {}
