"""JSON API for meetings and agendas (CONTRACT.md), under the same access policy.

GET /api/v1/panels/<code>/meetings?from=&to=   GET /api/v1/meetings/<id>/agenda
"""

from __future__ import annotations

import datetime as dt

from flask import abort, g

from cohort.api import CASE
from cohort.models import Action
from cohort.queries import case_or_404
from cohort.serialise import case_dict
from cohort.services import Refused
from core.api import DATE, ID, NOT_BLANK, TEXT, api, endpoint, request_args, request_json, shape
from core.extensions import db
from panels import actions as acts
from panels import agenda as agendas
from panels import meetings as mtg
from panels import referrals as refs
from panels.models import MEETING_STATUSES, Meeting, Referral
from panels.services import is_coordinator, panel_by_code
from sharing import audit
from sharing.policy import current_policy

MEETING = shape("Meeting", {
    "type": "object", "required": ["id", "date", "status", "time", "rule_date", "sequence"],
    "properties": {
        "id": ID, "date": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": list(MEETING_STATUSES)},
        "time": {"type": "string", "description": "HH:MM, Europe/London"},
        "rule_date": {"type": "string", "format": "date", "description": "The date the panel's rule gave"},
        "sequence": {"type": "integer", "description": "Bumped on every change a calendar should pick up"},
    },
})
AGENDA_ITEM = shape("AgendaItem", {
    "type": "object", "required": ["position", "case_id", "reasons", "other_panels", "case"],
    "properties": {
        "position": {"type": "integer"}, "case_id": ID,
        "reasons": {"type": "array", "items": {"type": "string", "enum": list(agendas.REASONS)},
                    "description": "Why it is on the agenda, as far as the caller may read"},
        "other_panels": {"type": "array", "items": {"type": "string"}}, "case": CASE,
    },
})
AGENDA = shape("Agenda", {
    "type": "object", "required": ["meeting", "published", "items"],
    "properties": {
        "meeting": {"type": "object", "required": ["id", "panel", "date", "status"], "properties": {
            "id": ID, "panel": {"type": "string"}, "date": {"type": "string", "format": "date"},
            "status": {"type": "string", "enum": list(MEETING_STATUSES)}}},
        "published": {"type": "boolean"},
        "capacity": {"type": "integer", "description": "How many items there is time to discuss"},
        "items": {"type": "array", "items": AGENDA_ITEM, "description": "For discussion"},
        "for_information": {"type": "array", "items": ID, "description": "Case ids, listed for information"},
    },
})
MEETINGS_QUERY = {"from": {**DATE, "description": "Meetings on or after this date (YYYY-MM-DD)"},
                  "to": {**DATE, "description": "Meetings on or before this date (YYYY-MM-DD)"}}


@api.get("/panels/<code>/meetings")
@endpoint("The panel's meetings in date order, optionally between two dates", query=MEETINGS_QUERY,
          responses={200: {"type": "object", "required": ["meetings"], "properties": {
              "meetings": {"type": "array", "items": MEETING}}},
              403: "The caller's agency takes no part in the panel", 404: "No such panel",
              422: "from or to is not a date"})
def panel_meetings(code: str):
    panel = panel_by_code(code)
    if panel is None:
        abort(404, f"No panel {code}")
    if not current_policy().takes_part(panel.id):
        audit.refused("api: the caller's agency takes no part in this panel", panel=panel)
        abort(403, "Your agency takes no part in this panel")
    args = request_args()
    start, end = (dt.date.fromisoformat(args[k]) if k in args else None for k in ("from", "to"))
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
@endpoint("A meeting's agenda as the caller may read it (the live draft until it is published)",
          responses={200: AGENDA, 403: "The caller's agency takes no part in the panel", 404: "No such meeting"})
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
    items, info = agendas.split(rows)
    return {
        "meeting": {"id": meeting.id, "panel": meeting.panel.code, "date": meeting.date.isoformat(),
                    "status": meeting.status},
        "published": published,
        "capacity": meeting.panel.capacity,
        "for_information": [r["case_id"] for r in info],
        "items": [
            {
                "position": r["position"],
                "case_id": r["case_id"],
                "reasons": r["reasons"],
                "other_panels": r["other_panels"],
                "case": case_dict(r["case"], policy),
            }
            for r in items
        ],
    }


CLOSE = {"type": "object", "additionalProperties": False, "properties": {"confirm": {"type": "boolean"}}}
CLOSED = shape("MeetingClosed", {
    "type": "object", "required": ["id", "status", "closed", "not_applied"],
    "properties": {"id": ID, "status": {"type": "string"}, "closed": {"type": "boolean"},
                   "not_applied": {"type": "array", "items": TEXT}},
})


@api.post("/meetings/<int:meeting_id>/close")
@endpoint("Close a meeting: its outcomes land on the cases, dated at the meeting", body=CLOSE, body_required=False,
          responses={200: CLOSED, 403: "Needs risk write on the panel as one of its coordinators",
                     404: "No such meeting", 409: "Before the meeting's date",
                     422: "Items without an outcome (send confirm: true) or missing disclosure decisions"})
