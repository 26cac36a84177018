"""Inclusion reviews: every `inclusion_review_days` a panel records whether each person still
meets its criteria, or removes them (the Gangs Violence Matrix kept people on after their
score fell to nothing). A decision at a meeting is dated at the meeting and a removal lands
when it closes; one made between meetings lands at once. Services flush; the request commits.
"""

from __future__ import annotations

import datetime as dt

from cohort import services
from cohort.change_counter import panel_written
from cohort.models import Case
from cohort.services import Invalid, Refused
from core import clock
from core.extensions import db
from panels.models import AgendaItem, InclusionReview, Meeting
from panels.services import is_coordinator
from sharing import audit
from sharing.gateway import unsealed
from sharing.policy import Policy

DECISIONS = {"keep": "Still meets the panel's criteria", "remove": "Remove from the panel"}


def record(case: Case, *, decision: str, reason: str, policy: Policy, meeting: Meeting | None = None,
           item: AgendaItem | None = None) -> InclusionReview:
    """Record "keep" or "remove" with the reason; one decision per case per meeting (re-recording replaces it)."""
    if not is_coordinator(policy.user, case.panel, policy) or not policy.can(case.panel_id, "offending", "write"):
        raise Refused("Only the panel's coordinators with offending write may record inclusion decisions")
    if decision not in DECISIONS:
        raise Invalid("Choose whether they still meet the criteria or are removed")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Give the reason for the decision")
    if len(reason) > 2000:
        raise Invalid("Reason must be 2,000 characters or fewer")
    review = None
    if meeting is not None:
        review = db.session.execute(
            db.select(InclusionReview).filter_by(case_id=case.id, meeting_id=meeting.id)).scalar_one_or_none()
    if review is None:
        review = InclusionReview(case_id=case.id, meeting_id=meeting.id if meeting else None,
                                 decided_on=meeting.date if meeting else clock.today())
        db.session.add(review)
    review.decision, review.user_id = decision, policy.user.id
    review.reason = reason
    if item is not None:
        item.inclusion_decision = decision
    db.session.flush()
    # The tracker's overdue flag is drawn from decisions (offending): its token must move.

    panel_written(case.panel_id, "offending")
    audit.record("change", user=policy.user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["offending"], detail=f"inclusion review: {decision}")
    if meeting is None and decision == "remove":
        remove(case, review, policy)
    return review


def remove(case: Case, review: InclusionReview, policy: Policy) -> None:
    """Exit the case because it no longer meets the panel's criteria (its retention clock starts)."""
    if case.status == "exited":
        return
    with unsealed("the inclusion decision's reason becomes the exit reason"):
        reason = review.reason or ""
    services.exit_case(case, reason=f"No longer meets the panel's criteria: {reason}", policy=policy)


def apply_at_close(meeting: Meeting, policy: Policy) -> int:
    """Removals decided at the meeting, applied as it closes; how many cases were exited."""
    done = 0
    for review in db.session.execute(
        db.select(InclusionReview).filter_by(meeting_id=meeting.id, decision="remove")
    ).scalars():
        case = db.session.get(Case, review.case_id)
        if case.status != "exited":
            remove(case, review, policy)
            done += 1
    return done


def due_after(last_decided: dt.date | None, referral_date: dt.date | None, days: int | None) -> dt.date | None:
    """The rule: the next decision is due `days` after the last one (or after the referral)."""
    base = last_decided or referral_date
    return base + dt.timedelta(days=days) if days and base else None


def is_overdue(due: dt.date | None, status: str, today: dt.date) -> bool:
    """A live case whose decision date has passed (an exited case needs none)."""
    return due is not None and due < today and status != "exited"


def last_decided(case_ids: list[int]) -> dict[int, dt.date]:
    """case id -> the date of its last inclusion decision (one query for a page of cases)."""
    if not case_ids:
        return {}
    return dict(db.session.execute(
        db.select(InclusionReview.case_id, db.func.max(InclusionReview.decided_on))
        .where(InclusionReview.case_id.in_(case_ids)).group_by(InclusionReview.case_id)).all())


def overdue_condition(days: int | None, today: dt.date):
    """The same rule in SQL, on cases (a tracker filter): live, last decision or referral
    more than `days` ago."""
    if not days:
        return db.false()
    last = (db.select(db.func.max(InclusionReview.decided_on)).where(InclusionReview.case_id == Case.id)
            .scalar_subquery())
    return (Case.status != "exited") & (db.func.coalesce(last, Case.referral_date) < today - dt.timedelta(days=days))


def next_due(case: Case) -> dt.date | None:
    """When the case's next inclusion decision is due (None when the panel sets no interval)."""
    days = case.panel.inclusion_review_days
    if not days:
        return None
    return due_after(last_decided([case.id]).get(case.id), case.referral_date, days)
