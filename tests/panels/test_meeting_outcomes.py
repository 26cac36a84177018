"""Attendance, outcomes, actions, minutes and closing a meeting."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.models import Action, Case, RagChange
from core import clock
from core.extensions import db
from panels.models import Attendance, Meeting
from tests.conftest import clock_at

DEC10 = dt.date(2026, 12, 10)


@pytest.fixture
def mappa(make_case, meeting_on, partnership):
    """A MAPPA meeting with a level 3 case and a level 1 case, agenda published."""
    from panels import agenda as agendas

    l3 = make_case("MAPPA", given="Lena", rag="amber", mappa_level=3, last_engagement=dt.date(2026, 11, 1))
    l1 = make_case("MAPPA", given="Lars", rag="green", mappa_level=1, last_engagement=dt.date(2026, 11, 1))
    meeting = meeting_on("MAPPA", DEC10)
    agendas.publish(meeting, partnership.user("mappa.coord"))
    db.session.commit()
    items = {i.case_id: i for i in meeting.items}
    return meeting, l3, l1, items


def test_meeting_page_for_coordinator_and_partner(mappa, login_as, client):
    meeting, l3, _, _ = mappa
    login_as("mappa.coord")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Record outcome" in page and "Needed (level 3)" in page and "Close meeting" in page
    client.post("/sign-out")
    login_as("police")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Close meeting" not in page and "Attendance" in page


def test_attendance_recorded(mappa, login_as, client, partnership):
    meeting, *_ = mappa
    login_as("mappa.coord")
    nps, police = partnership.agencies["NPS"], partnership.agencies["POLICE"]
    resp = client.post(f"/meetings/{meeting.id}/attendance",
                       data={f"agency_{nps.id}": "present", f"agency_{police.id}": "by_report"})
    assert resp.status_code == 302
    got = {a.agency_id: a.status for a in db.session.execute(db.select(Attendance)).scalars()}
    assert got == {nps.id: "present", police.id: "by_report"}


def test_close_refused_without_disclosure_then_applies_outcomes(mappa, login_as, client, partnership):
    meeting, l3, l1, items = mappa
    login_as("mappa.coord")
    item3, item1 = items[l3.id], items[l1.id]
    page = client.get(f"/meetings/{meeting.id}/items/{item3.id}").get_data(as_text=True)
    assert "Was disclosure considered?" in page
    resp = client.post(f"/meetings/{meeting.id}/items/{item3.id}",
                       data={"outcome-rag": "red", "outcome-rationale": ""})
    assert "Give the rationale" in resp.get_data(as_text=True)
    resp = client.post(f"/meetings/{meeting.id}/items/{item3.id}",
                       data={"outcome-rag": "red", "outcome-rationale": "Escalating threats"})
    assert resp.status_code == 302
    resp = client.post(f"/meetings/{meeting.id}/items/{item3.id}/actions",
                       data={"action-description": "Home visit",
                             "action-owner_agency_id": partnership.agencies["NPS"].id,
                             "action-owner_name": "OM", "action-due": ["17", "12", "2026"]})
    assert resp.status_code == 302
    assert client.post(f"/meetings/{meeting.id}/items/{item1.id}",
                       data={"outcome-rag": "", "outcome-rationale": ""}).status_code == 302

    resp = client.post(f"/meetings/{meeting.id}/close")
    assert resp.status_code == 409  # before the meeting sits
    assert "cannot be closed before then" in resp.get_data(as_text=True)
    clock.set_now(clock_at("2026-12-10T15:00:00"))  # the day it sits (a new sign-in: the old one timed out)
    login_as("mappa.coord")
    resp = client.post(f"/meetings/{meeting.id}/close")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "There is a problem" in page and f"{l3.ref}: record whether disclosure was considered" in page
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "published"
    assert db.session.get(Case, l3.id).rag == "amber"

    client.post(f"/meetings/{meeting.id}/items/{item3.id}",
                data={"outcome-rag": "red", "outcome-rationale": "Escalating threats",
                      "outcome-disclosure_considered": "yes", "outcome-disclosure_decision": "Disclose to partner",
                      "outcome-disclosure_reason": "Risk to new partner"})
    assert client.post(f"/meetings/{meeting.id}/close").status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, l3.id)
    assert db.session.get(Meeting, meeting.id).status == "closed"
    assert case.rag == "red"
    assert case.last_reviewed == DEC10 and case.next_review == DEC10 + dt.timedelta(days=42)
    change = db.session.execute(db.select(RagChange).filter_by(case_id=l3.id)).scalar_one()
    assert (change.source, change.meeting_id, change.from_rag, change.to_rag) == ("meeting", meeting.id, "amber", "red")
    assert change.rationale == "Escalating threats"
    action = db.session.execute(db.select(Action).filter_by(case_id=l3.id)).scalar_one()
    assert action.status == "open" and action.meeting_id == meeting.id and action.description == "Home visit"
    other = db.session.get(Case, l1.id)
    assert other.rag == "green" and other.next_review == DEC10 + dt.timedelta(days=28)

    from cohort.serialise import rag_history
    from sharing.policy import Policy

    history = rag_history(case, Policy(partnership.user("police")))
    assert history[-1]["to"] == "red" and history[-1]["source"] == "meeting"

    resp = client.post(f"/meetings/{meeting.id}/close", follow_redirects=True)
    assert "already closed" in resp.get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count(RagChange.id))).scalar() == 1
    assert client.post(f"/meetings/{meeting.id}/items/{item3.id}",
                       data={"outcome-rag": "green", "outcome-rationale": "x"}).status_code == 422


def test_minutes_are_encrypted(mappa, login_as, client):
    meeting, *_ = mappa
    login_as("mappa.coord")
    assert client.post(f"/meetings/{meeting.id}/minutes", data={"minutes-minutes": "Panel agreed the plan"}
                       ).status_code == 302
    db.session.expire_all()
    m = db.session.get(Meeting, meeting.id)
    assert m.minutes == "Panel agreed the plan"
    assert b"Panel agreed" not in bytes(m.minutes_enc)


def test_only_panel_coordinators_record(mappa, login_as, client):
    meeting, l3, _, items = mappa
    login_as("probation")
    assert client.post(f"/meetings/{meeting.id}/items/{items[l3.id].id}",
                       data={"outcome-rag": "red", "outcome-rationale": "x"}).status_code == 403
    assert client.post(f"/meetings/{meeting.id}/close").status_code == 403
