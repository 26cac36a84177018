"""Calendar feeds as a subscribed client sees them, parsed with icalendar: the same meeting
keeps one UID whatever Host the request named (UIDs and links come from PUBLIC_URL), and a
change a calendar shows (the panel's name or place, the meeting's place, date or time)
raises SEQUENCE, once, while a reload that changes nothing leaves it alone."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from icalendar import Calendar

from core.extensions import db
from panels.models import Meeting
from tests.support import login, partnership_data

FEED_LINK = re.compile(r"/feeds/(mrf_[A-Za-z0-9_-]+)/meetings\.ics")


@pytest.fixture
def feed(app, partnership):
    """feed(host=None) -> {uid: event} of the probation officer's calendar link."""
    client = app.test_client()
    login(client, "probation")
    token = FEED_LINK.search(client.post("/account/calendar-link").get_data(as_text=True)).group(1)

    def _read(host: str | None = None) -> dict:
        headers = {"Host": host} if host else {}
        resp = app.test_client().get(f"/feeds/{token}/meetings.ics", headers=headers)
        assert resp.status_code == 200 and resp.mimetype == "text/calendar"
        events = Calendar.from_ical(resp.data).walk("VEVENT")
        assert events
        return {str(e["UID"]): e for e in events}

    return _read


def load_file(runner, tmp_path, **changes) -> None:
    path = tmp_path / "partnership.json"
    path.write_text(json.dumps(partnership_data(**changes)))
    result = runner.invoke(args=["partnership", "load", str(path)])
    assert result.exit_code == 0, result.output


def renamed(name: str | None = None, place: str | None = None) -> list[dict]:
    panels = partnership_data()["panels"]
    iom = next(p for p in panels if p["code"] == "IOM")
    iom.update({k: v for k, v in (("name", name), ("place", place)) if v is not None})
    return panels


def sequences(events: dict) -> dict[str, int]:
    return {uid: int(e["SEQUENCE"]) for uid, e in events.items()}


def iom(events: dict) -> dict:
    return {uid: e for uid, e in events.items() if "IOM" in str(e["DESCRIPTION"])}


def test_uids_and_links_do_not_follow_the_host_header(app, feed):
    ours, theirs = feed(), feed("calendar.evil.example")
    assert list(ours) == list(theirs)  # the same meetings under the same UIDs
    for uid, event in theirs.items():
        assert uid.endswith("@localhost") and "evil" not in event.to_ical().decode()
        assert str(event["URL"]).startswith(app.config["PUBLIC_URL"] + "/meetings/")


def test_renaming_or_moving_a_panel_raises_sequence_once(feed, runner, tmp_path):
    before = feed()
    load_file(runner, tmp_path, panels=renamed(name="IOM panel (north)"))
    after = feed()
    assert list(after) == list(before)  # same UIDs: the client updates, it does not duplicate
    for uid in iom(before):
        assert int(after[uid]["SEQUENCE"]) == int(before[uid]["SEQUENCE"]) + 1
        assert str(after[uid]["SUMMARY"]).startswith("IOM panel (north)")
    others = set(before) - set(iom(before))
    assert others and all(sequences(after)[u] == sequences(before)[u] for u in others)

    load_file(runner, tmp_path, panels=renamed(name="IOM panel (north)", place="Room 4, Civic Centre"))
    placed = feed()
    for uid in iom(before):
        assert int(placed[uid]["SEQUENCE"]) == int(after[uid]["SEQUENCE"]) + 1
        assert str(placed[uid]["LOCATION"]) == "Room 4, Civic Centre"

    load_file(runner, tmp_path, panels=renamed(name="IOM panel (north)", place="Room 4, Civic Centre"))
    assert sequences(feed()) == sequences(placed)  # nothing changed, nothing bumped


def test_a_meetings_own_place_raises_its_sequence(app, feed, partnership):
    before = feed()
    meeting = db.session.execute(
        db.select(Meeting).where(Meeting.panel_id == partnership.panels["MAPPA"].id).order_by(Meeting.date.desc())
    ).scalars().first()
    meeting.place = "Probation office, Room 1"
    db.session.commit()
    after = feed()
    changed = {u for u in before if sequences(after)[u] != sequences(before)[u]}
    assert len(changed) == 1
    [uid] = changed
    assert sequences(after)[uid] == sequences(before)[uid] + 1
    assert str(after[uid]["LOCATION"]) == "Probation office, Room 1"


def test_moving_a_meeting_raises_sequence_once(app, feed, partnership):
    from panels.services import move_meeting

    before = feed()
    meeting = db.session.execute(
        db.select(Meeting).where(Meeting.panel_id == partnership.panels["IOM"].id).order_by(Meeting.date.desc())
    ).scalars().first()
    was = meeting.sequence
    move_meeting(meeting, to=meeting.date + dt.timedelta(days=1), reason="room booked",
                 user=partnership.user("coord"))
    db.session.commit()
    assert meeting.sequence == was + 1
    after = feed()
    assert sum(sequences(after)[u] - sequences(before)[u] for u in before) == 1
