"""The lifecycle part of the JSON API: exiting a case, and the subject access report.

`POST /cases/<id>/exit` {"reason", "date"} does what the case page's exit does (CONTRACT.md
"Details"); `GET /nominals/<id>/subject-access` is the DPO's report as JSON.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, g

from cohort import queries, services
from cohort.api import CASE, NOT_FOUND_CASE
from cohort.models import Nominal
from cohort.serialise import case_dict
from core.api import NOT_BLANK, api, endpoint, request_json, shape
from core.extensions import db
from lifecycle import subject_access
from sharing import audit
from sharing.policy import current_policy

EXIT_IN = {
    "type": "object", "required": ["reason"], "additionalProperties": False,
    "properties": {
        "reason": {"type": "string", "pattern": NOT_BLANK, "maxLength": 2000},
        "date": {"type": "string", "format": "date", "description": "The exit date (default today); not in the future"},
        "version": {"type": "integer", "description": "The case version you read (409 if stale)"},
    },
}
STAMP = {"type": ["string", "null"]}
SUBJECT_ACCESS = shape("SubjectAccess", {
    "type": "object", "required": ["person", "panels", "recipients", "exports"],
    "properties": {
        "nominal_id": {"type": "integer"},
        "person": {"type": "object", "description": "Every identity and contact field held"},
        "merged_records": {"type": "array", "items": {"type": "object"}},
        "panels": {"type": "array", "items": {"type": "object", "description": "Each case, with every record held"}},
        "recipients": {"type": "array", "items": {
            "type": "object", "required": ["agency", "first", "last", "events"],
            "properties": {"agency": {"type": "string"}, "first": STAMP, "last": STAMP,
                           "events": {"type": "integer"}}}},
        "exports": {"type": "array", "items": {"type": "object"}},
    },
})


@api.post("/cases/<int:case_id>/exit")
@endpoint("Exit a case from its panel with a reason (and a date, default today)", body=EXIT_IN,
          responses={200: (CASE, "The exited case"), 403: "Needs offending write on the panel", 404: NOT_FOUND_CASE,
                     409: "The version is stale, or the case has already exited",
                     422: "No reason, an invalid or future date, or a date before the referral"},
          rules=("the exit date is not in the future", "the exit date is not before the referral date"))
def exit_case(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    if not policy.can(case.panel_id, "offending", "write"):
        audit.refused("policy: offending write not granted", panel=case.panel, case_id=case.id)
        abort(403, "Exiting a case needs write access to offending on this panel")
    body = request_json() or {}
    if case.status == "exited":
        abort(409, "The case has already exited")
    try:
        on = dt.date.fromisoformat(body["date"]) if body.get("date") else None
    except ValueError:
        abort(422, "date must be a date, YYYY-MM-DD")
    try:
        services.exit_case(case, reason=body["reason"], policy=policy, expected_version=body.get("version"), on=on)
    except services.Invalid as exc:
        abort(422, str(exc))
    except services.StaleVersion as exc:
        abort(409, f"The case is at version {exc.current}, not {body.get('version')}: read it again")
    return case_dict(case, policy)


@api.get("/nominals/<int:nominal_id>/subject-access")
@endpoint("Everything held on one person, who received it and the exports that held it (role dpo)",
          responses={200: SUBJECT_ACCESS, 403: "Needs the dpo role", 404: "No such person"})
def subject_access_report(nominal_id: int):
    if not g.user.has_role("dpo"):
        audit.refused("role: needs dpo")
        abort(403, "A subject access report needs the data protection officer's role")
    nominal = db.session.get(Nominal, nominal_id)
    if nominal is None:
        abort(404, "No such person")
    return subject_access.report(nominal)
