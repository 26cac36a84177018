"""Every write to nominals and cases, with its history row and access-log row.

Services flush; the request (or command) commits once. Each checks the access policy
itself, so no caller can write around it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from cohort.models import (
    ACTION_STATUSES,
    CASE_STATUSES,
    COHORT_TYPES,
    NOTE_CATEGORIES,
    PATHWAYS,
    RAGS,
    RISK_LEVELS,
    Action,
    Case,
    CaseEvent,
    Engagement,
    Need,
    Nominal,
    Note,
    RagChange,
)
from core import clock
from core.extensions import db
from notifications import services as notifications
from panels.models import Panel
from sharing import audit
from sharing.blind_index import index_nominal
from sharing.gateway import case_version, unsealing
from sharing.policy import Policy


class Refused(Exception):
    """The policy does not allow this; the message names what is missing."""


class Invalid(ValueError):
    """Input that cannot be accepted (API 422, form error)."""


class StaleVersion(Exception):
    """The case changed since the caller read it (API 409, conflict page)."""

    def __init__(self, case: Case, expected: int | None, current: int | None = None):
        # `current`: the version as the caller sees it (sharing.gateway.case_version)
        self.current = case.version if current is None else current
        super().__init__(f"case {case.id} is at version {self.current}, not {expected}")
        self.case = case
        self.expected = expected


def require(policy: Policy, panel_id: int, category: str, action: str = "write") -> None:
    if not policy.can(panel_id, category, action):
        raise Refused(f"{category} {action} not granted to {policy.user.agency.code if policy.user else 'you'}")


# -- who a user may join or find -----------------------------------------------------------
#
# The one definition, used by every path that finds a recorded person by identifier or joins
# one (the import, `flask cohort import`, the referral search and duplicate warning, refer()):
# a person is VISIBLE to a user when they have a case -- live or exited -- on a panel where
# the user's agency takes part and may read `identity` under an agreement in force (Policy).
# Exited cases count: the panel's agencies can still open them, so joining reveals nothing
# they cannot already read, and an exited person back on the panel's list must be re-referred,
# not recorded twice. Anyone else is treated as if nobody held the identifier: the duplicate
# check, under the analyst's policy, finds the pair later.

def identity_panel_ids(policy: Policy) -> list[int]:
    """Panels where the user's agency may read identity today."""
    return [pid for pid in policy.panel_ids() if policy.can(pid, "identity")]


def visible_nominals(policy: Policy):
    """A select of the ids of every person visible to the user (for `Nominal.id.in_(...)`)."""
    panels = identity_panel_ids(policy) or [-1]  # -1: no panel, so nobody (never an empty IN)
    return db.select(Case.nominal_id).where(Case.panel_id.in_(panels))


def visible_nominal_ids(nominal_ids: set[int] | list[int], policy: Policy) -> set[int]:
    """Of these people, those visible to the user (see above)."""
    wanted = sorted(set(nominal_ids))
    panels = identity_panel_ids(policy)
    if not wanted or not panels:
        return set()
    found: set[int] = set()
    for start in range(0, len(wanted), 900):  # SQLite's limit on bound parameters, with room
        found.update(db.session.execute(
            db.select(Case.nominal_id).where(Case.nominal_id.in_(wanted[start:start + 900]),
                                             Case.panel_id.in_(panels))
        ).scalars())
    return found


def _may_join(nominal: Nominal, policy: Policy) -> bool:
    """Refer an existing person: visible to the user, or not yet on any panel (just created)."""
    if nominal.id in visible_nominal_ids([nominal.id], policy):
        return True
    return db.session.execute(db.select(Case.id).filter_by(nominal_id=nominal.id).limit(1)).first() is None


def create_nominal(**identity: Any) -> Nominal:
    """A new person; identity and contact encrypted, blind indexes computed."""
    nominal = Nominal()
    for field, value in identity.items():
        setattr(nominal, field, value)
    index_nominal(nominal)
    db.session.add(nominal)
    db.session.flush()
    return nominal


def add_event(case: Case, kind: str, user, detail: str = "") -> CaseEvent:
    event = CaseEvent(case_id=case.id, at=clock.utcnow(), user_id=user.id if user else None, kind=kind)
    event.detail = detail or None
    db.session.add(event)
    return event


