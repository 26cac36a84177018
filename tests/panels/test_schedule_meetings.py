"""Meetings exist as soon as a panel does; coordinators move and cancel them."""

from __future__ import annotations

import datetime as dt
import json

from core.extensions import db
from panels.models import Meeting
from panels.services import ensure_meetings


def _meetings(panel):
    query = db.select(Meeting).filter_by(panel_id=panel.id).order_by(Meeting.rule_date)
    return db.session.execute(query).scalars().all()


def test_meetings_for_twelve_months_exist_after_loading(partnership):
    iom = partnership.panels["IOM"]
    meetings = _meetings(iom)
    assert meetings[0].date == dt.date(2026, 12, 2)  # first Wednesday after 23 November 2026
    assert meetings[-1].date <= dt.date(2027, 11, 23)
    assert len(meetings) == 12
    assert all(m.time == "10:00" and m.status == "scheduled" for m in meetings)


def test_ensure_meetings_is_idempotent_and_keeps_moves(partnership):
    iom = partnership.panels["IOM"]
    first = _meetings(iom)[0]
    first.date = dt.date(2026, 12, 3)
    first.change_reason = "room unavailable"
    db.session.commit()
    assert ensure_meetings(iom) == 0
    db.session.commit()
    meetings = _meetings(iom)
    assert len(meetings) == 12
    assert meetings[0].date == dt.date(2026, 12, 3)
    assert ensure_meetings(iom, today=dt.date(2027, 2, 1)) == 2  # two more months come into the horizon


def test_schedule_command_prints_json_dates(runner, partnership):
    result = runner.invoke(args=["panels", "schedule", "IOM", "--from", "2026-12-01", "--count", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == ["2026-12-02", "2027-01-06", "2027-02-03"]


def test_schedule_command_unknown_panel(runner, partnership):
    result = runner.invoke(args=["panels", "schedule", "NOPE", "--count", "3"])
    assert result.exit_code == 1
    assert "No panel" in result.output


def test_coordinator_moves_meeting_with_reason(login_as, partnership, meeting_on):
    client = login_as("coord")
    meeting = meeting_on("IOM", dt.date(2026, 12, 2))
    resp = client.get(f"/meetings/{meeting.id}/move")
    assert resp.status_code == 200
    resp = client.post(f"/meetings/{meeting.id}/move", data={"date": ["3", "12", "2026"], "time": "14:00",
                                                              "reason": ""})
    assert resp.status_code == 200
    assert "Enter the reason for moving the meeting" in resp.get_data(as_text=True)
    resp = client.post(f"/meetings/{meeting.id}/move", data={"date": ["3", "12", "2026"], "time": "14:00",
                                                              "reason": "Room unavailable"})
    assert resp.status_code == 302
    db.session.expire_all()
    moved = db.session.get(Meeting, meeting.id)
    assert (moved.date, moved.time, moved.sequence) == (dt.date(2026, 12, 3), "14:00", 1)
    assert moved.rule_date == dt.date(2026, 12, 2)
    from sharing.models import AccessEvent

    assert db.session.execute(
        db.select(AccessEvent).where(AccessEvent.detail.like(f"meeting {meeting.id} moved%"))
    ).scalar_one().user_email == "coord@test.example"
    assert ensure_meetings(partnership.panels["IOM"]) == 0


def test_coordinator_cancels_meeting(login_as, partnership, meeting_on):
    client = login_as("coord")
    meeting = meeting_on("IOM", dt.date(2027, 1, 6))
    assert client.post(f"/meetings/{meeting.id}/cancel", data={"reason": "Snow"}).status_code == 302
    db.session.expire_all()
    cancelled = db.session.get(Meeting, meeting.id)
    assert cancelled.status == "cancelled" and cancelled.change_reason == "Snow" and cancelled.sequence == 1
    page = client.get("/panels/IOM").get_data(as_text=True)
    assert "Snow" in page


def test_practitioner_cannot_move_or_cancel(login_as, partnership, meeting_on):
    client = login_as("police")
    meeting = meeting_on("IOM", dt.date(2026, 12, 2))
    assert client.get(f"/meetings/{meeting.id}/move").status_code == 403
    assert client.post(f"/meetings/{meeting.id}/cancel", data={"reason": "x"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "scheduled"


def test_cannot_move_into_the_past(login_as, partnership, meeting_on):
    client = login_as("coord")
    meeting = meeting_on("IOM", dt.date(2026, 12, 2))
    resp = client.post(f"/meetings/{meeting.id}/move", data={"date": ["1", "11", "2026"], "reason": "x"})
    assert "today or in the future" in resp.get_data(as_text=True)
