"""The meeting itself: attendance, outcomes per item, actions, minutes, and closing.

Outcomes are recorded on the agenda items during the meeting and land on the cases only
when the coordinator closes it, in one transaction: RAG decisions through
cohort.services.change_rag (so the case's history shows them), reviews, and actions.
Actions agreed at the meeting wait as "proposed" until then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Date, bindparam

from auth.models import Agency, User
from cohort.models import RAGS, Action, Case
from cohort.services import Invalid, Refused, change_rag
from core import clock
from core.extensions import db
from notifications import services as notifications
from panels import inclusion
from panels.agenda import ORDER_CATEGORIES, generate_agenda, review_interval
from panels.models import ATTENDANCE, AgendaItem, Attendance, Attendee, Meeting
from sharing import audit
from sharing.gateway import MINUTES_CATEGORY, agreements_in_force, unsealed
from sharing.models import Isa, IsaGrant, isa_panels
from sharing.policy import Policy

PROPOSED = "proposed"
ATTENDED = ("present", "by_report")


class MeetingStateError(ValueError):
    """Something the meeting's state does not allow; `problems` lists each one."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]


def _open(meeting: Meeting) -> None:
    if meeting.status == "closed":
        raise MeetingStateError("This meeting is closed; its record can no longer be changed")
    if meeting.status == "cancelled":
        raise MeetingStateError("This meeting was cancelled")


def panel_agencies(panel_id: int, on: dt.date | None = None) -> list[Agency]:
    """Agencies that take part in the panel under an agreement in force (for attendance)."""
    on = on or clock.today()
    ids = db.select(IsaGrant.agency_id).join(Isa, Isa.id == IsaGrant.isa_id).join(
        isa_panels, isa_panels.c.isa_id == Isa.id
    ).where(isa_panels.c.panel_id == panel_id, agreements_in_force(on))
    return list(db.session.execute(db.select(Agency).where(Agency.id.in_(ids)).order_by(Agency.name)).scalars())


_AGENCY_CHOICES = db.select(Agency.id, Agency.name).where(Agency.id.in_(
    db.select(IsaGrant.agency_id).join(Isa, Isa.id == IsaGrant.isa_id).join(isa_panels, isa_panels.c.isa_id == Isa.id)
    .where(isa_panels.c.panel_id == bindparam("panel_id"), agreements_in_force(bindparam("on", type_=Date)))
)).order_by(Agency.name)
_ITEM_ACTIONS = db.select(Action).where(Action.meeting_id == bindparam("meeting_id"),
                                        Action.case_id == bindparam("case_id")).order_by(Action.id)


def panel_agency_choices(panel_id: int, on: dt.date) -> list[tuple[int, str]]:
    """(id, name) of panel_agencies, by name: the action owner's choices, drawn at every
    meeting-mode save, so plain columns from a statement built once."""
    return [(r.id, r.name) for r in db.session.execute(_AGENCY_CHOICES, {"panel_id": panel_id, "on": on})]


def record_attendance(meeting: Meeting, statuses: dict[int, str | None], user) -> None:
    """Set each agency's attendance (present / by report / apologies / absent)."""
    _open(meeting)
    have = {a.agency_id: a for a in meeting.attendance}
    for agency_id, status in statuses.items():
        if not status:
            if agency_id in have:
                meeting.attendance.remove(have[agency_id])
            continue
        if status not in ATTENDANCE:
            raise Invalid(f"Attendance must be one of {', '.join(ATTENDANCE)}")
        if agency_id in have:
            have[agency_id].status = status
        else:
            meeting.attendance.append(Attendance(agency_id=agency_id, status=status))
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel, detail=f"attendance recorded for meeting {meeting.id}")


CONFIDENTIALITY_STATEMENT = (
    "The information shared at this meeting is confidential. It is shared only to manage the risk people pose "
    "and face, under the panel's information-sharing agreement. It must not be recorded, copied or passed on "
    "outside this meeting except as the agreement allows, and never used for any other purpose."
)


