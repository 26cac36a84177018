"""iCalendar feeds of meetings (panels.ical): they parse back, in London time, with cancellations."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from panels.ical import PRODID, calendar_feed
from panels.schedule import meeting_datetime

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
