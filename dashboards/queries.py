"""The queries behind each dashboard count and its list, under the viewer's policy.

Each function returns the rows of one list; the dashboard shows `len()` of the very same
rows, so a count and the list it links to cannot disagree. Only categories the viewer may
read on a case's panel are looked at: an action is offending information, a RAG change
risk, a note its own category, identity gaps identity — a case whose withheld data changed
is counted by no one who may not see that data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_

from auth.models import Agency, User
from cohort.models import Action, Case, Engagement, Nominal, Note, RagChange
from core import clock
from core.extensions import db
from duplicates import candidates as dedupe
from panels import referrals
from panels.models import Attendance, Meeting, Panel, Referral
from panels.services import is_coordinator, upcoming_meetings, user_panels
from sharing.models import AccessEvent
from sharing.policy import Policy

LIVE_ACTION = ("open", "in_progress")
DUE_SOON_DAYS = 7
ACTION_FILTERS = ("overdue", "due", "all")
# problem code -> (the category it reads, what it means)
DATA_QUALITY: dict[str, tuple[str, str]] = {
    "no_rag": ("risk", "No RAG status"),
    "review_overdue": ("risk", "Review date passed"),
    "no_lead_agency": ("offending", "No lead agency"),
    "no_engagement": ("offending", "No engagement recorded"),
    "no_date_of_birth": ("identity", "No date of birth"),
    "no_identifier": ("identity", "No PNC, CRO, NOMIS or CRN"),
}


def panels_with(policy: Policy, category: str) -> list[int]:
    return [pid for pid in policy.panel_ids() if policy.can(pid, category)]


def _live_case():
    return Case.status != "exited"


# -- practitioner -------------------------------------------------------------------------------

def _mine(user: User):
    """An action is the user's when it names them, or names no one and their agency owns it."""
    return or_(Action.owner_user_id == user.id,
               and_(Action.owner_user_id.is_(None), Action.owner_agency_id == user.agency_id))


def my_actions(user: User, policy: Policy, when: str = "all", today: dt.date | None = None) -> list[Action]:
    today = today or clock.today()
    ids = panels_with(policy, "offending")
    if not ids:
        return []
    query = (db.select(Action).join(Case, Case.id == Action.case_id)
             .where(Case.panel_id.in_(ids), _live_case(), Action.status.in_(LIVE_ACTION), _mine(user)))
    if when == "overdue":
        query = query.where(Action.due < today)
    elif when == "due":
        query = query.where(Action.due >= today, Action.due <= today + dt.timedelta(days=DUE_SOON_DAYS))
    return list(db.session.execute(query.order_by(Action.due, Action.id)).scalars())


def my_cases(user: User, policy: Policy) -> list[Case]:
    """Live cases led by the user's agency, or with a live action that is the user's."""
    ids = panels_with(policy, "offending")
    if not ids:
        return []
    with_my_action = (db.select(Action.case_id).where(Action.status.in_(LIVE_ACTION), _mine(user)))
    query = (db.select(Case).where(Case.panel_id.in_(ids), _live_case(),
                                   or_(Case.lead_agency_id == user.agency_id, Case.id.in_(with_my_action)))
             .order_by(Case.panel_id, Case.ref, Case.id))
    return list(db.session.execute(query).unique().scalars())


@dataclass
class Changed:
    case: Case
    seen: dt.datetime | None
    what: list[str] = field(default_factory=list)


def _last_views(user: User, case_ids: list[int]) -> dict[int, dt.datetime]:
    """When the user last opened each case's page (the access log records every view)."""
    rows = db.session.execute(
        db.select(AccessEvent.case_id, func.max(AccessEvent.at))
        .where(AccessEvent.user_id == user.id, AccessEvent.action == "view", AccessEvent.case_id.in_(case_ids),
               AccessEvent.purpose.like("/cases/%"))
        .group_by(AccessEvent.case_id))
    return dict(rows.all())


def _latest(model, at, case_ids: list[int], user: User, *extra) -> dict[int, dt.datetime]:
    if not case_ids:
        return {}
    rows = db.session.execute(
        db.select(model.case_id, func.max(at))
        .where(model.case_id.in_(case_ids), or_(model.user_id.is_(None), model.user_id != user.id), *extra)
        .group_by(model.case_id))
    return dict(rows.all())