def change_rag(
    case: Case,
    *,
    to: str,
    rationale: str,
    policy: Policy,
    expected_version: int | None = None,
    source: str = "manual",
    meeting_id: int | None = None,
) -> RagChange:
    """Change a case's RAG with a rationale; refuse stale versions; record history and log."""
    to = (to or "").strip().lower()
    rationale = (rationale or "").strip()
    if to not in RAGS:
        raise Invalid("RAG must be red, amber or green")
    if not rationale:
        raise Invalid("Give a rationale for the RAG change")
    if len(rationale) > 5000:
        raise Invalid("Rationale must be 5,000 characters or fewer")
    require(policy, case.panel_id, "risk")
    _check_version(case, expected_version, policy)
    user = policy.user
    change = RagChange(
        case_id=case.id, at=clock.utcnow(), user_id=user.id if user else None, from_rag=case.rag, to_rag=to,
        source=source, meeting_id=meeting_id,
    )
    change.rationale = rationale
    db.session.add(change)
    case.rag = to
    case.updated_by_id = user.id if user else None
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        fresh = db.session.get(Case, case.id)
        raise StaleVersion(fresh, expected_version, case_version(fresh, policy)) from exc
    audit.record("change", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["risk"], detail=f"RAG {change.from_rag or 'none'} -> {to} ({source})")
    return change


def first_review(case: Case, panel: Panel) -> dt.date:
    """A case's first review: one of the panel's intervals (by MAPPA level, else RAG) after its
    referral. The one rule for a referral, a re-referral and a case an import brings."""
    return case.referral_date + dt.timedelta(days=panel.interval_for(case.rag, case.mappa_level, case.mappa_category))


def refer_again(case: Case, panel: Panel, *, status: str, referral_date: dt.date) -> None:
    """An exited case back on the panel (a referral, or the panel's list imported again): live
    from `referral_date`, its exit cleared, its first review set again. Events and the log are
    the caller's (one each, or in bulk)."""
    case.status, case.referral_date = status, referral_date
    case.next_review = first_review(case, panel)
    case.exited_on = case.exit_reason = None


def refer(
    nominal: Nominal,
    panel,
    *,
    ref: str,
    policy: Policy,
    referral_date: dt.date | None = None,
    status: str = "referred",
    **fields: Any,
) -> Case:
    """Put a nominal on a panel (a new case), or re-refer an exited case."""
    require(policy, panel.id, "offending")
    user = policy.user
    existing = db.session.execute(
        db.select(Case).filter_by(nominal_id=nominal.id, panel_id=panel.id)
    ).scalars().first()
    if existing is None and not _may_join(nominal, policy):
        # Callers find people through visible_nominals(); one passing anyone else is a bug.
        raise Refused("that person is not recorded on a panel where you may read identity")
    if existing is not None and existing.status != "exited":
        raise Invalid(f"This nominal is already on the {panel.code} panel")
    if existing is not None:
        refer_again(existing, panel, status=status, referral_date=referral_date or clock.today())
        add_event(existing, "re-referred", user)
        db.session.flush()
        audit.record("change", user=user, panel=panel, nominal_id=nominal.id, case_id=existing.id,
                     categories=["offending"], detail="re-referred")
        return existing
    case = Case(
        nominal_id=nominal.id, panel_id=panel.id, ref=ref, status=status,
        referral_date=referral_date or clock.today(), referring_agency_id=user.agency_id if user else None,
    )
    for field, value in fields.items():
        setattr(case, field, value)
    if case.next_review is None:
        case.next_review = first_review(case, panel)
    db.session.add(case)
    db.session.flush()
    add_event(case, "referred", user)
    audit.record("create", user=user, panel=panel, nominal_id=nominal.id, case_id=case.id,
                 categories=["offending"], detail="referred")
    return case


