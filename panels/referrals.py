"""Referral intake and gatekeeping: a referral to a panel with that panel's criteria (the
partnership file's `referral_criteria`), waiting on the agenda until a coordinator accepts,
rejects or defers it with a reason.

A referral makes the case at once (status "referred"), so the agenda, tracker and access
policy treat it as any case; the criteria answers and reasons are risk information,
encrypted. MARAC-style panels compute from earlier referrals whether this one repeats a
referral within 12 months, and a DASH score of 14 or more is "visible high risk".
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cohort import services
from cohort.models import Case, Nominal
from cohort.services import Invalid, Refused
from core import clock
from core.extensions import db
from notifications import services as notifications
from panels.models import Panel, Referral
from panels.services import is_coordinator
from sharing import audit
from sharing.gateway import reveal
from sharing.policy import Policy

DECISIONS = {"accept": "accepted", "reject": "rejected", "defer": "deferred"}
DASH_HIGH_RISK = 14
REPEAT_DAYS = 365
IDENTITY_KEYS = ("given_name", "family_name", "date_of_birth", "gender", "pnc", "cro", "nomis", "crn")
CASE_CRITERIA = ("mappa_category", "mappa_level")  # criteria that are also case fields


class NotFound(LookupError):
    """A person the referrer may not refer (absent or not visible: the same answer)."""


def criteria_of(panel: Panel) -> list[dict[str, Any]]:
    return list(panel.referral_criteria or [])


def clean_criteria(panel: Panel, given: dict[str, Any] | None) -> dict[str, Any]:
    """The answers to the panel's criteria, typed; Invalid naming every missing or bad one."""
    given = dict(given or {})
    out, problems = {}, []
    for c in criteria_of(panel):
        name, kind = c["name"], c.get("type", "bool")
        value = given.pop(name, None)
        if value in (None, ""):
            if c.get("required", kind != "bool"):
                problems.append(f"criteria.{name}")
            continue
        if kind == "bool":
            value = value if isinstance(value, bool) else str(value).lower() in ("true", "yes", "y", "1", "on")
        elif kind == "int":
            try:
                value = int(value)
            except (TypeError, ValueError):
                problems.append(f"criteria.{name} (a whole number)")
                continue
        elif kind == "choice":
            match = [x for x in c.get("choices", []) if str(x) == str(value)]
            if not match:
                problems.append(f"criteria.{name} (one of {', '.join(str(x) for x in c.get('choices', []))})")
                continue
            value = match[0]  # as declared: 3, not "3"
        elif kind == "text":
            value = str(value).strip()[:2000]
        out[name] = value
    if given:
        problems.append("unknown criteria: " + ", ".join(sorted(given)))
    if problems:
        raise Invalid("Missing or invalid: " + "; ".join(problems))
    return out


def _previous_referral(nominal_id: int, panel: Panel, on: dt.date) -> dt.date | None:
    """The last earlier referral of this person to this panel (the Referral log, else the case)."""
    last = db.session.execute(
        db.select(db.func.max(Referral.referred_on)).join(Case, Case.id == Referral.case_id)
        .where(Case.nominal_id == nominal_id, Referral.panel_id == panel.id, Referral.referred_on <= on)
    ).scalar()
    case_date = db.session.execute(
        db.select(Case.referral_date).filter_by(nominal_id=nominal_id, panel_id=panel.id)).scalar()
    return max((d for d in (last, case_date) if d is not None), default=None)


def _nominal(policy: Policy, panel: Panel, nominal_id: int | None, identity: dict | None) -> Nominal:
    if nominal_id is not None:
        nominal = db.session.get(Nominal, nominal_id)
        if nominal is None or nominal_id not in services.visible_nominal_ids([nominal_id], policy):
            raise NotFound("nominal_id: there is no person with that id whom you may refer")
        return nominal
    identity = {k: v for k, v in (identity or {}).items() if k in IDENTITY_KEYS and v not in (None, "")}
    if not (identity.get("given_name") or identity.get("family_name")):
        raise Invalid("Missing or invalid: nominal.given_name or nominal.family_name")
    if isinstance(identity.get("date_of_birth"), str):
        try:
            identity["date_of_birth"] = dt.date.fromisoformat(identity["date_of_birth"])
        except ValueError as exc:
            raise Invalid("Missing or invalid: nominal.date_of_birth (YYYY-MM-DD)") from exc
    services.require(policy, panel.id, "identity", "write")
    return services.create_nominal(**identity)


