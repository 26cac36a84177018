"""End to end in Chromium (SQLite only): a coordinator runs a MAPPA meeting; DWP reads an agenda."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def sqlite_only(engine_name):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")


def test_coordinator_runs_a_mappa_meeting(sqlite_only, make_case, meeting_on, page_for, partnership):
    from core import clock
    from tests.conftest import clock_at

    clock.set_now(clock_at("2026-12-10T15:00:00"))  # the day it sits: closing is allowed
    case = make_case("MAPPA", given="Lena", family="Morris", rag="amber", mappa_level=3,
                     last_engagement=dt.date(2026, 11, 1))
    meeting = meeting_on("MAPPA", dt.date(2026, 12, 10))
    meeting_id, case_id = meeting.id, case.id
    nps = partnership.agencies["NPS"].id
    db.session.commit()
    db.session.remove()

    page = page_for("mappa.coord")
    page.goto(f"/meetings/{meeting_id}/agenda")
    assert page.locator("#draft-notice").is_visible()
    assert "Lena Morris" in page.locator("#agenda").inner_text()
    page.click("#publish-agenda")
    page.wait_for_selector("text=Agenda published")

    page.goto(f"/meetings/{meeting_id}")
    page.check(f"#agency_{nps}")
    page.click("text=Save attendance")
    page.wait_for_selector("text=Attendance saved")

    page.click("text=Record outcome")
    page.check("#outcome-rag")  # first radio: Red
    page.fill("#outcome-rationale", "Escalating threats to former partner")
    page.click("text=Save outcome")
    page.wait_for_selector("text=Outcome saved")

    page.click("#close-meeting")
    page.click("#confirm-close")  # the confirmation page
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "record whether disclosure was considered" in summary.inner_text()
    assert "Published" in page.locator("#meeting-status").inner_text()

    page.click("text=Record outcome")
    page.check("#outcome-disclosure_considered")  # Yes
    page.fill("#outcome-disclosure_decision", "Disclose to the former partner")
    page.fill("#outcome-disclosure_reason", "Risk of serious harm to her")
    page.click("text=Save outcome")
    page.wait_for_selector("text=Outcome saved")
    page.click("#close-meeting")
    page.click("#confirm-close")
    page.wait_for_selector("text=Meeting closed")
    assert "Closed" in page.locator("#meeting-status").inner_text()

    page.goto(f"/cases/{case_id}")
    body = page.locator("main").inner_text()
    assert re.search(r"Red", body)
    assert "Escalating threats to former partner" in body


def test_dwp_reads_the_iom_agenda_with_contact_and_risk_withheld(sqlite_only, make_case, meeting_on, page_for,
                                                                partnership):
    from panels import agenda as agendas

    make_case(given="Reg", family="Stone", rag="red", last_engagement=dt.date(2026, 11, 1))
    make_case(given="Amy", family="Vale", rag="amber", last_engagement=dt.date(2026, 6, 1))
    meeting = meeting_on("IOM", dt.date(2026, 12, 2))
    agendas.publish(meeting, partnership.user("coord"))
    meeting_id = meeting.id
    db.session.commit()
    db.session.remove()

    page = page_for("dwp")
    page.goto(f"/meetings/{meeting_id}/agenda")
    table = page.locator("#agenda").inner_text()
    assert "Reg Stone" in table and "Amy Vale" in table
    assert "Withheld" in table
    assert "No engagement" not in table and "Red" not in table.replace("Reg", "")
    withheld = page.locator("#withheld").inner_text()
    assert "contact" in withheld and "risk" in withheld and "DWP" in withheld
    assert page.locator(".govuk-tag--red").count() == 0
    assert page.locator("#publish-agenda").count() == 0


def test_kpi_charts_load_under_the_csp(sqlite_only, partnership, page_for):
    page = page_for("analyst")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/kpis")
    page.wait_for_load_state("networkidle")
    widths = page.eval_on_selector_all("svg.app-chart", "svgs => svgs.map(s => s.getBoundingClientRect().width)")
    assert widths and all(w > 0 for w in widths)
    assert not [e for e in errors if "Content Security Policy" in e]


def test_coordinator_pulls_up_and_reorders_by_keyboard_without_a_reload(sqlite_only, make_case, meeting_on,
                                                                         page_for, partnership, held_meeting):
    from sharing.partnership import load
    from tests.support import partnership_data

    data = partnership_data()
    data["panels"][0] = {**data["panels"][0], "meeting_minutes": 20, "minutes_per_case": 10}
    load(data)
    later = dt.date(2027, 3, 1)
    red = [make_case(given=g, family="Red", rag="red", last_engagement=dt.date(2026, 11, 20), next_review=later)
           for g in ("Ann", "Ben")]
    quiet = make_case(given="Cal", family="Quiet", rag="green", last_engagement=dt.date(2026, 11, 20),
                      next_review=later)
    held_meeting("IOM", dt.date(2026, 11, 4), [*red, quiet])
    meeting_id = meeting_on("IOM", dt.date(2026, 12, 2)).id
    from panels import agenda as agendas
    from panels.models import Meeting

    agendas.generate_agenda(db.session.get(Meeting, meeting_id))
    by_case = {i.case_id: i.id for i in db.session.get(Meeting, meeting_id).items}
    q, r0 = by_case[quiet.id], by_case[red[0].id]
    db.session.commit()
    db.session.remove()

    page = page_for("coord")
    page.goto(f"/meetings/{meeting_id}/agenda")
    page.evaluate("window.notReloaded = true")
    assert "Cal Quiet" in page.locator("#for-information").inner_text()
    page.focus(f"#discuss-{q}")
    page.keyboard.press("Enter")
    page.locator("#agenda").get_by_text("Cal Quiet").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("document.activeElement.id") == f"up-{q}"
    assert "pulled up for discussion" in page.locator("#agenda-announce").inner_text()
    assert "3 of 2 places" in page.locator("#discussion-heading").inner_text()
    page.keyboard.press("Enter")  # up again, from where the focus was left
    page.locator("#agenda tbody tr").nth(1).filter(has_text="Cal Quiet").wait_for()
    assert page.evaluate("document.activeElement.id") == f"up-{q}"
    page.click(f"#inform-{r0}")  # and by mouse: push one down
    page.locator("#for-information").get_by_text("Ann Red").wait_for()
    assert page.evaluate("window.notReloaded") is True
    page.reload()
    rows = page.locator("#agenda tbody tr").all_inner_texts()
    assert ["Cal Quiet" in rows[0], "Ben Red" in rows[1]] == [True, True] and len(rows) == 2