def exit_case(case: Case, *, reason: str, policy: Policy, expected_version: int | None = None,
              on: dt.date | None = None) -> None:
    """Exit the case on `on` (default today); its retention period runs from that date."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Give a reason for the exit")
    on = on or clock.today()
    if on > clock.today():
        raise Invalid("The exit date cannot be in the future")
    if case.referral_date is not None and on < case.referral_date:
        raise Invalid("The exit date cannot be before the referral date")
    require(policy, case.panel_id, "offending")
    _check_version(case, expected_version, policy)
    case.status = "exited"
    case.exit_reason = reason
    case.exited_on = on
    case.updated_by_id = policy.user.id
    add_event(case, "exited", policy.user, reason)
    db.session.flush()
    audit.record("change", user=policy.user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["offending"], detail="exited")


# -- engagement, needs, actions, notes, case details ------------------------------------

ENGAGEMENT_KINDS = ("contact", "home_visit", "office_visit", "phone", "attempted", "other")
NEED_LEVELS = ("need", "no_need", "met")
MAX_TEXT = 5000


def _text(value: str | None, what: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"Enter {what}")
    if len(value) > MAX_TEXT:
        raise Invalid(f"{what[0].upper()}{what[1:]} must be 5,000 characters or fewer")
    return value


def _check_version(case: Case, expected_version: int | None, policy: Policy) -> None:
    """Stale only if what the caller may read has changed since (gateway.case_version)."""
    current = case_version(case, policy)
    if expected_version is not None and expected_version != current:
        raise StaleVersion(case, expected_version, current)


def _touch(case: Case, user) -> None:
    """Mark the case changed: a new version and updated_at, so trackers and forms notice."""
    case.updated_at = clock.utcnow()
    case.updated_by_id = user.id if user else None


def _flush(case: Case, expected_version: int | None, policy: Policy | None = None) -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        fresh = db.session.get(Case, case.id)
        raise StaleVersion(fresh, expected_version, case_version(fresh, policy) if policy else None) from exc


def add_engagement(case: Case, *, on: dt.date, kind: str, note: str, policy: Policy) -> Engagement:
    """Log contact with the nominal; the case's last engagement moves forward, never back."""
    require(policy, case.panel_id, "offending")
    if kind not in ENGAGEMENT_KINDS:
        raise Invalid("Choose what kind of engagement it was")
    if on is None:
        raise Invalid("Enter the date of the engagement")
    if on > clock.today():
        raise Invalid("The date of the engagement must be today or in the past")
    note = _text(note, "a note", required=False)
    user = policy.user
    row = Engagement(case_id=case.id, on=on, kind=kind, user_id=user.id if user else None, created_at=clock.utcnow())
    row.note = note or None
    db.session.add(row)
    if kind != "attempted" and (case.last_engagement is None or on > case.last_engagement):
        case.last_engagement = on
    _touch(case, user)
    _flush(case, None)
    audit.record("change", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["offending"], detail=f"engagement {kind} on {on.isoformat()}")
    return row


def set_need(
    case: Case, *, pathway: str, level: str, note: str, policy: Policy, expected_version: int | None = None
) -> Need:
    """Record the need on one resettlement pathway (its category follows the pathway)."""
    if pathway not in PATHWAYS:
        raise Invalid("Choose a pathway")
    if level not in NEED_LEVELS:
        raise Invalid("Choose whether there is a need")
    require(policy, case.panel_id, PATHWAYS[pathway][1])
    _check_version(case, expected_version, policy)
    note = _text(note, "a note", required=False)
    user = policy.user
    need = db.session.execute(db.select(Need).filter_by(case_id=case.id, pathway=pathway)).scalar_one_or_none()
    if need is None:
        need = Need(case_id=case.id, pathway=pathway, level=level, updated_at=clock.utcnow())
        db.session.add(need)
    need.level = level
    need.note = note or None
    need.updated_at = clock.utcnow()
    need.user_id = user.id if user else None
    _touch(case, user)
    _flush(case, expected_version, policy)
    audit.record("change", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=[PATHWAYS[pathway][1]], detail=f"need {pathway}: {level}")
    return need


def add_action(
    case: Case, *, description: str, owner_agency_id: int | None, owner_name: str, due: dt.date | None,
    policy: Policy, meeting_id: int | None = None, owner_user_id: int | None = None,
) -> Action:
    require(policy, case.panel_id, "offending")
    description = _text(description, "what needs to be done")
    owner_name = _text(owner_name, "the owner's name", required=False)
    if owner_agency_id is None and not owner_name:
        raise Invalid("Choose the agency that owns the action")
    user = policy.user
    action = Action(case_id=case.id, owner_agency_id=owner_agency_id, due=due, status="open",
                    user_id=user.id if user else None, meeting_id=meeting_id, owner_user_id=owner_user_id)
    action.description = description
    action.owner_name = owner_name or None
    db.session.add(action)
    db.session.flush()
    audit.record("change", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["offending"], detail=f"action {action.id} added")
    notifications.queue_for_action(action, "action_assigned", key=f"action:{action.id}", exclude=user)
    return action


