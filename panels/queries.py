"""Reads for the panels feature that more than one page needs, already shaped for the policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cohort.models import Case
from core.extensions import db
from panels.models import InclusionReview, Panel
from sharing.policy import Policy

INCLUSION_SOON_DAYS = 28


@dataclass
class InclusionDue:
    case: Case
    due: dt.date
    overdue: bool


def inclusion_due(panel: Panel, on: dt.date, policy: Policy, soon: int = INCLUSION_SOON_DAYS) -> list[InclusionDue]:
    """Live cases whose "still meets the criteria?" decision is due within `soon` days of `on`
    (overdue when its date has passed): the last decision (or the referral) plus the panel's
    inclusion_review_days. Drawn from offending dates, so only for offending readers."""
    if not panel.inclusion_review_days or not policy.can(panel.id, "offending"):
        return []
    last = (db.select(InclusionReview.case_id, db.func.max(InclusionReview.decided_on).label("last"))
            .group_by(InclusionReview.case_id).subquery())
    rows = db.session.execute(
        db.select(Case, last.c.last).outerjoin(last, last.c.case_id == Case.id)
        .where(Case.panel_id == panel.id, Case.status != "exited")
    ).unique().all()
    out = []
    for case, decided in rows:
        base = decided or case.referral_date
        if base is None:
            continue
        due = base + dt.timedelta(days=panel.inclusion_review_days)
        if due <= on + dt.timedelta(days=soon):
            out.append(InclusionDue(case, due, due < on))
    return sorted(out, key=lambda d: (d.due, d.case.ref))