def add_attendee(meeting: Meeting, *, agency_id: int, name: str, role: str, acknowledged: bool, user) -> Attendee:
    """A named attendee for an agency taking part, who has acknowledged the confidentiality statement."""
    _open(meeting)
    if agency_id not in {a.id for a in panel_agencies(meeting.panel_id, meeting.date)}:
        raise Invalid("Choose an agency that takes part in this panel")
    name, role = (name or "").strip(), (role or "").strip()
    if not name:
        raise Invalid("Enter the attendee's name")
    if len(name) > 200 or len(role) > 200:
        raise Invalid("Name and role must be 200 characters or fewer")
    if not acknowledged:
        raise Invalid("The attendee must acknowledge the confidentiality statement")
    attendee = Attendee(meeting_id=meeting.id, agency_id=agency_id, name=name, role=role,
                        acknowledged_at=clock.utcnow())
    meeting.attendees.append(attendee)
    if not any(a.agency_id == agency_id for a in meeting.attendance):
        meeting.attendance.append(Attendance(agency_id=agency_id, status="present"))
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel, detail=f"attendee added to meeting {meeting.id}")
    return attendee


def needs_disclosure(case: Case) -> bool:
    """MAPPA level 2 and 3 items need a recorded disclosure decision."""
    return case.mappa_level in (2, 3)


def default_next_review(meeting: Meeting, case: Case, rag: str | None = None) -> dt.date:
    """The meeting's date plus the panel's interval for the case (its decided RAG, if any)."""
    days = review_interval(meeting.panel, case.mappa_level, case.mappa_category, rag or case.rag)
    return meeting.date + dt.timedelta(days=days)


def record_outcome(
    meeting: Meeting,
    item: AgendaItem,
    *,
    user,
    rag: str | None,
    rationale: str | None,
    next_review: dt.date | None,
    disclosure_considered: bool | None = None,
    disclosure_decision: str | None = None,
    disclosure_reason: str | None = None,
    policy: Policy | None = None,
) -> AgendaItem:
    """Record the panel's decision on one item; applied to the case when the meeting closes.

    A RAG decision, rationale, next review or disclosure decision is risk data: recording
    one needs risk write on the panel, and it is credited to the recorder, not the closer.
    Without it the item can only be marked discussed.
    """
    _open(meeting)
    policy = policy or Policy(user)
    risky = any(v not in (None, "") for v in (rag, rationale, next_review, disclosure_considered,
                                               disclosure_decision, disclosure_reason))
    if risky and not policy.can(meeting.panel_id, "risk", "write"):
        raise Refused("Your agency may not record RAG, review or disclosure decisions on this panel")
    if not risky:  # marked discussed only: a decision someone else recorded stays as it was
        item.discussed = True
        item.outcome_version += 1
        db.session.flush()
        audit.record("change", user=user, panel=meeting.panel, nominal_id=item.case.nominal_id,
                     case_id=item.case_id, categories=[], detail=f"item discussed at meeting {meeting.id}")
        return item
    rag = (rag or "").strip().lower() or None
    rationale = (rationale or "").strip()
    if rag is not None and rag not in RAGS:
        raise Invalid("RAG decision must be red, amber or green")
    if rag and not rationale:
        raise Invalid("Give the rationale for the RAG decision")
    if len(rationale) > 5000:
        raise Invalid("Rationale must be 5,000 characters or fewer")
    if disclosure_considered and not (disclosure_decision or "").strip():
        raise Invalid("Enter the disclosure decision")
    item.rag_decision = rag
    item.rationale = rationale or None
    item.next_review = next_review or default_next_review(meeting, item.case, rag)
    item.disclosure_considered = disclosure_considered
    item.disclosure_decision = (disclosure_decision or "").strip() or None
    item.disclosure_reason = (disclosure_reason or "").strip() or None
    item.discussed = True
    item.decided_by_id = user.id if user else None
    item.outcome_version += 1
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel, nominal_id=item.case.nominal_id, case_id=item.case_id,
                 categories=["risk"], detail=f"outcome recorded at meeting {meeting.id}")
    return item


