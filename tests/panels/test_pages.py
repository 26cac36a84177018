"""Every panels page through the client: dashboard, panels, KPIs, charts, CSV, feeds."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.models import Action
from core import clock
from core.extensions import db
from panels import jobs
from tests.html import Page
from tests.support import clock_at


@pytest.fixture
def some_cases(make_case, partnership):
    red = make_case(given="Reg", rag="red", last_engagement=dt.date(2026, 11, 1))
    make_case(given="Amy", rag="amber", last_engagement=dt.date(2026, 11, 1))
    action = Action(case_id=red.id, due=dt.date(2026, 11, 1), status="open", user_id=partnership.user("police").id)
    action.description = "Check address"
    db.session.add(action)
    db.session.commit()
    return red


def test_dashboard_lists_meetings_and_overdue_actions(some_cases, login_as, client):
    login_as("police")
    page = client.get("/").get_data(as_text=True)
    assert "IOM main panel" in page and "2 December 2026" in page
    assert "Check address" in page and "Reg Smith" in page
    login_as("dwp")
    page = client.get("/").get_data(as_text=True)
    assert "Check address" not in page  # offending is not shared with DWP


def test_panels_index_and_panel_page(some_cases, login_as, client):
    login_as("police")
    page = client.get("/panels").get_data(as_text=True)
    assert "IOM main panel" in page and "MAPPA panel" in page
    page = client.get("/panels/IOM").get_data(as_text=True)
    assert "Upcoming meetings" in page and "meetings.ics" in page and "Move" not in page
    login_as("dwp")
    assert "Withheld" in client.get("/panels").get_data(as_text=True)
    assert client.get("/panels/MAPPA").status_code == 403
    assert client.get("/panels/NOPE").status_code == 404


def test_admin_sees_no_panels(login_as, client, partnership):
    login_as("admin")
    assert client.get("/").status_code == 200
    assert "IOM main panel" not in client.get("/panels").get_data(as_text=True)


def test_kpis_page_charts_and_csv(some_cases, login_as, client):
    clock.set_now(clock_at("2026-12-01T06:00"))
    jobs.run_job("snapshots")
    login_as("coord")
    resp = client.get("/kpis")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "MAPPA level 3 cases reviewed within 6 weeks" in page and 'data-kpi="overdue_actions"' in page
    assert "December 2026" in page and "Reg" not in Page(resp).visible_text()  # no name; tokens may hold "Reg"
    assert 'id="chart-cohort"' in page and 'href="/kpis/charts/cohort.svg"' in page  # inline SVG, and a download
    for name in ("cohort", "rag", "flow", "kpis"):
        chart = client.get(f"/kpis/charts/{name}.svg")
        assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
        assert chart.data.lstrip().startswith(b"<?xml") and b"<svg" in chart.data
    csv = client.get("/kpis.csv?panel=IOM")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert "Overdue actions (now),1" in text and "2026-12-01,2" in text and "2026-11-01,no data" in text
    assert client.get("/kpis?panel=NOPE").status_code == 404


def test_kpis_refused_to_practitioners(login_as, client, partnership):
    login_as("police")
    assert client.get("/kpis").status_code == 403
    assert client.get("/kpis/charts/cohort.svg").status_code == 403


def test_mappa_kpis_from_closed_meetings(make_case, partnership, meeting_on):
    from panels import agenda as agendas
    from panels import meetings as mtg
    from panels.kpis import Period, compute
    from sharing.policy import Policy

    l3 = make_case("MAPPA", given="Lee", rag="amber", mappa_level=3, referral_date=dt.date(2026, 11, 1))
    meeting = meeting_on("MAPPA", dt.date(2026, 12, 10))
    coord = partnership.user("mappa.coord")
    agendas.publish(meeting, coord)
    mtg.record_attendance(meeting, {partnership.agencies["NPS"].id: "present"}, coord)
    item = meeting.items[0]
    assert item.case_id == l3.id
    mtg.record_outcome(meeting, item, user=coord, rag="red", rationale="r", next_review=None,
                       disclosure_considered=False, disclosure_reason="No third party at risk")
    clock.set_now(clock_at("2026-12-10T15:00"))  # a meeting closes on or after its date
    mtg.close_meeting(meeting, Policy(coord))
    db.session.commit()
    clock.set_now(clock_at("2026-12-20T10:00"))
    policy = Policy(partnership.user("analyst"))
    result = compute([partnership.panels["MAPPA"]], policy, Period.last_months(clock.today()), clock.today())
    k = {x.key: x for x in result["kpis"]}
    assert (k["mappa_l3_reviews"].numerator, k["mappa_l3_reviews"].denominator) == (1, 1)  # 39 days after referral
    assert (k["disclosure_recorded"].numerator, k["disclosure_recorded"].denominator) == (1, 1)
    assert (k["prison_probation_attendance"].numerator, k["prison_probation_attendance"].denominator) == (1, 1)
    assert k["mappa_l2_reviews"].percent is None


def test_ical_feeds_need_sign_in_or_token(some_cases, client, login_as, api_token, partnership, meeting_on):
    assert client.get("/panels/IOM/meetings.ics").status_code == 302
    login_as("police")
    resp = client.get("/panels/IOM/meetings.ics")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    body = resp.get_data(as_text=True)
    assert "BEGIN:VCALENDAR" in body and "IOM main panel" in body and "20261202T100000" in body
    assert "Reg" not in body and "Smith" not in body
    client.post("/sign-out")
    # An API token no longer opens a feed: calendar clients use a feed-only link (tests/panels/test_ical.py).
    token = api_token("probation")
    assert client.get(f"/me/meetings.ics?token={token}").status_code == 410
    assert client.get("/panels/IOM/meetings.ics?token=mrp_wrong").status_code == 410


def test_ical_shows_moves_and_cancellations(login_as, client, partnership, meeting_on):
    from panels.services import cancel_meeting, move_meeting

    coord = partnership.user("coord")
    move_meeting(meeting_on("IOM", dt.date(2026, 12, 2)), to=dt.date(2026, 12, 3), reason="Room", user=coord)
    cancel_meeting(meeting_on("IOM", dt.date(2027, 1, 6)), reason="Snow", user=coord)
    db.session.commit()
    login_as("police")
    body = client.get("/panels/IOM/meetings.ics").get_data(as_text=True)
    assert "20261203T100000" in body and "20261202T100000" not in body
    assert "STATUS:CANCELLED" in body and "SEQUENCE:1" in body
