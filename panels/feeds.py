"""iCal feeds of meeting dates: one per panel, and one per user for all their panels.

Feeds carry dates, times, places, panel names and links only — never a person. The panel
and "my meetings" feeds need a signed-in session. A calendar client (Outlook) subscribes to
`/feeds/<calendar link>/meetings.ics` instead: the link is a feed-only credential made on
the account page (auth.tokens), logged by its id, never by its value. The old
`?token=<API token>` form is refused (410): it put a credential that reads case data into
calendar clients and server logs.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from auth.decorators import totp_pending
from auth.tokens import feed_token_row, use_feed_token
from core import clock
from core.config import public_host
from core.extensions import db
from panels.ical import calendar_feed
from panels.models import Meeting, Panel
from panels.routes import bp
from panels.schedule import meeting_datetime
from panels.services import panel_by_code
from sharing import audit
from sharing.policy import Policy

MEETING_HOURS = 2
PAST_DAYS = 92


OLD_TOKEN_FORM = ("Calendar addresses ending in ?token= no longer work: they carried your API token. "
                  "Create a calendar link on your account page and subscribe to that instead.")
BAD_LINK = ("This calendar link does not work: it has been replaced or revoked, or its owner's access has "
            "ended. Create a new calendar link on your account page.")
FEED_PURPOSE = "calendar feed"  # the access log's purpose: never the path, which holds the link


def _feed_user():
    """The session's user; None when signed out or the second factor is still owed."""
    user = g.get("user")
    if user is None or totp_pending():
        return None
    return user


def _old_token_form():
    """The retired ?token= form: a clear 410, whether or not the token is (still) valid."""
    if "token" not in request.args:
        return None
    return render_template("errors/error.html", status=410, title="This calendar address no longer works",
                           message=OLD_TOKEN_FORM), 410


def meeting_events(meetings: list[Meeting]) -> list[dict]:
    """Meetings as calendar events (no personal data)."""
    host = public_host(current_app.config["PUBLIC_URL"])  # never the request's Host header
    events = []
    for m in meetings:
        start = meeting_datetime(m.date, m.time or m.panel.time or "10:00")
        events.append({
            "uid": f"meeting-{m.uid}@{host}",
            "summary": f"{m.panel.name}{' (cancelled)' if m.status == 'cancelled' else ''}",
            "start": start,
            "end": start + dt.timedelta(hours=MEETING_HOURS),
            "location": m.place or m.panel.place or "",
            "description": f"{m.panel.code} panel meeting. Agenda: "
                           f"{url_for('panels.agenda', meeting_id=m.id, _external=True)}",
            "sequence": m.sequence,
            "status": "CANCELLED" if m.status == "cancelled" else "CONFIRMED",
            "url": url_for("panels.meeting", meeting_id=m.id, _external=True),
        })
    return events


# What a subscribed calendar shows of a meeting (feeds.meeting_events): a change to any of these
# must raise the event's SEQUENCE, or clients may keep the old place or name (RFC 5545 3.8.7.4).
MEETING_FIELDS = ("date", "time", "place")
PANEL_FIELDS = ("name", "place", "time", "code")


def _changed(obj, fields: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[f].history.has_changes() for f in fields)


def _cancelled_or_restored(meeting: Meeting) -> bool:
    """Only "cancelled" shows in a feed (STATUS:CANCELLED); published or closed do not."""
    history = inspect(meeting).attrs.status.history
    return history.has_changes() and "cancelled" in (*history.added, *history.deleted)


@event.listens_for(Session, "before_flush")
def _bump_feed_sequences(session: Session, _context, _instances) -> None:
    """Raise SEQUENCE on every meeting whose calendar event a pending change alters.

    A meeting whose own place, date, time or status changed is bumped once (unless the
    change already set its sequence, as moving and cancelling do); a panel whose name,
    place or default time changed bumps each of its meetings still in the feeds.
    """
    bumped: set[int] = set()
    for obj in list(session.dirty):
        if not isinstance(obj, Meeting) or _changed(obj, ("sequence",)):
            continue
        if _changed(obj, MEETING_FIELDS) or _cancelled_or_restored(obj):
            obj.sequence = (obj.sequence or 0) + 1
            bumped.add(id(obj))
    panels = [p for p in session.dirty if isinstance(p, Panel) and p.id is not None and _changed(p, PANEL_FIELDS)]
    if not panels:
        return
    since = clock.today() - dt.timedelta(days=PAST_DAYS)
    with session.no_autoflush:
        for panel in panels:
            meetings = session.execute(
                db.select(Meeting).where(Meeting.panel_id == panel.id, Meeting.date >= since)
            ).scalars()
            for m in meetings:
                if id(m) not in bumped:
                    m.sequence = (m.sequence or 0) + 1
                    bumped.add(id(m))


def _meetings(panel_ids: list[int]) -> list[Meeting]:
    if not panel_ids:
        return []
    since = clock.today() - dt.timedelta(days=PAST_DAYS)
    return list(db.session.execute(
        db.select(Meeting).where(Meeting.panel_id.in_(panel_ids), Meeting.date >= since).order_by(Meeting.date)
    ).scalars())


def _respond(name: str, meetings: list[Meeting]):
    body = calendar_feed(name, meeting_events(meetings))
    resp = current_app.response_class(body, mimetype="text/calendar")
    resp.headers["Content-Disposition"] = 'inline; filename="meetings.ics"'
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


@bp.route("/panels/<code>/meetings.ics")
def panel_feed(code: str):
    retired = _old_token_form()
    if retired:
        return retired
    user = _feed_user()
    if user is None:
        return redirect(url_for("auth.sign_in", next=request.path))
    panel = panel_by_code(code)
    if panel is None:
        abort(404)
    if not Policy(user).takes_part(panel.id):
        audit.refused("calendar: the user's agency takes no part in this panel", panel=panel)
        abort(403)
    return _respond(f"{panel.name} meetings", _meetings([panel.id]))


def _my_meetings(user) -> list[Meeting]:
    ids = [pid for pid in Policy(user).panel_ids()
           if db.session.execute(db.select(Panel.active).filter_by(id=pid)).scalar()]
    return _meetings(ids)


@bp.route("/me/meetings.ics")
def my_feed():
    retired = _old_token_form()
    if retired:
        return retired
    user = _feed_user()
    if user is None:
        return redirect(url_for("auth.sign_in", next=request.path))
    return _respond("My panel meetings", _my_meetings(user))


@bp.route("/feeds/<token>/meetings.ics")
def token_feed(token: str):
    """The user's meetings for a calendar client: the link is the only credential, and opens only this."""
    row = feed_token_row(token)
    if not use_feed_token(row):
        audit.refused("calendar feed: unknown, replaced or revoked link"
                      + (f" (calendar link {row.id})" if row is not None else ""),
                      user=row.user if row is not None else None, purpose=FEED_PURPOSE)
        audit.write_pending()  # in its own transaction: this answer's is rolled back
        return render_template("errors/error.html", status=404, title="This calendar link does not work",
                               message=BAD_LINK), 404
    meetings = _my_meetings(row.user)
    audit.record("view", user=row.user, purpose=FEED_PURPOSE,
                 detail=f"calendar link {row.id}: {len(meetings)} meeting(s)")
    return _respond("My panel meetings", meetings)