def propose_action(
    meeting: Meeting, item: AgendaItem, *, user, description: str, owner_agency_id: int | None,
    owner_name: str | None, due: dt.date | None, policy: Policy | None = None,
) -> Action:
    """An action agreed at the meeting; it becomes open when the meeting closes.

    An action's description and owner are offending information (cohort.models.Action):
    writing one needs offending write on the panel.
    """
    _open(meeting)
    if not (policy or Policy(user)).can(meeting.panel_id, "offending", "write"):
        raise Refused("Your agency may not record actions (offending information) on this panel")
    description = (description or "").strip()
    if not description:
        raise Invalid("Describe the action")
    if len(description) > 2000:
        raise Invalid("Action must be 2,000 characters or fewer")
    if due is None:
        raise Invalid("Enter the date the action is due")
    action = Action(case_id=item.case_id, meeting_id=meeting.id, owner_agency_id=owner_agency_id, due=due,
                    status=PROPOSED, user_id=user.id)
    action.description = description
    action.owner_name = (owner_name or "").strip() or None
    db.session.add(action)
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel, nominal_id=item.case.nominal_id, case_id=item.case_id,
                 categories=["offending"], detail=f"action agreed at meeting {meeting.id}")
    return action


def meeting_actions(meeting: Meeting) -> dict[int, list[Action]]:
    out: dict[int, list[Action]] = {}
    for action in db.session.execute(
        db.select(Action).where(Action.meeting_id == meeting.id).order_by(Action.id)
    ).scalars():
        out.setdefault(action.case_id, []).append(action)
    return out


def item_actions(meeting: Meeting, case_id: int) -> list[Action]:
    """The actions agreed at this meeting on one case (meeting mode draws them at every save)."""
    return list(db.session.execute(_ITEM_ACTIONS, {"meeting_id": meeting.id, "case_id": case_id}).unique().scalars())


def save_minutes(meeting: Meeting, text: str, user) -> None:
    """Minutes discuss the cases: writing them needs write on gateway.MINUTES_CATEGORY
    (the caller checks the writer is one of the panel's coordinators)."""
    if not Policy(user).can(meeting.panel_id, MINUTES_CATEGORY, "write"):
        raise Refused(f"Your agency may not write {MINUTES_CATEGORY} information on this panel")
    if meeting.status == "cancelled":
        raise MeetingStateError("This meeting was cancelled")
    if len(text or "") > 100_000:
        raise Invalid("Minutes must be 100,000 characters or fewer")
    meeting.minutes = (text or "").strip() or None
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel, detail=f"minutes saved for meeting {meeting.id}")


SUMMARY_MAX = 5000


def save_summary(meeting: Meeting, text: str, user) -> None:
    """The executive summary is written to be shared with every agency taking part (the
    caller checks the writer is one of the panel's coordinators); the page asks that it name
    nobody. Unlike the minutes, it may be edited after the meeting closed."""
    if meeting.status == "cancelled":
        raise MeetingStateError("This meeting was cancelled")
    text = (text or "").strip()
    if not text:
        raise Invalid("Enter the executive summary")
    if len(text) > SUMMARY_MAX:
        raise Invalid(f"Executive summary must be {SUMMARY_MAX:,} characters or fewer")
    meeting.summary = text
    meeting.summary_updated_at = clock.utcnow()
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel, categories=[],
                 detail=f"executive summary saved for meeting {meeting.id}")


@dataclass
class ExecutiveSummary:
    """The shareable summary of a sitting: the coordinator's text and counts, nothing about
    any one nominal. A count drawn from a category is None where the viewer may not read it
    (so the page is the same whatever that category holds)."""

    text: str | None
    updated_at: dt.datetime | None
    items: int
    agencies_present: list[str]
    apologies: int
    attendees: int
    for_discussion: int | None = None
    for_information: int | None = None
    discussed: int | None = None
    rag_decisions: dict[str, int] | None = None
    disclosure_considered: int | None = None
    actions_agreed: int | None = None


def summary_text(meeting: Meeting) -> str | None:
    """The executive summary's text: written to be shared with every agency taking part, so
    anyone shown the meeting may read it (the coordinator edits it; the print shows it)."""
    with unsealed("the executive summary, written to be shared with every agency taking part"):
        return meeting.summary