def close_meeting(meeting_id: int):
    """409 before the meeting's date; 422 naming the items without an outcome unless confirm."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404, "No such meeting")
    policy = current_policy()
    if not is_coordinator(g.user, meeting.panel, policy) or not mtg.may_close(meeting, policy):
        audit.refused("api: closing needs a coordinator with risk write", panel=meeting.panel)
        abort(403, "Only the panel's coordinators with risk write may close its meetings")
    body = request_json() or {}
    try:
        result = mtg.close_meeting(meeting, policy, confirm=bool(body.get("confirm")))
    except Refused as exc:
        abort(403, str(exc))
    except mtg.TooEarly as exc:
        abort(409, str(exc))
    except mtg.MeetingStateError as exc:
        abort(422, f"{exc}: " + "; ".join(exc.problems))
    return {"id": meeting.id, "status": meeting.status, "closed": bool(result), "not_applied": result.not_applied}


# -- actions (CONTRACT.md "Additions") ------------------------------------------------------------

ACTION = shape("CaseAction", {
    "type": "object", "required": ["id", "case_id", "status", "due"],
    "properties": {
        "id": ID, "case_id": ID, "status": {"type": "string", "enum": list(acts.STATUS_LABELS)},
        "due": {"type": ["string", "null"], "format": "date"}, "text": {"type": ["string", "null"]},
        "owner_email": {"type": ["string", "null"]}, "owner_agency": {"type": ["string", "null"]},
        "meeting_id": {"type": ["integer", "null"]}, "completed_on": {"type": ["string", "null"], "format": "date"},
        "not_completed": {"type": "integer",
                          "description": "How often the owner reported it could not be or was not done"},
        "updates": {"type": "array", "items": {"type": "object", "properties": {
            "status": {"type": "string"}, "at": {"type": "string"}, "note": {"type": ["string", "null"]}}}},
    },
})
NEW_ACTION = {
    "type": "object", "required": ["text", "due"], "additionalProperties": False,
    "properties": {"text": {**TEXT, "minLength": 1, "maxLength": 2000}, "due": DATE,
                   "owner_email": {**TEXT, "minLength": 1, "maxLength": 320},
                   "owner_agency": {**TEXT, "minLength": 1, "maxLength": 32}},
    "anyOf": [{"required": ["owner_email"]}, {"required": ["owner_agency"]}],
}
ACTION_UPDATE = {
    "type": "object", "required": ["status"], "additionalProperties": False,
    "properties": {"status": {"type": "string", "enum": list(acts.UPDATE_STATUSES)},
                   "note": {**TEXT, "maxLength": 2000}},
    # could_not needs a note saying why (more than spaces)
    "if": {"properties": {"status": {"const": "could_not"}}},
    "then": {"required": ["note"], "properties": {"note": {"type": "string", "pattern": NOT_BLANK}}},
}


def _offending_case(case_id: int, access: str):
    policy = current_policy()
    case = case_or_404(case_id, policy)
    if not policy.can(case.panel_id, "offending", access):
        audit.refused(f"api: actions need offending {access}", panel=case.panel, case_id=case.id)
        abort(403, f"Actions need {'write' if access == 'write' else 'read'} access to offending information "
                   "on this panel")
    return case, policy


@api.get("/cases/<int:case_id>/actions")
@endpoint("The case's actions with their status history",
          responses={200: {"type": "object", "required": ["actions"], "properties": {
              "actions": {"type": "array", "items": ACTION}}},
              403: "Needs offending read on the panel", 404: "No such case on a panel you take part in"})
def list_actions(case_id: int):
    case, policy = _offending_case(case_id, "read")
    actions = db.session.execute(db.select(Action).filter_by(case_id=case.id).order_by(Action.due, Action.id)
                                 ).scalars().all()
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id, categories=["offending"],
                 detail="api case actions")
    return {"actions": [acts.action_dict(a, policy) for a in actions]}


@api.post("/cases/<int:case_id>/actions")
@endpoint("Add an action owned by a person (owner_email) or an agency (owner_agency); a past due date is accepted",
          body=NEW_ACTION, responses={201: ACTION, 403: "Needs offending write on the panel",
                                      404: "No such case on a panel you take part in",
                                      422: "No text, no due date, no owner, or an unknown owner"},
          rules=("owner_email names a working account, or owner_agency an agency of the partnership",))
def add_action(case_id: int):
    case, policy = _offending_case(case_id, "write")
    body = request_json()
    try:
        action = acts.create_action(case, text=body["text"], due=dt.date.fromisoformat(body["due"]), policy=policy,
                                    owner_email=body.get("owner_email"), owner_agency=body.get("owner_agency"))
    except Refused as exc:
        abort(403, str(exc))
    except acts.Invalid as exc:
        abort(422, str(exc))
    return acts.action_dict(action, policy), 201


@api.patch("/actions/<int:action_id>")
@endpoint("Report an action's status: done, in progress, could not (with a note saying why) or not done",
          body=ACTION_UPDATE, responses={200: ACTION, 403: "Neither the owner nor an offending writer",
                                         404: "No such action on a panel you take part in",
                                         422: "An unknown status, or could_not without a note"},
          rules=("the action is not proposed or cancelled",))
def patch_action(action_id: int):
    policy = current_policy()
    action = db.session.get(Action, action_id)
    if action is None:
        abort(404, "There is no action with that number on a panel you take part in")
    case_or_404(action.case_id, policy)
    if not acts.may_update(action, policy):
        audit.refused("api: action update by neither its owner nor an offending writer", panel=action.case.panel,
                      case_id=action.case_id)
        abort(403, "Only the action's owner, or an agency that may write offending information, may update it")
    body = request_json()
    try:
        acts.update_status(action, status=body["status"], note=body.get("note"), policy=policy)
    except Refused as exc:
        abort(403, str(exc))
    except acts.Invalid as exc:
        abort(422, str(exc))
    return acts.action_dict(action, policy)


# -- referrals (CONTRACT.md "Additions") ----------------------------------------------------------

NEW_REFERRAL = {
    "type": "object", "required": ["reason"], "additionalProperties": False,
    "properties": {
        "nominal_id": ID,
        "nominal": {"type": "object", "additionalProperties": False,
                    "properties": {k: {**TEXT, "maxLength": 200} for k in refs.IDENTITY_KEYS}},
        "reason": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": NOT_BLANK},
        "criteria": {"type": "object", "description": "The panel's referral_criteria by name"},
    },
}
REFERRAL = shape("Referral", {
    "type": "object", "required": ["id", "case_id", "status"],
    "properties": {"id": ID, "case_id": ID, "status": {"type": "string", "enum": [
        "awaiting_decision", *refs.DECISIONS.values()]}},
})
DECISION = {"type": "object", "required": ["decision", "reason"], "additionalProperties": False,
            "properties": {"decision": {"type": "string", "enum": list(refs.DECISIONS)},
                           "reason": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": NOT_BLANK}}}


@api.post("/panels/<code>/referrals")
@endpoint("Refer a recorded person (nominal_id) or a new one (nominal) with the reason and the panel's criteria",
          body=NEW_REFERRAL, responses={201: REFERRAL, 403: "Needs offending write on the panel",
                                        404: "No such panel", 422: "Names the missing or invalid fields"},
          rules=("nominal_id names a person you may refer, or nominal gives a given_name or family_name "
                 "(and any date_of_birth as YYYY-MM-DD)",
                 "criteria answer the panel's referral_criteria", "the person is not already on the panel"))
def create_referral(code: str):
    panel = panel_by_code(code)
    policy = current_policy()
    if panel is None or not policy.takes_part(panel.id):
        audit.refused("api: referral to a panel the agency takes no part in", panel=panel)
        abort(404, f"No panel {code} that your agency takes part in")
    if not policy.can(panel.id, "offending", "write"):
        audit.refused("api: referring needs offending write", panel=panel)
        abort(403, "Referring needs write access to offending information on this panel")
    body = request_json()
    try:
        referral = refs.refer(panel, policy=policy, reason=body.get("reason", ""), criteria=body.get("criteria"),
                              nominal_id=body.get("nominal_id"), nominal=body.get("nominal"))
    except (refs.Invalid, refs.NotFound) as exc:
        abort(422, str(exc))
    except Refused as exc:
        abort(403, str(exc))
    return {"id": referral.id, "case_id": referral.case_id, "status": referral.status}, 201


@api.post("/referrals/<int:referral_id>/decision")
@endpoint("Accept, reject or defer a referral with a reason (the panel's coordinators)", body=DECISION,
          responses={200: REFERRAL, 403: "Not one of the panel's coordinators with offending write",
                     404: "No such referral on a panel you take part in", 422: "No reason, or already decided"},
          rules=("the referral is still awaiting a decision",))
def decide_referral(referral_id: int):
    policy = current_policy()
    referral = db.session.get(Referral, referral_id)
    if referral is None or not policy.takes_part(referral.panel_id):
        audit.refused("api: referral not on a panel the agency takes part in")
        abort(404, "There is no referral with that number on a panel you take part in")
    body = request_json()
    try:
        refs.decide(referral, decision=body["decision"], reason=body["reason"], policy=policy)
    except Refused as exc:
        audit.refused(f"api: referral decision: {exc}", panel=referral.panel)
        abort(403, str(exc))
    except refs.Invalid as exc:
        abort(422, str(exc))
    return {"id": referral.id, "case_id": referral.case_id, "status": referral.status}


from panels import kpi_api as _kpi_api  # noqa: E402,F401  (registers GET /kpis and /kpis/equality on api)
