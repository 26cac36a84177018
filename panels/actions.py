"""Actions carried forward between meetings: owners report status, the agenda brings back
what is outstanding, and the coordinator sees repeated non-completion.

An action's text, owner and status notes are offending information (cohort.models.Action):
reading them needs offending read on the case's panel; creating one needs offending write.
Its owner (the named user, or a user of the owning agency) may report its status with
offending read; anyone else needs offending write. Services flush; the request commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from auth.models import Agency, User
from cohort import services
from cohort.models import Action, Case
from cohort.services import Invalid, Refused
from core import clock
from core.extensions import db
from core.labels import label
from panels.models import ActionUpdate, Meeting
from sharing import audit
from sharing.gateway import reveal
from sharing.policy import Policy

UPDATE_STATUSES = ("done", "in_progress", "could_not", "not_done")
STATUS_LABELS = {k: label(k) for k in ("open", "done", "in_progress", "could_not", "not_done", "cancelled",
                                        "proposed")}  # words from the one label table (core.labels)
NOT_COMPLETED = ("could_not", "not_done")
FINISHED = ("done", "cancelled")


def create_action(case: Case, *, text: str, due: dt.date | None, policy: Policy, owner_email: str | None = None,
                  owner_agency: str | None = None) -> Action:
    """A new open action on the case, owned by a person (by email) or an agency (by code).
    A past due date is accepted (the page asks the user to confirm it first)."""
    if not policy.can(case.panel_id, "offending", "write"):
        raise Refused("Adding an action needs write access to offending information on this panel")
    if due is None:
        raise Invalid("due: enter the date the action is due")
    owner_user = None
    if owner_email:
        owner_user = db.session.execute(
            db.select(User).filter_by(email=owner_email.strip().lower(), active=True)).scalar_one_or_none()
        if owner_user is None or owner_user.is_system:
            raise Invalid("owner_email: no working account has that email address")
        agency_id = owner_user.agency_id
    elif owner_agency:
        agency = db.session.execute(db.select(Agency).filter_by(code=owner_agency)).scalar_one_or_none()
        if agency is None:
            raise Invalid("owner_agency: no agency has that code")
        agency_id = agency.id
    else:
        raise Invalid("Give owner_email (a person) or owner_agency (an agency code)")
    return services.add_action(case, description=text, owner_agency_id=agency_id,
                               owner_name=owner_user.name if owner_user else "", due=due, policy=policy,
                               owner_user_id=owner_user.id if owner_user else None)


def is_owner(action: Action, user) -> bool:
    if user is None:
        return False
    if action.owner_user_id is not None:
        return action.owner_user_id == user.id
    return action.owner_agency_id is not None and action.owner_agency_id == user.agency_id


def may_update(action: Action, policy: Policy) -> bool:
    panel_id = action.case.panel_id
    if policy.can(panel_id, "offending", "write"):
        return True
    return is_owner(action, policy.user) and policy.can(panel_id, "offending")


def update_status(action: Action, *, status: str, note: str | None, policy: Policy) -> ActionUpdate:
    """The owner's report: done, in progress, could not (with the reason) or not done."""
    if not may_update(action, policy):
        raise Refused("Only the action's owner, or an agency that may write offending information, may update it")
    if action.status in ("proposed", "cancelled"):
        raise Invalid(f"This action is {STATUS_LABELS[action.status].lower()}: its status cannot be reported")
    if status not in UPDATE_STATUSES:
        raise Invalid(f"status: one of {', '.join(UPDATE_STATUSES)}")
    note = (note or "").strip()
    if status == "could_not" and not note:
        raise Invalid("note: say why the action could not be done")
    if len(note) > 2000:
        raise Invalid("note: 2,000 characters or fewer")
    update = ActionUpdate(action_id=action.id, status=status, at=clock.utcnow(),
                          user_id=policy.user.id if policy.user else None)
    update.note = note or None
    db.session.add(update)
    action.status = status
    action.completed_on = clock.today() if status == "done" else None
    db.session.flush()
    case = action.case
    audit.record("change", user=policy.user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["offending"], detail=f"action {action.id} status: {status}")
    return update


@dataclass
class Carried:
    """An outstanding action as the coordinator sees it before a meeting."""

    action: Action
    agreed_on: dt.date | None
    meetings_since: int  # held meetings since it was agreed
    not_completed: int  # owner reports of "could not" or "not done"


def outstanding(panel_id: int, on: dt.date) -> list[Carried]:
    """Actions on the panel's live cases not done that are due by `on` or were agreed at an
    earlier meeting, oldest first, with how often they were carried and reported not done."""
    earlier = db.select(Meeting.id).where(Meeting.panel_id == panel_id, Meeting.date < on)
    actions = db.session.execute(
        db.select(Action).join(Case, Case.id == Action.case_id)
        .where(Case.panel_id == panel_id, Case.status != "exited", Action.status.not_in(FINISHED + ("proposed",)),
               (Action.due <= on) | Action.meeting_id.in_(earlier))
        .order_by(Action.due, Action.id)
    ).scalars().all()
    if not actions:
        return []
    ids = [a.id for a in actions]
    misses = dict(db.session.execute(
        db.select(ActionUpdate.action_id, db.func.count(ActionUpdate.id))
        .where(ActionUpdate.action_id.in_(ids), ActionUpdate.status.in_(NOT_COMPLETED))
        .group_by(ActionUpdate.action_id)).all())
    agreed = dict(db.session.execute(
        db.select(Meeting.id, Meeting.date).where(Meeting.id.in_({a.meeting_id for a in actions if a.meeting_id}))
    ).all())
    held = list(db.session.execute(
        db.select(Meeting.date).where(Meeting.panel_id == panel_id, Meeting.status == "closed", Meeting.date < on)
    ).scalars())
    out = []
    for a in actions:
        start = agreed.get(a.meeting_id) or clock.to_london(a.created_at).date()
        out.append(Carried(a, start, sum(1 for d in held if d > start), misses.get(a.id, 0)))
    return out


def updates(action: Action) -> list[ActionUpdate]:
    return list(db.session.execute(
        db.select(ActionUpdate).filter_by(action_id=action.id).order_by(ActionUpdate.at, ActionUpdate.id)).scalars())


def action_dict(action: Action, policy: Policy) -> dict:
    """The API's view of an action (the caller reads offending on its panel)."""
    history = updates(action)
    owner = db.session.get(User, action.owner_user_id) if action.owner_user_id else None
    return {
        "id": action.id, "case_id": action.case_id, "status": action.status,
        "due": action.due.isoformat() if action.due else None, "text": reveal(action, "description", policy),
        "owner_email": owner.email if owner else None,
        "owner_agency": action.owner_agency.code if action.owner_agency else None,
        "meeting_id": action.meeting_id,
        "completed_on": action.completed_on.isoformat() if action.completed_on else None,
        "not_completed": sum(1 for u in history if u.status in NOT_COMPLETED),
        "updates": [{"status": u.status, "at": u.at.isoformat() + "Z", "note": reveal(u, "note", policy,
                                                                                        action.case.panel_id)}
                    for u in history],
    }