def executive_summary(meeting: Meeting, policy: Policy) -> ExecutiveSummary:
    """What every agency taking part may be shown of the meeting. Which items are for
    discussion follows RAG and offending dates (agenda.ORDER_CATEGORIES), so those counts need
    both; RAG and disclosure counts need risk; the actions count needs offending."""
    text = summary_text(meeting)
    present = sorted(a.agency.name for a in meeting.attendance if a.status in ATTENDED)
    out = ExecutiveSummary(text=text, updated_at=meeting.summary_updated_at, items=len(meeting.items),
                           agencies_present=present, attendees=len(meeting.attendees),
                           apologies=sum(1 for a in meeting.attendance if a.status == "apologies"))
    pid = meeting.panel_id
    if all(policy.can(pid, c) for c in ORDER_CATEGORIES):
        out.for_discussion = sum(1 for i in meeting.items if i.for_discussion)
        out.for_information = out.items - out.for_discussion
        out.discussed = sum(1 for i in meeting.items if i.discussed)
    if policy.can(pid, "risk"):
        out.rag_decisions = {rag: sum(1 for i in meeting.items if i.discussed and i.rag_decision == rag)
                             for rag in RAGS}
        out.disclosure_considered = sum(1 for i in meeting.items if i.disclosure_considered)
    if policy.can(pid, "offending"):
        out.actions_agreed = db.session.execute(
            db.select(db.func.count(Action.id)).where(Action.meeting_id == meeting.id)).scalar_one()
    return out


def _decider(item: AgendaItem, closer: Policy) -> Policy:
    """The policy a decision lands with: its recorder's (today's grants), else the closer's."""
    if item.decided_by_id is None or (closer.user is not None and closer.user.id == item.decided_by_id):
        return closer

    return Policy(db.session.get(User, item.decided_by_id))


@dataclass
class CloseResult:
    """What closing did: truthy when this call closed the meeting; `not_applied` lists the
    items (by case reference) whose decision was left off the case because its recorder may
    no longer record risk decisions on the panel."""

    closed: bool
    not_applied: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.closed


def may_close(meeting: Meeting, policy: Policy) -> bool:
    """Closing writes reviews to the cases and checks MAPPA-level disclosure decisions (both
    risk data), so it needs risk write: a closer who may not read risk would otherwise learn
    it from whether, and why, the meeting refuses to close."""
    return policy.can(meeting.panel_id, "risk", "write")


def close_problems(meeting: Meeting, policy: Policy) -> list[str]:
    """Everything that stops the meeting closing, one line per item (the closer reads risk)."""
    problems = []
    for item in meeting.items:
        if not (item.for_discussion or item.discussed):
            continue  # listed for information only: not discussed, so no disclosure decision to record
        case = item.case
        label = case.ref  # not the position: for some viewers that follows withheld RAG
        if needs_disclosure(case):
            with unsealed("whether a disclosure decision was recorded"):
                decided = bool(item.disclosure_decision)
            if item.disclosure_considered is None:
                problems.append(f"{label}: record whether disclosure was considered (MAPPA level {case.mappa_level})")
            elif item.disclosure_considered and not decided:
                problems.append(f"{label}: record the disclosure decision")
    return problems


class TooEarly(MeetingStateError):
    """Closing before the meeting has sat (the API answers 409)."""


class Undecided(MeetingStateError):
    """Items for discussion without an outcome; closing needs the coordinator's confirmation."""


REOPEN_DAYS = 7


def sat_at(meeting: Meeting) -> dt.datetime:
    """When the meeting sat, as a naive UTC time: the date its decisions carry."""
    hours, minutes = (int(x) for x in (meeting.time or "10:00").split(":"))
    local = dt.datetime.combine(meeting.date, dt.time(hours, minutes), tzinfo=clock.LONDON)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def undecided_items(meeting: Meeting) -> list[AgendaItem]:
    """Items for discussion with no outcome recorded (not even "discussed")."""
    return [i for i in sorted(meeting.items, key=lambda x: x.position) if i.for_discussion and not i.discussed]


def _apply(meeting: Meeting, item: AgendaItem, decider: Policy, closer: Policy) -> None:
    """One discussed item's decision and review onto its case, as its recorder, dated when
    the meeting sat."""
    case = item.case
    if item.rag_decision:
        try:
            with unsealed("a decision applied with its recorder's grants"):
                rationale = item.rationale or ""
            change = change_rag(case, to=item.rag_decision, rationale=rationale, policy=decider,
                                source="meeting", meeting_id=meeting.id)
            change.at = sat_at(meeting)
        except Refused as exc:
            raise MeetingStateError(f"{case.ref}: {exc}") from exc
    case.last_reviewed = meeting.date
    case.next_review = item.next_review or default_next_review(meeting, case, item.rag_decision)
    case.updated_by_id = decider.user.id if decider.user else closer.user.id
    item.applied_version = item.outcome_version


