"""Closing a meeting: only on or after its date, a confirmation listing undecided items,
decisions dated at the meeting, reopening within 7 days with a reason, re-closing lands only
what changed."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.models import Case, RagChange
from core import clock
from core.extensions import db
from panels import agenda as agendas
from panels import meetings as mtg
from panels.models import Meeting
from sharing.models import AccessEvent
from sharing.policy import Policy
from tests.conftest import clock_at

DEC2 = dt.date(2026, 12, 2)


@pytest.fixture
def sitting(make_case, meeting_on, partnership):
    """The IOM meeting of 2 December, published, with three cases; one outcome recorded."""
    cases = [make_case(given=g, rag="amber", last_engagement=dt.date(2026, 11, 1)) for g in ("Ann", "Ben", "Cal")]
    meeting = meeting_on("IOM", DEC2)
    coord = partnership.user("coord")
    agendas.publish(meeting, coord)
    items = {i.case_id: i for i in meeting.items}
    mtg.record_outcome(meeting, items[cases[0].id], user=coord, rag="red", rationale="Threats", next_review=None,
                       policy=Policy(coord))
    db.session.commit()
    return meeting, cases, items


def _api(client, token, meeting, body=None):
    return client.post(f"/api/v1/meetings/{meeting.id}/close", json=body, headers={"Authorization": f"Bearer {token}"})


def test_api_close_before_the_date_409_undecided_422_then_confirm(sitting, client, api_token):
    meeting, cases, _ = sitting
    token = api_token("coord")
    resp = _api(client, token, meeting, {"confirm": True})
    assert resp.status_code == 409 and "cannot be closed before" in resp.get_json()["error"]
    clock.set_now(clock_at("2026-12-02T16:00:00"))
    resp = _api(client, token, meeting, {})
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert cases[1].ref in error and cases[2].ref in error and cases[0].ref not in error
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "published"
    resp = _api(client, token, meeting, {"confirm": True})
    assert resp.status_code == 200 and resp.get_json()["closed"] is True
    assert _api(client, api_token("police"), meeting, {"confirm": True}).status_code == 403


def test_page_asks_first_and_decisions_are_dated_at_the_meeting(sitting, login_as, client):
    meeting, cases, _ = sitting
    login_as("coord")
    page = client.get(f"/meetings/{meeting.id}/close").get_data(as_text=True)
    assert 'id="too-early"' in page and "confirm-close" not in page
    clock.set_now(clock_at("2026-12-05T09:00:00"))  # closed three days after it sat
    login_as("coord")
    page = client.get(f"/meetings/{meeting.id}/close").get_data(as_text=True)
    assert 'id="undecided"' in page and cases[1].ref in page and cases[2].ref in page
    resp = client.post(f"/meetings/{meeting.id}/close")  # no confirmation: the page again, nothing closed
    assert resp.status_code == 200 and 'id="undecided"' in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "published"
    assert client.post(f"/meetings/{meeting.id}/close", data={"confirm": "yes"}).status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, cases[0].id)
    assert (case.rag, case.last_reviewed) == ("red", DEC2)
    change = db.session.execute(db.select(RagChange).filter_by(case_id=case.id)).scalar_one()
    assert change.at.date() == DEC2
    undecided = db.session.get(Case, cases[1].id)
    assert undecided.last_reviewed is None  # not discussed: nothing landed on it


def test_reopen_within_seven_days_with_a_reason_and_reclose_lands_only_changes(sitting, login_as, client,
                                                                                  partnership):
    meeting, cases, items = sitting
    clock.set_now(clock_at("2026-12-02T16:00:00"))
    coord = partnership.user("coord")
    mtg.record_outcome(meeting, items[cases[1].id], user=coord, rag="green", rationale="Settled",
                       next_review=dt.date(2027, 2, 1), policy=Policy(coord))
    mtg.close_meeting(meeting, Policy(coord), confirm=True)
    db.session.commit()
    # A later change on the first case, made outside the meeting, must survive re-closing.
    first = db.session.get(Case, cases[0].id)
    first.next_review = dt.date(2027, 5, 5)
    db.session.commit()

    login_as("coord")
    assert 'id="reopen-meeting"' in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    resp = client.post(f"/meetings/{meeting.id}/reopen", data={"reason": ""})
    assert resp.status_code == 422 and "Enter the reason" in resp.get_data(as_text=True)
    assert client.post(f"/meetings/{meeting.id}/reopen",
                       data={"reason": "Wrong RAG recorded for one item"}).status_code == 302
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.status == "published" and meeting.reopen_reason == "Wrong RAG recorded for one item"
    logged = db.session.execute(db.select(AccessEvent).where(AccessEvent.detail.like("%reopened%"))).scalar_one()
    assert "Wrong RAG" in logged.detail

    second = next(i for i in meeting.items if i.case_id == cases[1].id)
    mtg.record_outcome(meeting, second, user=coord, rag="amber", rationale="Corrected", next_review=None,
                       policy=Policy(coord))
    before = db.session.execute(db.select(db.func.count(RagChange.id))).scalar()
    mtg.close_meeting(meeting, Policy(coord), confirm=True)
    db.session.commit()
    assert db.session.execute(db.select(db.func.count(RagChange.id))).scalar() == before + 1
    assert db.session.get(Case, cases[0].id).next_review == dt.date(2027, 5, 5)  # unchanged item not re-landed
    assert db.session.get(Case, cases[1].id).rag == "amber"


def test_reopen_refused_after_seven_days(sitting, login_as, client, partnership):
    meeting, _, _ = sitting
    clock.set_now(clock_at("2026-12-02T16:00:00"))
    mtg.close_meeting(meeting, Policy(partnership.user("coord")), confirm=True)
    db.session.commit()
    clock.set_now(clock_at("2026-12-10T17:00:00"))
    login_as("coord")
    assert 'id="reopen-meeting"' not in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    resp = client.post(f"/meetings/{meeting.id}/reopen", data={"reason": "Too late"})
    assert resp.status_code == 422 and "within 7 days" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "closed"
