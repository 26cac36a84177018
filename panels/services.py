"""Panel meetings: created from the schedule, moved or cancelled by a coordinator.

Meetings for the next 12 months exist as soon as a panel does (CONTRACT.md). The RRULE's
date (`rule_date`) is the key, so creating them again never duplicates one and never
undoes a coordinator's move or cancellation. Services flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import logging

from dateutil.relativedelta import relativedelta

from auth.models import SYSTEM_AGENCY, Agency, User
from core import clock
from core.extensions import db
from panels.models import Meeting, Panel
from panels.schedule import occurrences
from sharing import audit
from sharing.policy import Policy

log = logging.getLogger(__name__)
HORIZON_MONTHS = 12


class MeetingError(ValueError):
    """A meeting change that cannot be made; the message is shown to the user."""


# -- who may do what ----------------------------------------------------------------------

def is_coordinator(user, panel: Panel, policy: Policy | None = None) -> bool:
    """A coordinator whose agency takes part in the panel, or whose agency chairs it."""
    if user is None or not user.active or not user.has_role("coordinator"):
        return False
    policy = policy or Policy(user)
    chairs = panel.chair_agency_id is not None and panel.chair_agency_id == user.agency_id
    return policy.takes_part(panel.id) or chairs


def user_panels(policy: Policy) -> list[Panel]:
    """The active panels the user's agency takes part in, by code."""
    ids = policy.panel_ids()
    if not ids:
        return []
    return list(
        db.session.execute(
            db.select(Panel).where(Panel.id.in_(ids), Panel.active.is_(True)).order_by(Panel.code)
        ).scalars()
    )


def panel_by_code(code: str) -> Panel | None:
    return db.session.execute(db.select(Panel).filter_by(code=code)).scalar_one_or_none()


def system_user(name: str = "scheduler") -> User:
    """The user automated changes are attributed to: no password, cannot sign in."""
    email = f"{name}@system.invalid"
    user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
    if user is not None:
        return user
    agency = db.session.execute(db.select(Agency).filter_by(code=SYSTEM_AGENCY)).scalar_one_or_none()
    if agency is None:
        agency = Agency(code=SYSTEM_AGENCY, name="Automated jobs (system)", kind="other")
        db.session.add(agency)
        db.session.flush()
    user = User(email=email, name=f"System ({name})", agency_id=agency.id, is_system=True, active=True,
                password_hash=None)
    user.roles = []
    db.session.add(user)
    db.session.flush()
    return user


# -- schedule -> meetings -------------------------------------------------------------------

def _anchor(panel: Panel) -> dt.date:
    """A fixed start for the RRULE, so interval rules (every 2 weeks) keep their phase."""
    created = panel.created_at or clock.utcnow()
    return clock.to_london(created).date() - dt.timedelta(days=1)


def planned_dates(panel: Panel, start: dt.date, until: dt.date):
    """Occurrences of the panel's rule between start and until, after the bank-holiday policy."""
    found = occurrences(
        panel.schedule, min(_anchor(panel), start), until=until, policy=panel.bank_holidays, region=panel.region
    )
    return [o for o in found if o.rule_date >= start or (o.date is not None and o.date >= start)]


def ensure_meetings(panel: Panel, *, today: dt.date | None = None) -> int:
    """Create any missing meeting in the next 12 months; return how many were created."""
    if not panel.active:
        return 0
    today = today or clock.today()
    until = today + relativedelta(months=HORIZON_MONTHS)
    have = set(
        db.session.execute(
            db.select(Meeting.rule_date).where(
                Meeting.panel_id == panel.id, Meeting.rule_date >= today - dt.timedelta(days=14)
            )
        ).scalars()
    )
    created = 0
    for occ in planned_dates(panel, today, until):
        if occ.date is None or occ.rule_date in have:
            continue
        db.session.add(
            Meeting(panel_id=panel.id, rule_date=occ.rule_date, date=occ.date, time=panel.time, place=panel.place)
        )
        have.add(occ.rule_date)
        created += 1
    if created:
        db.session.flush()
    return created


def upcoming_meetings(panel_ids: list[int], today: dt.date, limit: int | None = None) -> list[Meeting]:
    if not panel_ids:
        return []
    query = (
        db.select(Meeting)
        .where(Meeting.panel_id.in_(panel_ids), Meeting.date >= today, Meeting.status != "cancelled")
        .order_by(Meeting.date, Meeting.time, Meeting.panel_id)
    )
    if limit:
        query = query.limit(limit)
    return list(db.session.execute(query).scalars())


def next_meeting(panel: Panel, today: dt.date) -> Meeting | None:
    found = upcoming_meetings([panel.id], today, limit=1)
    return found[0] if found else None


# -- coordinator changes ----------------------------------------------------------------------

def _check_changeable(meeting: Meeting) -> None:
    if meeting.status == "closed":
        raise MeetingError("This meeting is closed and cannot be changed")
    if meeting.status == "cancelled":
        raise MeetingError("This meeting is already cancelled")


def _clean_reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise MeetingError(f"Enter the reason for {what} the meeting")
    if len(reason) > 500:
        raise MeetingError("Reason must be 500 characters or fewer")
    return reason


def move_meeting(meeting: Meeting, *, to: dt.date, reason: str, user, time: str | None = None) -> Meeting:
    """Move a meeting to another date (and time); logged, and the iCal sequence bumped."""
    _check_changeable(meeting)
    reason = _clean_reason(reason, "moving")
    if to < clock.today():
        raise MeetingError("The new date must be today or in the future")
    clash = db.session.execute(
        db.select(Meeting.id).where(
            Meeting.panel_id == meeting.panel_id, Meeting.date == to, Meeting.id != meeting.id,
            Meeting.status != "cancelled",
        )
    ).first()
    if clash is not None:
        raise MeetingError("The panel already has a meeting on that date")
    before = meeting.date
    meeting.date = to
    if time:
        meeting.time = time
    meeting.change_reason = reason
    meeting.sequence += 1
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel,
                 detail=f"meeting {meeting.id} moved from {before.isoformat()} to {to.isoformat()}: {reason}")
    return meeting


def cancel_meeting(meeting: Meeting, *, reason: str, user) -> Meeting:
    """Cancel a meeting with a reason; the feed shows it cancelled."""
    _check_changeable(meeting)
    reason = _clean_reason(reason, "cancelling")
    meeting.status = "cancelled"
    meeting.change_reason = reason
    meeting.sequence += 1
    db.session.flush()
    audit.record("change", user=user, panel=meeting.panel,
                 detail=f"meeting {meeting.id} on {meeting.date.isoformat()} cancelled: {reason}")
    return meeting