def _check_closable(meeting: Meeting, policy: Policy, confirm: bool) -> None:
    if meeting.status == "cancelled":
        raise MeetingStateError("A cancelled meeting cannot be closed")
    if not may_close(meeting, policy):
        raise Refused("Your agency may not record risk decisions on this panel, so cannot close its meetings")
    if meeting.date > clock.today():
        raise TooEarly(f"This meeting sits on {meeting.date.strftime('%-d %B %Y')}: it cannot be closed before then")
    if meeting.agenda_generated_at is None:
        generate_agenda(meeting)
    problems = close_problems(meeting, policy)
    if problems:
        raise MeetingStateError("The meeting cannot be closed yet", problems)
    undecided = undecided_items(meeting)
    if undecided and not confirm:
        raise Undecided(f"{len(undecided)} item(s) for discussion have no outcome",
                        [f"{i.case.ref}: no outcome recorded" for i in undecided])


def close_meeting(meeting: Meeting, policy: Policy, *, confirm: bool = False) -> CloseResult:
    """Apply every changed outcome to the cases, each as its recorder, and close.

    Falsy when it was already closed. Refused before the meeting's date (TooEarly) and, while
    items for discussion have no outcome, unless `confirm` (Undecided names them). Needs risk
    write (may_close). Only outcomes recorded since they were last applied land, so closing a
    reopened meeting again writes only what changed. A decision whose recorder may no longer
    write risk on the panel is not applied; it is listed in `not_applied` and in the log.
    """
    if meeting.status == "closed":
        return CloseResult(False)
    _check_closable(meeting, policy, confirm)
    user = policy.user
    not_applied, applied = [], 0
    for item in meeting.items:
        if not item.discussed or item.applied_version >= item.outcome_version:
            continue
        decider = _decider(item, policy)
        if not decider.can(item.case.panel_id, "risk", "write"):
            not_applied.append(item.case.ref)
            continue
        _apply(meeting, item, decider, policy)
        applied += 1
    for action in db.session.execute(
        db.select(Action).where(Action.meeting_id == meeting.id, Action.status == PROPOSED)
    ).scalars():
        action.status = "open"
        notifications.queue_for_action(action, "action_assigned", key=f"action:{action.id}", exclude=user)
    if policy.can(meeting.panel_id, "offending", "write"):  # removals decided at inclusion reviews
        inclusion.apply_at_close(meeting, policy)
    meeting.status = "closed"
    meeting.closed_at = clock.utcnow()
    db.session.flush()
    skipped = f"; not applied (recorder may no longer write risk): {', '.join(not_applied)}" if not_applied else ""
    audit.record("change", user=user, panel=meeting.panel, categories=["risk", "offending"],
                 detail=f"meeting {meeting.id} closed: {applied} item(s) applied to cases{skipped}")
    return CloseResult(True, sorted(not_applied))


def may_reopen(meeting: Meeting) -> bool:
    """A closed meeting may be reopened within REOPEN_DAYS of closing."""
    return (meeting.status == "closed" and meeting.closed_at is not None
            and clock.utcnow() - meeting.closed_at <= dt.timedelta(days=REOPEN_DAYS))


def reopen_meeting(meeting: Meeting, policy: Policy, reason: str) -> None:
    """Reopen a closed meeting with a reason (logged); its decisions stay on the cases until
    it is closed again, when only what changed lands."""
    if meeting.status != "closed":
        raise MeetingStateError("Only a closed meeting can be reopened")
    if not may_close(meeting, policy):
        raise Refused("Your agency may not record risk decisions on this panel, so cannot reopen its meetings")
    if not may_reopen(meeting):
        raise MeetingStateError(f"A meeting can be reopened only within {REOPEN_DAYS} days of closing")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Enter the reason for reopening the meeting")
    if len(reason) > 500:
        raise Invalid("Reason must be 500 characters or fewer")
    meeting.status = "published"
    meeting.reopened_at = clock.utcnow()
    meeting.reopen_reason = reason
    db.session.flush()
    audit.record("change", user=policy.user, panel=meeting.panel,
                 detail=f"meeting {meeting.id} reopened: {reason}")
