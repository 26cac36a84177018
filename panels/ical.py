"""iCalendar (RFC 5545) feeds of panel meetings, for Outlook and other calendar clients.

A feed is a published calendar (METHOD:PUBLISH) that clients subscribe to and re-fetch, so
a moved meeting keeps its UID and carries a higher SEQUENCE, and a cancelled one stays in
the feed with STATUS:CANCELLED (clients then strike it out rather than silently keep it).

Times are written as local Europe/London times with a TZID and a matching VTIMEZONE, so a
10:00 meeting shows at 10:00 whether the clocks are on GMT or BST. The VTIMEZONE uses the
compact yearly rules (last Sunday of March / October, in force since 1996) that Outlook
itself writes, rather than a list of transitions that runs out after some year.

Feeds carry panel names, times and places only; callers must never pass personal data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard

from panels.schedule import LONDON

PRODID = "-//Manage risk panels//EN"
TZID = "Europe/London"
DEFAULT_DURATION_MINUTES = 120
STATUSES = ("CONFIRMED", "CANCELLED", "TENTATIVE")


def london_vtimezone() -> Timezone:
    """VTIMEZONE for Europe/London: GMT in winter, BST from the last Sunday of March."""
    tz = Timezone()
    tz.add("tzid", TZID)
    tz.add("x-lic-location", TZID)
    daylight = TimezoneDaylight()
    daylight.add("tzname", "BST")
    daylight.add("tzoffsetfrom", dt.timedelta(0))
    daylight.add("tzoffsetto", dt.timedelta(hours=1))
    daylight.add("dtstart", dt.datetime(1981, 3, 29, 1, 0))  # 01:00 GMT, the local time before the change
    daylight.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1SU"})
    standard = TimezoneStandard()
    standard.add("tzname", "GMT")
    standard.add("tzoffsetfrom", dt.timedelta(hours=1))
    standard.add("tzoffsetto", dt.timedelta(0))
    standard.add("dtstart", dt.datetime(1996, 10, 27, 2, 0))  # 02:00 BST
    standard.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1SU"})
    tz.add_component(daylight)
    tz.add_component(standard)
    return tz


def _local(value: dt.datetime) -> dt.datetime:
    """As an aware London time (a naive time is taken to be London local already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=LONDON)
    return value.astimezone(LONDON)


def _utc(value: dt.datetime) -> dt.datetime:
    return _local(value).astimezone(dt.UTC)


def _end(event: Mapping[str, Any], start: dt.datetime) -> dt.datetime:
    """End from "end", or "duration" / "duration_minutes" (minutes or a timedelta); 2 hours by default."""
    if event.get("end") is not None:
        return _local(event["end"])
    duration = event.get("duration", event.get("duration_minutes", DEFAULT_DURATION_MINUTES))
    if not isinstance(duration, dt.timedelta):
        duration = dt.timedelta(minutes=int(duration))
    if duration <= dt.timedelta(0):
        raise ValueError("an event's duration must be positive")
    # Wall-clock arithmetic: a 10:00 meeting of 2 hours ends at 12:00 local.
    return (start.replace(tzinfo=None) + duration).replace(tzinfo=LONDON)


def _vevent(event: Mapping[str, Any], stamp: dt.datetime) -> Event:
    for key in ("uid", "start", "summary"):
        if not event.get(key):
            raise ValueError(f"calendar event without {key!r}")
    status = str(event.get("status") or "CONFIRMED").upper()
    if status not in STATUSES:
        raise ValueError(f"calendar event status {status!r} is not one of {', '.join(STATUSES)}")
    start = _local(event["start"])
    end = _end(event, start)
    vevent = Event()
    vevent.add("uid", str(event["uid"]))
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", start)
    vevent.add("dtend", end)
    vevent.add("summary", str(event["summary"]))
    if event.get("location"):
        vevent.add("location", str(event["location"]))
    if event.get("description"):
        vevent.add("description", str(event["description"]))
    if event.get("url"):
        vevent.add("url", str(event["url"]))
    vevent.add("status", status)
    vevent.add("sequence", int(event.get("sequence") or 0))
    if event.get("last_modified"):
        vevent.add("last-modified", _utc(event["last_modified"]))
    vevent.add("transp", "TRANSPARENT" if status == "CANCELLED" else "OPAQUE")
    return vevent


def calendar_feed(name: str, events: Iterable[Mapping[str, Any]], *, now: dt.datetime | None = None) -> bytes:
    """A VCALENDAR (bytes, CRLF lines) named ``name`` holding ``events``.

    Each event is a dict with ``uid``, ``start`` (an aware datetime; naive means London
    local), ``summary`` and optionally ``end`` or ``duration`` (minutes, default 120),
    ``location``, ``description``, ``url``, ``status`` ("CONFIRMED" or "CANCELLED"),
    ``sequence`` and ``last_modified``. ``now`` (default: the current time) is the DTSTAMP.
    """
    stamp = _utc(now) if now is not None else dt.datetime.now(dt.UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TZID)
    cal.add_component(london_vtimezone())
    for event in events:
        cal.add_component(_vevent(event, stamp))
    return cal.to_ical()