def _new_ref(panel: Panel) -> str:
    """The next free "<panel>-R<n>" (drawn only from how many referrals the panel has had)."""
    n = db.session.execute(db.select(db.func.count(Referral.id)).filter_by(panel_id=panel.id)).scalar() + 1
    while db.session.execute(db.select(Case.id).filter_by(panel_id=panel.id, ref=f"{panel.code}-R{n}")).first():
        n += 1
    return f"{panel.code}-R{n}"


def refer(panel: Panel, *, policy: Policy, reason: str, criteria: dict | None = None, nominal_id: int | None = None,
          nominal: dict | None = None) -> Referral:
    """Refer someone to the panel with its criteria; the case waits as "referred" for a decision."""
    if not policy.can(panel.id, "offending", "write"):
        raise Refused("Referring needs write access to offending information on this panel")
    reason = (reason or "").strip()
    answers = clean_criteria(panel, criteria)
    if not reason:
        raise Invalid("Missing or invalid: reason")
    person = _nominal(policy, panel, nominal_id, nominal)
    today = clock.today()
    previous = _previous_referral(person.id, panel, today)
    fields = {k: answers[k] for k in CASE_CRITERIA if isinstance(answers.get(k), int)}
    try:
        case = services.refer(person, panel, ref=_new_ref(panel), policy=policy, referral_date=today,
                              status="referred", **fields)
    except Refused as exc:  # a person the referrer may not see: as if absent
        raise NotFound("nominal_id: there is no person with that id whom you may refer") from exc
    referral = Referral(panel_id=panel.id, case_id=case.id, referred_on=today, status="awaiting_decision",
                        referred_by_id=policy.user.id if policy.user else None,
                        dash_score=answers.get("dash_score") if isinstance(answers.get("dash_score"), int) else None,
                        repeat_within_12m=previous is not None and (today - previous).days <= REPEAT_DAYS)
    referral.reason = reason
    referral.criteria = json.dumps(answers, sort_keys=True)
    db.session.add(referral)
    db.session.flush()
    audit.record("create", user=policy.user, panel=panel, nominal_id=person.id, case_id=case.id,
                 categories=["offending", "risk"], detail=f"referral {referral.id} to {panel.code}")
    return referral


def visible_high_risk(referral: Referral) -> bool:
    return referral.dash_score is not None and referral.dash_score >= DASH_HIGH_RISK


def decide(referral: Referral, *, decision: str, reason: str, policy: Policy) -> Referral:
    """Accept (the case becomes active), reject (the case is exited with the reason) or defer
    (it stays awaiting a decision, on the next agenda); a coordinator's call, with a reason."""
    panel = referral.panel
    if not is_coordinator(policy.user, panel, policy) or not policy.can(panel.id, "offending", "write"):
        raise Refused("Only the panel's coordinators with offending write may decide referrals")
    if referral.status not in ("awaiting_decision", "deferred"):
        raise Invalid(f"This referral was already {referral.status}")
    if decision not in DECISIONS:
        raise Invalid("decision: one of accept, reject, defer")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: give the reason for the decision")
    if len(reason) > 2000:
        raise Invalid("reason: 2,000 characters or fewer")
    case = db.session.get(Case, referral.case_id)
    if decision == "accept":
        case.status = "active"
        case.updated_by_id = policy.user.id
    elif decision == "reject":
        services.exit_case(case, reason=f"Referral not accepted: {reason}", policy=policy)
    referral.status = DECISIONS[decision]
    referral.decision_reason = reason
    referral.decided_at = clock.utcnow()
    referral.decided_by_id = policy.user.id
    db.session.flush()
    audit.record("change", user=policy.user, panel=panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["offending", "risk"], detail=f"referral {referral.id} {referral.status}")
    notifications.queue_referral_decided(referral, exclude=policy.user)
    return referral


def awaiting(panel_id: int) -> list[Referral]:
    return list(db.session.execute(
        db.select(Referral).where(Referral.panel_id == panel_id, Referral.status.in_(("awaiting_decision", "deferred")))
        .order_by(Referral.referred_on, Referral.id)).scalars())


def referral_view(referral: Referral, policy: Policy) -> dict[str, Any]:
    """A referral as this viewer may see it: criteria, DASH, repeat and reasons only with risk read."""
    risk = policy.can(referral.panel_id, "risk")
    raw = reveal(referral, "criteria", policy)
    return {
        "id": referral.id, "case_id": referral.case_id, "status": referral.status,
        "referred_on": referral.referred_on.isoformat(),
        **({"dash_score": referral.dash_score, "repeat_within_12m": referral.repeat_within_12m,
            "visible_high_risk": visible_high_risk(referral), "criteria": json.loads(raw) if raw else {},
            "reason": reveal(referral, "reason", policy),
            "decision_reason": reveal(referral, "decision_reason", policy)} if risk else {}),
    }
