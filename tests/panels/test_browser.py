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
    from partnership.loading import load
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


def _tab_to(page, selector: str, limit: int = 150) -> None:
    """Press Tab until `selector` has focus (keyboard reach, as tests/a11y does)."""
    for _ in range(limit):
        if page.evaluate("sel => document.activeElement && document.activeElement.matches(sel)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach {selector} with the keyboard")


def _radio(page, name: str, value: str) -> None:
    _tab_to(page, f"input[name='{name}']")
    for _ in range(6):
        if page.evaluate("() => document.activeElement.value") == value:
            page.keyboard.press("Space")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no {value} radio in {name}")


def _axe(page) -> list[dict]:
    from tests.a11y.test_axe import AXE

    page.add_script_tag(url="/assets/js/axe.min.js")
    return [v for v in page.evaluate(AXE) if v["impact"] in ("serious", "critical")]


def test_the_whole_sitting_by_keyboard(sqlite_only, make_case, meeting_on, page_for, partnership, held_meeting):
    """Referral -> decision -> agenda within capacity -> meeting mode (attendee, outcomes, an
    action) -> close -> the action carried to the next agenda; keyboard only; axe on each page."""
    from core import clock
    from partnership.loading import load
    from tests.conftest import clock_at
    from tests.support import partnership_data

    clock.set_now(clock_at("2026-12-02T09:00:00"))  # the morning of the sitting
    data = partnership_data()
    data["panels"][0] = {**data["panels"][0], "meeting_minutes": 20, "minutes_per_case": 10,
                         "referral_criteria": [{"name": "dash_score", "label": "DASH score", "type": "int"}]}
    load(data)
    later = dt.date(2027, 3, 1)
    reds = [make_case(given=g, family="Red", rag="red", last_engagement=dt.date(2026, 11, 20), next_review=later)
            for g in ("Ann", "Ben")]
    held_meeting("IOM", dt.date(2026, 11, 4), reds)
    dec_id = meeting_on("IOM", dt.date(2026, 12, 2)).id
    jan_id = meeting_on("IOM", dt.date(2027, 1, 6)).id
    db.session.commit()
    db.session.remove()
    bad = {}
    page = page_for("coord")

    page.goto("/panels/IOM/referrals/new")
    bad["referral_new"] = _axe(page)
    for selector, text in (("#given_name", "Vera"), ("#family_name", "Lane"), ("#reason", "Threats after split"),
                           ("#c_dash_score", "17")):
        _tab_to(page, selector)
        page.keyboard.type(text)
    _tab_to(page, "#referral-form button[type=submit], #referral-form input[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "waiting for the coordinator" in page.content()

    page.goto("/panels/IOM/referrals")
    bad["referrals"] = _axe(page)
    _tab_to(page, "#referrals a")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    bad["referral"] = _axe(page)
    assert "Yes" in page.locator("#high-risk").inner_text()
    _radio(page, "decision", "accept")
    _tab_to(page, "#reason")
    page.keyboard.type("DASH 17: visible high risk")
    _tab_to(page, "#decision-form button[type=submit], #decision-form input[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Referral accepted" in page.content()

    page.goto(f"/meetings/{dec_id}/agenda")
    assert "For discussion: 2 of 2 places" in page.locator("#discussion-heading").inner_text()
    assert "Vera Lane" in page.locator("#agenda").inner_text()
    _tab_to(page, "#publish-agenda")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    page.goto(f"/meetings/{dec_id}/run")
    bad["run"] = _axe(page)
    _tab_to(page, "#attendee-agency_id")
    page.keyboard.press("ArrowDown")
    _tab_to(page, "#attendee-name")
    page.keyboard.type("DS Kaur")
    _tab_to(page, "#attendee-acknowledged")
    page.keyboard.press("Space")
    _tab_to(page, "#attendee-form button[type=submit], #attendee-form input[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "DS Kaur" in page.locator("#attendees").inner_text()
    assert "0 of 2 discussed" in page.locator("#progress").inner_text()
    heading = page.locator("#item-heading").inner_text()
    page.evaluate("() => { window.notReloaded = true }")

    _radio(page, "outcome-rag", "amber")
    _tab_to(page, "#outcome-rationale")
    page.keyboard.type("Engaging with the plan")
    _tab_to(page, "#run-item details summary")
    page.keyboard.press("Enter")
    for selector, text in (("#action-description", "Safety planning visit"), ("#action-owner_name", "IDVA"),
                           ("#action-due-day", "20"), ("#action-due-month", "1"), ("#action-due-year", "2027")):
        _tab_to(page, selector)
        page.keyboard.type(text)
    _tab_to(page, "#run-action button[type=submit], #run-action input[type=submit]")
    page.keyboard.press("Enter")
    page.locator("#run-actions").get_by_text("Safety planning visit").wait_for()
    _radio(page, "outcome-rag", "amber")  # the item panel was redrawn: record the outcome now
    _tab_to(page, "#outcome-rationale")
    page.keyboard.type("Engaging with the plan")
    _tab_to(page, "#save-next")
    page.keyboard.press("Enter")
    page.locator("#progress").get_by_text("1 of 2 discussed").wait_for()
    # focus moves to the next item's heading once htmx has settled the swap (it may lag the text)
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'item-heading'",
                           timeout=5000)
    assert page.locator("#item-heading").inner_text() != heading
    _tab_to(page, "#save-next")  # the second: discussed, no change of RAG
    page.keyboard.press("Enter")
    page.locator("#progress").get_by_text("2 of 2 discussed").wait_for()
    assert page.locator("#all-discussed").is_visible()
    assert page.evaluate("() => window.notReloaded") is True

    _tab_to(page, "#all-discussed a")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    bad["close"] = _axe(page)
    _tab_to(page, "#confirm-close")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Meeting closed" in page.content()

    page.goto(f"/meetings/{jan_id}/agenda")
    carried = page.locator("#carried").inner_text()
    assert "Safety planning visit" in carried
    assert "actions outstanding" in page.locator("#agenda").inner_text().lower()
    assert {k: v for k, v in bad.items() if v} == {}


def test_new_pages_have_no_serious_axe_violations(sqlite_only, make_case, meeting_on, page_for, partnership,
                                                  held_meeting):
    """The action status, inclusion review, reopen, agenda (both lists, carried actions) and
    dashboard (inclusion reviews due) pages."""
    from panels.actions import create_action
    from partnership.loading import load
    from sharing.policy import Policy
    from tests.support import partnership_data

    data = partnership_data()
    data["panels"][0] = {**data["panels"][0], "inclusion_review_days": 90, "meeting_minutes": 10}
    load(data)
    cases = [make_case(given=g, family="Axe", rag="amber", last_engagement=dt.date(2026, 11, 20),
                       referral_date=dt.date(2026, 6, 1)) for g in ("Ann", "Ben")]
    held = held_meeting("IOM", dt.date(2026, 11, 18), cases)
    action = create_action(cases[0], text="Check in", due=dt.date(2026, 11, 30),
                           policy=Policy(partnership.user("coord")), owner_email="coord@test.example")
    dec = meeting_on("IOM", dt.date(2026, 12, 2))
    paths = [f"/actions/{action.id}/status", f"/cases/{cases[0].id}/inclusion", f"/meetings/{held.id}/reopen",
             f"/meetings/{dec.id}/agenda", "/", f"/meetings/{held.id}"]
    db.session.commit()
    db.session.remove()
    page = page_for("coord")
    found = {}
    for path in paths:
        page.goto(path)
        problems = _axe(page)
        if problems:
            found[path] = problems
    assert found == {}
    page.goto(f"/meetings/{paths[3].split('/')[2]}/agenda")
    assert page.locator("#for-information").is_visible() and page.locator("#carried").is_visible()


def test_executive_summary_by_keyboard_and_the_remaining_pages_pass_axe(sqlite_only, make_case, meeting_on,
                                                                          page_for, partnership):
    """Minutes' executive summary written by keyboard (its error summary too), shown on the
    meeting page and printed with nothing per nominal; axe on the summary pages, the printed
    agenda pack, the item page and meeting mode after an htmx save."""
    from panels import agenda as agendas

    cases = [make_case(given=g, family="Summary", rag="red", last_engagement=dt.date(2026, 11, 20))
             for g in ("Ann", "Ben")]
    meeting = meeting_on("IOM", dt.date(2026, 12, 2))
    agendas.publish(meeting, partnership.user("coord"))
    meeting_id = meeting.id
    first = next(i.id for i in meeting.items if i.case_id == cases[0].id)
    db.session.commit()
    db.session.remove()
    bad = {}
    page = page_for("coord")

    page.goto(f"/meetings/{meeting_id}")
    _tab_to(page, "#summary-edit")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    bad["summary"] = _axe(page)
    _tab_to(page, "#summary-form button[type=submit], #summary-form input[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # nothing written: the GOV.UK error summary, focused
    summary = page.locator(".govuk-error-summary")
    assert "Enter the executive summary" in summary.inner_text()
    bad["summary_error"] = _axe(page)
    _tab_to(page, "#summary-summary")
    page.keyboard.type("Two cases reviewed; housing is the common pressure.")
    _tab_to(page, "#summary-form button[type=submit], #summary-form input[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Executive summary saved" in page.content()
    assert "housing is the common pressure" in page.locator("#summary-text").inner_text()
    _tab_to(page, "#summary-print")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    bad["summary_print"] = _axe(page)
    main = page.locator("main").inner_text()
    assert "housing is the common pressure" in main and "Items on the agenda" in main
    assert "Summary" in main and "Ann" not in main and "Ben" not in main

    page.goto(f"/meetings/{meeting_id}/agenda/print")
    bad["agenda_print"] = _axe(page)
    page.goto(f"/meetings/{meeting_id}/items/{first}")
    bad["item"] = _axe(page)
    page.goto(f"/meetings/{meeting_id}/run")
    _radio(page, "outcome-rag", "amber")
    _tab_to(page, "#outcome-rationale")
    page.keyboard.type("Engaging")
    _tab_to(page, "#save-next")
    page.keyboard.press("Enter")
    page.locator("#progress").get_by_text("1 of 2 discussed").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'item-heading'",
                           timeout=5000)
    bad["run_after_save"] = _axe(page)
    assert {k: v for k, v in bad.items() if v} == {}
