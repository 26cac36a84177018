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
    widths = page.eval_on_selector_all("img.app-chart", "imgs => imgs.map(i => i.naturalWidth)")
    assert widths and all(w > 0 for w in widths)
    assert not [e for e in errors if "Content Security Policy" in e]
