"""Inclusion reviews (issue 16): each panel's inclusion_review_days bring a case up for a
recorded decision "still meets the criteria / remove", on the agenda and the coordinator's
dashboard, flagged when overdue; a removal at a meeting lands when it closes."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.models import Case
from core import clock
from core.extensions import db
from panels import agenda as agendas
from panels.models import InclusionReview
from partnership.loading import load
from tests.conftest import clock_at
from tests.support import partnership_data

DEC2 = dt.date(2026, 12, 2)
RECENT = dt.date(2026, 11, 20)
LATER = dt.date(2027, 3, 1)


@pytest.fixture
def reviewed(partnership, make_case, held_meeting):
    """IOM reviews inclusion every 90 days: one case referred in June (overdue), one in
    September (due 8 December), one in November (not due)."""
    data = partnership_data()
    data["panels"][0] = {**data["panels"][0], "inclusion_review_days": 90}
    load(data)
    db.session.commit()
    c = {"june": make_case(given="Jun", rag="green", referral_date=dt.date(2026, 6, 1), last_engagement=RECENT,
                           next_review=LATER),
         "sept": make_case(given="Sep", rag="green", referral_date=dt.date(2026, 9, 9), last_engagement=RECENT,
                           next_review=LATER),
         "nov": make_case(given="Nov", rag="green", referral_date=dt.date(2026, 11, 1), last_engagement=RECENT,
                          next_review=LATER)}
    held_meeting("IOM", dt.date(2026, 11, 4), list(c.values()))
    return c


def test_due_on_the_agenda_and_the_dashboard_with_overdue_flagged(reviewed, meeting_on, login_as, client):
    reasons = {d.case_id: d.reasons for d in agendas.draft_agenda(meeting_on("IOM", DEC2))}
    assert reasons[reviewed["june"].id][0] == "inclusion_review_due"
    assert "inclusion_review_due" not in reasons[reviewed["sept"].id]  # due 8 December, after the meeting
    assert "inclusion_review_due" not in reasons[reviewed["nov"].id]
    login_as("coord")
    page = client.get("/").get_data(as_text=True)
    table = page[page.index('id="inclusion-due"'):]
    table = table[:table.index("</table>")]
    assert reviewed["june"].ref in table and reviewed["sept"].ref in table and reviewed["nov"].ref not in table
    assert table.count("Overdue") == 1 and table.index(reviewed["june"].ref) < table.index("Overdue")
    client.post("/sign-out")
    login_as("dwp")  # no offending on IOM: nothing about inclusion dates
    assert 'id="inclusion-due"' not in client.get("/").get_data(as_text=True)


def test_keep_between_meetings_resets_the_clock_and_remove_exits(reviewed, login_as, client, meeting_on):
    june, sept = reviewed["june"], reviewed["sept"]
    login_as("coord")
    resp = client.post(f"/cases/{june.id}/inclusion", data={"decision": "keep", "reason": ""})
    assert resp.status_code == 422 and "Give the reason" in resp.get_data(as_text=True)
    assert client.post(f"/cases/{june.id}/inclusion",
                       data={"decision": "keep", "reason": "Still prolific: 3 arrests"}).status_code == 302
    reasons = {d.case_id: d.reasons for d in agendas.draft_agenda(meeting_on("IOM", DEC2))}
    assert "inclusion_review_due" not in reasons[june.id]
    assert client.post(f"/cases/{sept.id}/inclusion",
                       data={"decision": "remove", "reason": "No offending for a year"}).status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, sept.id)
    assert case.status == "exited" and case.exited_on == dt.date(2026, 11, 23)
    assert [r.decision for r in db.session.execute(db.select(InclusionReview)).scalars()] == ["keep", "remove"]
    client.post("/sign-out")
    login_as("police")  # not a coordinator
    assert client.get(f"/cases/{june.id}/inclusion").status_code == 403


def test_remove_at_a_meeting_lands_when_it_closes(reviewed, login_as, client, meeting_on, partnership):
    meeting = meeting_on("IOM", DEC2)
    agendas.publish(meeting, partnership.user("coord"))
    db.session.commit()
    item = next(i for i in meeting.items if i.case_id == reviewed["june"].id)
    login_as("coord")
    page = client.get(f"/meetings/{meeting.id}/items/{item.id}").get_data(as_text=True)
    assert 'id="inclusion-form"' in page and "Overdue" in page
    resp = client.post(f"/meetings/{meeting.id}/items/{item.id}/inclusion",
                       data={"inclusion-decision": "remove"})
    assert resp.status_code == 422 and "Give the reason" in resp.get_data(as_text=True)
    assert client.post(f"/meetings/{meeting.id}/items/{item.id}/inclusion",
                       data={"inclusion-decision": "remove", "inclusion-reason": "Criteria no longer met"}
                       ).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, reviewed["june"].id).status == "active"  # not until the meeting closes
    review = db.session.execute(db.select(InclusionReview)).scalar_one()
    assert review.decided_on == DEC2 and review.meeting_id == meeting.id
    clock.set_now(clock_at("2026-12-02T15:00:00"))
    login_as("coord")
    assert client.post(f"/meetings/{meeting.id}/close", data={"confirm": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, reviewed["june"].id).status == "exited"
