"""The dashboard page: a section per role the user holds, each count a link to its list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, render_template, url_for

from core import clock
from dashboards import queries as q
from notifications import services as notifications
from sharing.policy import current_policy
from sharing.queries import isa_warnings

CASE_ROLES = ("practitioner", "coordinator", "analyst")


def practitioner_counts(user, policy) -> list[dict[str, Any]]:
    today = clock.today()
    return [
        {"id": "my-cases", "text": "My cases", "count": len(q.my_cases(user, policy)),
         "href": url_for("dashboards.my_cases")},
        {"id": "my-overdue", "text": "My actions overdue", "count": len(q.my_actions(user, policy, "overdue", today)),
         "href": url_for("dashboards.my_actions", when="overdue"), "urgent": True},
        {"id": "my-due", "text": f"My actions due in the next {q.DUE_SOON_DAYS} days",
         "count": len(q.my_actions(user, policy, "due", today)), "href": url_for("dashboards.my_actions", when="due")},
        {"id": "my-changed", "text": "My cases changed since I last looked",
         "count": len(q.changed_since_seen(user, policy)), "href": url_for("dashboards.my_changes")},
    ]


def coordinator_panels(user, policy) -> list[dict[str, Any]]:
    today = clock.today()
    out = []
    for panel in q.coordinated_panels(user, policy):
        held = q.last_held(panel, today)
        out.append({
            "panel": panel, "referrals": len(q.referrals_to_decide(panel)), "next": q.next_meeting(panel, today),
            "by_agency": q.outstanding_by_agency(panel, policy), "offending": policy.can(panel.id, "offending"),
            "held": held, "attendance": q.attendance_counts(held) if held else {},
        })
    return out


def analyst_sections(policy) -> dict[str, Any]:
    rows = []
    for panel in q.analyst_panels(policy):
        counts = {}
        for code in q.DATA_QUALITY:
            found = q.data_quality(panel, policy, code)
            counts[code] = None if found is None else len(found)
        rows.append({"panel": panel, "counts": counts})
    return {"duplicates": len(q.duplicate_queue(policy)), "quality": rows}


def reminder_link(reminder) -> str:
    """A warning is a link: panel flags to the panel's tracker, agreement reminders to the agreements."""
    if reminder.kind == "flags":
        return url_for("cohort.tracker", code=reminder.key.split(":")[0])
    return url_for("sharing.isas")


def render_dashboard(**panel_context: Any) -> str:
    """panels.dashboard's page: the meeting and reminder context it computed, plus each role's section."""
    user, policy = g.user, current_policy()
    today = clock.today()
    works_cases = user.has_role(*CASE_ROLES)
    context: dict[str, Any] = {
        "works_cases": works_cases, "unread": notifications.unread_count(user), "today": today,
        "reminder_link": reminder_link,
        "practitioner": practitioner_counts(user, policy) if user.has_role("practitioner", "coordinator") else None,
        "coordinator": coordinator_panels(user, policy) if user.has_role("coordinator") else None,
        "analyst": analyst_sections(policy) if user.has_role("analyst") else None,
        "agreements": agreement_warnings(today) if user.has_role("admin") else None,
        "auditor": user.has_role("auditor"),
    }
    if not works_cases:  # admin and auditor: their own work only, no meetings or actions of others
        panel_context.update(upcoming=[], published=[], overdue=[], reminders=[])
    return render_template("dashboards/dashboard.html", title="Dashboard", **panel_context, **context)


def agreement_warnings(today: dt.date) -> list[dict]:
    """Agreements due for review or nearing expiry (the admin's own work)."""
    return isa_warnings(today)