def set_action_status(action: Action, *, status: str, policy: Policy) -> Action:
    case = action.case
    require(policy, case.panel_id, "offending")
    if status not in ACTION_STATUSES:
        raise Invalid("Choose a status for the action")
    action.status = status
    action.completed_on = clock.today() if status == "done" else None
    db.session.flush()
    audit.record("change", user=policy.user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["offending"], detail=f"action {action.id} {status}")
    return action


def add_note(case: Case, *, category: str, body: str, policy: Policy) -> Note:
    """A note encrypted under its own category: only agencies that may read it ever see it."""
    if category not in NOTE_CATEGORIES:
        raise Invalid("Choose what kind of information the note holds")
    require(policy, case.panel_id, category)
    body = _text(body, "the note")
    user = policy.user
    note = Note(case_id=case.id, category=category, at=clock.utcnow(), user_id=user.id if user else None)
    note.body = body
    db.session.add(note)
    db.session.flush()
    audit.record("change", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=[category], detail=f"note {note.id} added")
    return note


# field -> (category, allowed values or None for free text/dates)
CASE_FIELDS: dict[str, tuple[str, tuple | None]] = {
    "status": ("offending", tuple(s for s in CASE_STATUSES if s != "exited")),
    "lead_agency_id": ("offending", None),
    "lead_officer": ("offending", None),
    "order_end_date": ("offending", None),
    "cohort_type": ("offending", COHORT_TYPES),
    "mappa_category": ("offending", (1, 2, 3, 4)),
    "risk_level": ("risk", RISK_LEVELS),
    "mappa_level": ("risk", (1, 2, 3)),
    "next_review": ("risk", None),
    "accommodation": ("resettlement", None),
    "employment": ("resettlement", None),
}


@unsealing("comparing the fields the user may write with what is held")
def update_case(case: Case, *, changes: dict[str, Any], policy: Policy, expected_version: int | None) -> list[str]:
    """Edit case details; every field needs write on its category. Returns the fields changed."""
    unknown = [f for f in changes if f not in CASE_FIELDS]
    if unknown:
        raise Invalid(f"Unknown field: {', '.join(sorted(unknown))}")
    for field_name in changes:
        require(policy, case.panel_id, CASE_FIELDS[field_name][0])
    _check_version(case, expected_version, policy)
    changed = []
    for field_name, value in changes.items():
        if value == "":
            value = None
        allowed = CASE_FIELDS[field_name][1]
        if value is not None and allowed is not None and value not in allowed:
            raise Invalid(f"{field_name.replace('_', ' ').capitalize()} is not one of the allowed values")
        if isinstance(value, str) and len(value) > 500:
            raise Invalid(f"{field_name.replace('_', ' ').capitalize()} must be 500 characters or fewer")
        if field_name == "status" and case.status == "exited":
            raise Invalid("Re-refer an exited case instead of changing its status")
        if getattr(case, field_name) != value:
            setattr(case, field_name, value)
            changed.append(field_name)
    if not changed:
        return []
    user = policy.user
    _touch(case, user)
    add_event(case, "updated", user, "changed " + ", ".join(f.replace("_id", "").replace("_", " ") for f in changed))
    _flush(case, expected_version, policy)
    audit.record("change", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=sorted({CASE_FIELDS[f][0] for f in changed}), detail="changed " + ", ".join(changed))
    return changed


def refer_new_nominal(panel, *, identity: dict[str, Any], ref: str, policy: Policy, **fields: Any) -> Case:
    """Create a person and refer them in one step; identity (and contact) writes are checked first."""
    require(policy, panel.id, "offending")
    require(policy, panel.id, "identity")
    if identity.get("address") or identity.get("postcode"):
        require(policy, panel.id, "contact")
    if not (identity.get("given_name") or identity.get("family_name")):
        raise Invalid("Enter the person's name")
    nominal = create_nominal(**identity)
    return refer(nominal, panel, ref=ref, policy=policy, **fields)
