"""iCalendar feeds of meetings (panels.ical): they parse back, in London time, with cancellations."""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from core.extensions import db
from panels.ical import PRODID, calendar_feed
from panels.schedule import meeting_datetime
from tests.support import login

NOW = dt.datetime(2026, 3, 1, 9, 15, tzinfo=dt.UTC)


def _events() -> list[dict]:
    return [
        {
            "uid": "meeting-1@example.org",
            "start": meeting_datetime(dt.date(2026, 3, 25), "10:00"),  # GMT
            "summary": "IOM main panel",
            "location": "Committee Room 2, Town Hall; 1st floor",
            "description": "IOM panel meeting. Agenda: https://example.org/meetings/1/agenda",
            "sequence": 2,
            "last_modified": dt.datetime(2026, 2, 20, 16, 30, tzinfo=ZoneInfo("Europe/London")),
        },
        {
            "uid": "meeting-2@example.org",
            "start": meeting_datetime(dt.date(2026, 4, 1), "10:00"),  # BST
            "summary": "IOM main panel (cancelled)",
            "status": "CANCELLED",
            "duration": 90,
            "sequence": 1,
        },
        {
            "uid": "meeting-3@example.org",
            "start": meeting_datetime(dt.date(2026, 4, 15), "14:00"),
            "end": meeting_datetime(dt.date(2026, 4, 15), "15:00"),
            "summary": "IOM mid-month panel",
            "url": "https://example.org/meetings/3",
        },
    ]


