"""iCal feeds of meeting dates: one per panel, and one per user for all their panels.

Feeds carry dates, times, places and panel names only — never a person. They need a
signed-in session, or `?token=<personal API token>` so a calendar client (Outlook) can
subscribe without a browser session.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, g, redirect, request, url_for

from auth.decorators import totp_pending
from auth.tokens import user_for_token
from core import clock
from core.extensions import db
from panels.models import Meeting, Panel
from panels.routes import bp
from panels.services import panel_by_code
from sharing import audit
from sharing.policy import Policy

MEETING_HOURS = 2
PAST_DAYS = 92


def _feed_user():
    """The session's user, or the owner of ?token=...; None when neither is valid."""
    token = request.args.get("token")
    if token:
        user = user_for_token(token.strip())
        if user is None:
            abort(401, "That calendar token is not valid")
        g.user = user
        g.policy = None
        return user
    user = g.get("user")
    if user is None or totp_pending():
        return None
    return user


def meeting_events(meetings: list[Meeting]) -> list[dict]:
    """Meetings as calendar events (no personal data)."""
    from panels.schedule import meeting_datetime

    host = request.host.split(":")[0] or "localhost"
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


def _meetings(panel_ids: list[int]) -> list[Meeting]:
    if not panel_ids:
        return []
    since = clock.today() - dt.timedelta(days=PAST_DAYS)
    return list(db.session.execute(
        db.select(Meeting).where(Meeting.panel_id.in_(panel_ids), Meeting.date >= since).order_by(Meeting.date)
    ).scalars())


def _respond(name: str, meetings: list[Meeting]):
    from panels.ical import calendar_feed

    body = calendar_feed(name, meeting_events(meetings))
    resp = current_app.response_class(body, mimetype="text/calendar")
    resp.headers["Content-Disposition"] = 'inline; filename="meetings.ics"'
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


@bp.route("/panels/<code>/meetings.ics")
def panel_feed(code: str):
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


@bp.route("/me/meetings.ics")
def my_feed():
    user = _feed_user()
    if user is None:
        return redirect(url_for("auth.sign_in", next=request.path))
    ids = [pid for pid in Policy(user).panel_ids()
           if db.session.execute(db.select(Panel.active).filter_by(id=pid)).scalar()]
    return _respond("My panel meetings", _meetings(ids))
