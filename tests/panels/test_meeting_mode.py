"""Meeting mode: named attendees with the confidentiality statement, items in turn, outcomes
and actions recorded inline (htmx partials), progress "n of m discussed"."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.models import Action
from core.extensions import db
from panels import agenda as agendas
from panels.models import AgendaItem, Attendee

DEC2 = dt.date(2026, 12, 2)
RECENT = dt.date(2026, 11, 20)


@pytest.fixture
def sitting(make_case, meeting_on, partnership):
    cases = [make_case(given=g, rag=r, last_engagement=RECENT) for g, r in (("Ann", "red"), ("Ben", "amber"),
                                                                              ("Cal", "green"))]
    meeting = meeting_on("IOM", DEC2)
    agendas.publish(meeting, partnership.user("coord"))
    db.session.commit()
    return meeting, cases


def test_attendees_need_the_confidentiality_statement(sitting, login_as, client, partnership):
    meeting, _ = sitting
    login_as("coord")
    page = client.get(f"/meetings/{meeting.id}/run").get_data(as_text=True)
    assert 'id="confidentiality-statement"' in page and "0 of 3 discussed" in page
    police = partnership.agencies["POLICE"].id
    resp = client.post(f"/meetings/{meeting.id}/run/attendees",
                       data={"attendee-agency_id": police, "attendee-name": "DS Kaur"})
    assert resp.status_code == 422 and "acknowledge the confidentiality statement" in resp.get_data(as_text=True)
    assert client.post(f"/meetings/{meeting.id}/run/attendees",
                       data={"attendee-agency_id": police, "attendee-name": "DS Kaur", "attendee-role": "IOM lead",
                             "attendee-acknowledged": "y"}).status_code == 302
    attendee = db.session.execute(db.select(Attendee)).scalar_one()
    assert (attendee.name, attendee.agency_id) == ("DS Kaur", police)
    assert "DS Kaur" in client.get(f"/meetings/{meeting.id}/run").get_data(as_text=True)
    nogrant = partnership.agencies["NOGRANT"].id
    resp = client.post(f"/meetings/{meeting.id}/run/attendees",
                       data={"attendee-agency_id": nogrant, "attendee-name": "X", "attendee-acknowledged": "y"})
    assert resp.status_code == 422


def test_step_through_items_inline(sitting, login_as, client, partnership):
    meeting, cases = sitting
    login_as("coord")
    items = {i.case_id: i.id for i in db.session.execute(
        db.select(AgendaItem).filter_by(meeting_id=meeting.id)).scalars()}
    first = items[cases[0].id]  # red comes first
    hx = {"HX-Request": "true"}
    resp = client.post(f"/meetings/{meeting.id}/run/items/{first}", headers=hx,
                       data={"outcome-rag": "red", "outcome-rationale": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="run-errors"' in html and "0 of 3 discussed" in html
    resp = client.post(f"/meetings/{meeting.id}/run/items/{first}", headers=hx,
                       data={"outcome-rag": "red", "outcome-rationale": "Threats continue"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith('<div id="run-item"')
    assert "1 of 3 discussed" in html and "Outcome saved for" in html
    assert f"/run/items/{first}" not in html  # the next item is now the current one
    second = next(i for c, i in items.items() if f"/run/items/{i}" in html)
    resp = client.post(f"/meetings/{meeting.id}/run/items/{second}/actions", headers=hx,
                       data={"action-description": "Housing referral", "action-owner_agency_id": "",
                             "action-owner_name": "Sam", "action-due": ["20", "12", "2026"]})
    assert resp.status_code == 200 and "Housing referral" in resp.get_data(as_text=True)
    assert db.session.execute(db.select(Action.status)).scalar_one() == "proposed"
    # Without JavaScript: the same form posts and the page comes back on the next item.
    resp = client.post(f"/meetings/{meeting.id}/run/items/{second}", data={"outcome-rag": ""})
    assert resp.status_code == 302 and "item=" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "2 of 3 discussed" in page
    client.post("/sign-out")
    login_as("police")
    assert client.get(f"/meetings/{meeting.id}/run").status_code == 403