def _parse(body: bytes) -> tuple[Calendar, dict[str, object]]:
    cal = Calendar.from_ical(body)
    return cal, {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_feed_parses_back_with_its_events():
    body = calendar_feed("IOM main panel meetings", _events(), now=NOW)
    assert isinstance(body, bytes) and body.startswith(b"BEGIN:VCALENDAR\r\n")
    cal, events = _parse(body)
    assert str(cal["PRODID"]) == PRODID == "-//Manage risk panels//EN"
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "IOM main panel meetings"
    assert set(events) == {"meeting-1@example.org", "meeting-2@example.org", "meeting-3@example.org"}
    first = events["meeting-1@example.org"]
    assert str(first["SUMMARY"]) == "IOM main panel"
    assert str(first["LOCATION"]) == "Committee Room 2, Town Hall; 1st floor"
    assert str(first["DESCRIPTION"]).endswith("/meetings/1/agenda")
    assert first["SEQUENCE"] == 2
    assert str(first["STATUS"]) == "CONFIRMED"
    assert first.decoded("DTSTAMP") == NOW
    assert first.decoded("LAST-MODIFIED") == dt.datetime(2026, 2, 20, 16, 30, tzinfo=dt.UTC)
    assert str(events["meeting-3@example.org"]["URL"]) == "https://example.org/meetings/3"


def test_times_are_london_local_with_tzid_across_the_clock_change():
    body = calendar_feed("IOM", _events(), now=NOW)
    text = body.decode()
    assert "DTSTART;TZID=Europe/London:20260325T100000" in text
    assert "DTSTART;TZID=Europe/London:20260401T100000" in text
    assert "BEGIN:VTIMEZONE" in text and "TZID:Europe/London" in text
    cal, events = _parse(body)
    [tz] = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/London"
    for event in events.values():
        assert event["DTSTART"].params["TZID"] == "Europe/London"
        assert event["DTEND"].params["TZID"] == "Europe/London"
    winter = events["meeting-1@example.org"].decoded("DTSTART")
    summer = events["meeting-2@example.org"].decoded("DTSTART")
    assert (winter.hour, winter.utcoffset()) == (10, dt.timedelta(0))
    assert (summer.hour, summer.utcoffset()) == (10, dt.timedelta(hours=1))
    assert winter.astimezone(dt.UTC).hour == 10 and summer.astimezone(dt.UTC).hour == 9


def test_durations_default_to_two_hours():
    _, events = _parse(calendar_feed("IOM", _events(), now=NOW))
    length = {uid: e.decoded("DTEND") - e.decoded("DTSTART") for uid, e in events.items()}
    assert length == {
        "meeting-1@example.org": dt.timedelta(hours=2),
        "meeting-2@example.org": dt.timedelta(minutes=90),
        "meeting-3@example.org": dt.timedelta(hours=1),
    }


def test_cancelled_meeting_stays_in_the_feed_as_cancelled():
    body = calendar_feed("IOM", _events(), now=NOW)
    _, events = _parse(body)
    cancelled = events["meeting-2@example.org"]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert cancelled["SEQUENCE"] == 1
    assert b"STATUS:CANCELLED" in body


def test_starts_in_other_zones_are_written_in_london_time():
    utc_start = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 BST
    body = calendar_feed("x", [{"uid": "u@x", "start": utc_start, "summary": "SGV panel"}], now=NOW)
    assert b"DTSTART;TZID=Europe/London:20260701T100000" in body
    assert b"DTEND;TZID=Europe/London:20260701T120000" in body


def test_empty_feed_and_bad_events():
    cal = Calendar.from_ical(calendar_feed("Nothing yet", []))
    assert cal.walk("VEVENT") == [] and str(cal["X-WR-CALNAME"]) == "Nothing yet"
    start = meeting_datetime(dt.date(2026, 7, 1), "10:00")
    with pytest.raises(ValueError, match="uid"):
        calendar_feed("x", [{"start": start, "summary": "IOM"}])
    with pytest.raises(ValueError, match="status"):
        calendar_feed("x", [{"uid": "u@x", "start": start, "summary": "IOM", "status": "MAYBE"}])
    with pytest.raises(ValueError, match="duration"):
        calendar_feed("x", [{"uid": "u@x", "start": start, "summary": "IOM", "duration": 0}])


# -- calendar feed links: a credential that opens the meetings feed and nothing else --------

FEED_LINK = re.compile(r"(https?://[^\s\"<]+)/feeds/(mrf_[A-Za-z0-9_\-]+)/meetings\.ics")


def _new_feed_link(client) -> str:
    """Create (or replace) the signed-in user's calendar link on the account page; the token."""
    resp = client.post("/account/calendar-link")
    assert resp.status_code == 200
    match = FEED_LINK.search(resp.get_data(as_text=True))
    assert match, "the account page shows the new calendar link once"
    return match.group(2)


def _feed(client, token: str):
    return client.get(f"/feeds/{token}/meetings.ics")


def test_a_calendar_link_opens_the_feed_without_a_session(partnership, make_case, meeting_on, app):
    make_case(given="Reginald", family="Canarysmith")
    client = app.test_client()
    login(client, "probation")
    token = _new_feed_link(client)
    client.post("/sign-out")
    resp = _feed(app.test_client(), token)
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    body = resp.get_data(as_text=True)
    assert "IOM main panel" in body and "MAPPA panel" in body and "20261202T100000" in body
    # meeting dates, places, panel names and links only: nothing about a person on the panel
    assert "Reginald" not in body and "Canarysmith" not in body and "IOM-" not in body
    assert resp.headers["Cache-Control"].startswith("private")


def test_an_api_token_is_refused_on_the_feed(partnership, api_token, app):
    token = api_token("probation")
    client = app.test_client()
    assert _feed(client, token).status_code == 404
    for path in ("/me/meetings.ics", "/panels/IOM/meetings.ics"):
        resp = client.get(f"{path}?token={token}")
        assert resp.status_code == 410, path
        page = resp.get_data(as_text=True)
        assert "BEGIN:VCALENDAR" not in page and "account page" in page
    assert client.get("/me/meetings.ics?token=mrp_wrong").status_code == 410


def test_a_calendar_link_is_not_an_api_credential(partnership, app):
    client = app.test_client()
    login(client, "police")
    token = _new_feed_link(client)
    api = app.test_client()
    for path in ("/api/v1/me", "/api/v1/panels", "/api/v1/panels/IOM/cases"):
        assert api.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401, path
    # nor does it stand in for the old ?token= form or a session
    assert api.get(f"/me/meetings.ics?token={token}").status_code == 410
    assert api.get("/panels/IOM/tracker", headers={"Authorization": f"Bearer {token}"}).status_code == 302


def test_replaced_and_revoked_calendar_links_are_refused(partnership, app):
    client = app.test_client()
    login(client, "police")
    first = _new_feed_link(client)
    second = _new_feed_link(client)
    assert first != second
    assert _feed(app.test_client(), first).status_code == 404
    assert _feed(app.test_client(), second).status_code == 200
    resp = client.post("/account/calendar-link/revoke")
    assert resp.status_code == 302
    refused = _feed(app.test_client(), second)
    assert refused.status_code == 404 and "account page" in refused.get_data(as_text=True)
    assert "no calendar link" in client.get("/account").get_data(as_text=True).lower()


@pytest.mark.parametrize("how", ["password", "disabled", "set-up link"])
def test_shutting_a_user_out_revokes_their_calendar_link(partnership, app, how):
    from auth import services

    client = app.test_client()
    login(client, "police")
    token = _new_feed_link(client)
    assert _feed(app.test_client(), token).status_code == 200
    police = partnership.user("police")
    if how == "password":
        services.change_password(police, "velvet-harbour-tractor-9")
    elif how == "disabled":
        services.set_active(police, False, acting=partnership.user("admin"))
    else:
        services.complete_setup(police, "velvet-harbour-tractor-9")
    db.session.commit()
    assert _feed(app.test_client(), token).status_code == 404


def test_calendar_link_is_logged_by_its_id_only(partnership, app, caplog):
    from auth.models import CalendarFeedToken
    from core.logs import JsonFormatter
    from sharing.models import AccessEvent
    from tests.support import LiveServer

    client = app.test_client()
    login(client, "police")
    token = _new_feed_link(client)
    row = db.session.execute(db.select(CalendarFeedToken).filter_by(revoked_at=None)).scalar_one()
    assert token not in (row.token_hash or "")
    db.session.commit()  # end this read before the server thread writes
    caplog.set_level(logging.INFO)
    with LiveServer(app) as server:  # the real server writes a line per request to the app log
        with urllib.request.urlopen(f"{server.url}/feeds/{token}/meetings.ics") as resp:
            assert resp.status == 200
        client.post("/account/calendar-link/revoke")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.url}/feeds/{token}/meetings.ics")
        assert refused.value.code == 404
    db.session.expire_all()
    events = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq)).scalars().all()
    feed_events = [e for e in events if f"calendar link {row.id}" in e.detail]
    assert [e.outcome for e in feed_events][-2:] == ["allowed", "refused"]
    assert all(token not in f"{e.purpose} {e.detail}" for e in events)
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert any("/feeds/" in line for line in lines), "the server logged the requests"
    assert all(token not in line for line in lines)
