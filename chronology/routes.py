"""The chronology page of a case: every entry the viewer may read, filterable by category."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from auth.decorators import login_required
from chronology.timeline import Entry, chronology
from cohort import queries
from cohort.models import Case
from panels.models import Meeting
from sharing import audit
from sharing.crypto import CATEGORIES
from sharing.gateway import display_name
from sharing.policy import Policy, current_policy

bp = Blueprint("chronology", __name__)


def _meeting_link(policy: Policy):
    """Links to a meeting page only where the viewer takes part in its panel."""
    def link(meeting: Meeting) -> str | None:
        return url_for("panels.meeting", meeting_id=meeting.id) if policy.takes_part(meeting.panel_id) else None
    return link


def case_entries(case: Case, policy: Policy, category: str | None = None) -> list[Entry]:
    """The chronology as the case page and this page draw it (the caller logs the view)."""
    return chronology(case, policy, category=category, meeting_link=_meeting_link(policy))


@bp.route("/cases/<int:case_id>/chronology")
@login_required
def case_chronology(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    readable = policy.readable(case.panel_id)
    category = request.args.get("category", "")
    category = category if category in readable else ""
    entries = case_entries(case, policy, category or None)
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=[category] if category else readable,
                 detail=f"chronology: {len(entries)} entries")
    return render_template(
        "chronology/chronology.html", title=f"Chronology: {case.panel.code} case {case.ref}", case=case,
        name=display_name(case, policy), entries=entries, category=category,
        categories=[c for c in CATEGORIES if c in readable], withheld_message=policy.withheld_message(case.panel_id),
    )