def changed_since_seen(user: User, policy: Policy) -> list[Changed]:
    """My cases where someone else recorded something I may read since I last opened the case."""
    cases = my_cases(user, policy)
    seen = _last_views(user, [c.id for c in cases])
    by_panel: dict[int, list[int]] = {}
    for c in cases:
        by_panel.setdefault(c.panel_id, []).append(c.id)

    def readable(category: str) -> list[int]:
        return [cid for pid, cids in by_panel.items() if policy.can(pid, category) for cid in cids]

    sources = [
        ("RAG changed", _latest(RagChange, RagChange.at, readable("risk"), user)),
        ("Actions changed", _latest(Action, Action.updated_at, readable("offending"), user)),
        ("Engagement recorded", _latest(Engagement, Engagement.created_at, readable("offending"), user)),
    ]
    notes: dict[int, dt.datetime] = {}
    for pid, cids in by_panel.items():
        categories = sorted(policy.readable(pid))
        for cid, at in _latest(Note, Note.at, cids, user, Note.category.in_(categories)).items():
            notes[cid] = max(at, notes.get(cid, at))
    sources.append(("Notes added", notes))
    out = []
    for c in cases:
        since = seen.get(c.id)
        what = [label for label, latest in sources if c.id in latest and (since is None or latest[c.id] > since)]
        if what:
            out.append(Changed(c, since, what))
    return out


# -- coordinator --------------------------------------------------------------------------------

def coordinated_panels(user: User, policy: Policy) -> list[Panel]:
    panels = db.session.execute(db.select(Panel).where(Panel.active.is_(True)).order_by(Panel.code)).scalars()
    return [p for p in panels if is_coordinator(user, p, policy)]


def referrals_to_decide(panel: Panel) -> list[Referral]:
    """Referrals awaiting a decision (or deferred) on the panel, as its agenda and referrals page count them."""
    return list(referrals.awaiting(panel.id))


def outstanding_by_agency(panel: Panel, policy: Policy) -> dict[str, int]:
    """Live actions on the panel per owning agency code (offending readers only)."""
    if not policy.can(panel.id, "offending"):
        return {}
    rows = db.session.execute(
        db.select(Agency.code, func.count()).select_from(Action).join(Case, Case.id == Action.case_id)
        .join(Agency, Agency.id == Action.owner_agency_id)
        .where(Case.panel_id == panel.id, _live_case(), Action.status.in_(LIVE_ACTION))
        .group_by(Agency.code).order_by(Agency.code))
    return dict(rows.all())


def outstanding_actions(panel: Panel, policy: Policy, agency: Agency) -> list[Action]:
    if not policy.can(panel.id, "offending"):
        return []
    return list(db.session.execute(
        db.select(Action).join(Case, Case.id == Action.case_id)
        .where(Case.panel_id == panel.id, _live_case(), Action.status.in_(LIVE_ACTION),
               Action.owner_agency_id == agency.id)
        .order_by(Action.due, Action.id)).scalars())


def next_meeting(panel: Panel, today: dt.date) -> Meeting | None:
    meetings = upcoming_meetings([panel.id], today, limit=1)
    return meetings[0] if meetings else None


def last_held(panel: Panel, today: dt.date) -> Meeting | None:
    return db.session.execute(
        db.select(Meeting).where(Meeting.panel_id == panel.id, Meeting.date <= today, Meeting.status == "closed")
        .order_by(Meeting.date.desc()).limit(1)).scalar()


def attendance_counts(meeting: Meeting) -> dict[str, int]:
    rows = db.session.execute(db.select(Attendance.status, func.count()).where(Attendance.meeting_id == meeting.id)
                              .group_by(Attendance.status))
    return dict(rows.all())


# -- analyst ----------------------------------------------------------------------------------

def duplicate_queue(policy: Policy) -> list:
    """The open duplicate candidates exactly as /duplicates lists them."""
    return dedupe.open_queue(policy)


def _problem(code: str, today: dt.date):
    return {
        "no_rag": Case.rag.is_(None),
        "review_overdue": Case.next_review < today,
        "no_lead_agency": Case.lead_agency_id.is_(None),
        "no_engagement": Case.last_engagement.is_(None),
        "no_date_of_birth": Nominal.date_of_birth_enc.is_(None),
        "no_identifier": and_(Nominal.pnc_enc.is_(None), Nominal.cro_enc.is_(None), Nominal.nomis_enc.is_(None),
                              Nominal.crn_enc.is_(None)),
    }[code]


def data_quality(panel: Panel, policy: Policy, code: str, today: dt.date | None = None) -> list[Case] | None:
    """Live cases on the panel with the problem; None when its category is withheld there."""
    category = DATA_QUALITY[code][0]
    if not policy.can(panel.id, category):
        return None
    query = (db.select(Case).join(Nominal, Nominal.id == Case.nominal_id)
             .where(Case.panel_id == panel.id, _live_case(), _problem(code, today or clock.today()))
             .order_by(Case.ref, Case.id))
    return list(db.session.execute(query).unique().scalars())


def analyst_panels(policy: Policy) -> list[Panel]:
    return user_panels(policy)
