"""JSON API for meetings and agendas (CONTRACT.md), under the same access policy.

GET /api/v1/panels/<code>/meetings?from=&to=   GET /api/v1/meetings/<id>/agenda
"""

from __future__ import annotations

import datetime as dt

from flask import abort, g, request

from cohort.serialise import case_dict
from core.api import api
from core.extensions import db
from panels import agenda as agendas
from panels.models import Meeting
from panels.services import is_coordinator, panel_by_code
from sharing import audit
from sharing.policy import current_policy


def _date_arg(name: str) -> dt.date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        abort(422, f"{name}: {value!r} is not a date (use YYYY-MM-DD)")


@api.get("/panels/<code>/meetings")
def panel_meetings(code: str):
    panel = panel_by_code(code)
    if panel is None:
        abort(404, f"No panel {code}")
    if not current_policy().takes_part(panel.id):
        audit.refused("api: the caller's agency takes no part in this panel", panel=panel)
        abort(403, "Your agency takes no part in this panel")
    start, end = _date_arg("from"), _date_arg("to")
    query = db.select(Meeting).where(Meeting.panel_id == panel.id).order_by(Meeting.date)
    if start:
        query = query.where(Meeting.date >= start)
    if end:
        query = query.where(Meeting.date <= end)
    return {
        "meetings": [
            {"id": m.id, "date": m.date.isoformat(), "status": m.status, "time": m.time, "rule_date":
             m.rule_date.isoformat(), "sequence": m.sequence}
            for m in db.session.execute(query).scalars()
        ]
    }


@api.get("/meetings/<int:meeting_id>/agenda")
def meeting_agenda(meeting_id: int):
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404, "No such meeting")
    policy = current_policy()
    if not policy.takes_part(meeting.panel_id) and not is_coordinator(g.user, meeting.panel, policy):
        audit.refused("api: the caller's agency takes no part in this panel", panel=meeting.panel)
        abort(403, "Your agency takes no part in this panel")
    published = meeting.status in ("published", "closed")
    drafts = agendas.current_items(meeting, live_draft=not published)
    rows = agendas.agenda_rows(meeting, drafts, policy)
    agendas.log_view(meeting, rows, policy)
    return {
        "meeting": {"id": meeting.id, "panel": meeting.panel.code, "date": meeting.date.isoformat(),
                    "status": meeting.status},
        "published": published,
        "items": [
            {
                "position": r["position"],
                "case_id": r["case_id"],
                "reasons": r["reasons"],
                "other_panels": r["other_panels"],
                "case": case_dict(r["case"], policy),
            }
            for r in rows
        ],
    }
