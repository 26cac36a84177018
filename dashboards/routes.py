"""The lists behind the dashboard's counts; each shows the same rows the count counted.

Case data reaches these pages only through sharing.gateway (display_name, reveal), and
every case a list shows is recorded in the access log.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request

from auth.decorators import roles_required
from auth.models import Agency
from core import clock
from core.extensions import db
from dashboards import queries as q
from dashboards.views import agreement_warnings
from panels.services import is_coordinator, panel_by_code
from sharing import audit
from sharing.gateway import display_name, reveal
from sharing.policy import current_policy

bp = Blueprint("dashboards", __name__)


def _log(cases, categories: list[str], detail: str) -> None:
    for case in cases:
        audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id, categories=categories,
                     detail=detail)


def _action_rows(actions, policy) -> list[dict]:
    return [{"action": a, "case": a.case, "name": display_name(a.case, policy), "panel": a.case.panel,
             "description": reveal(a, "description", policy)} for a in actions]


@bp.route("/my/cases")
@roles_required("practitioner", "coordinator")
def my_cases():
    policy = current_policy()
    cases = q.my_cases(g.user, policy)
    _log(cases, ["identity", "offending"], "my cases")
    rows = [{"case": c, "name": display_name(c, policy), "rag": c.rag if policy.can(c.panel_id, "risk") else None,
             "risk": policy.can(c.panel_id, "risk")} for c in cases]
    return render_template("dashboards/cases.html", title="My cases", rows=rows, total=len(rows),
                           intro="Live cases your agency leads, or with an action that is yours.")


@bp.route("/my/actions")
@roles_required("practitioner", "coordinator")
def my_actions():
    when = request.args.get("when", "all")
    if when not in q.ACTION_FILTERS:
        abort(404)
    policy = current_policy()
    actions = q.my_actions(g.user, policy, when)
    _log([a.case for a in actions], ["identity", "offending"], f"my actions: {when}")
    titles = {"overdue": "My actions overdue", "due": f"My actions due in the next {q.DUE_SOON_DAYS} days",
              "all": "My actions"}
    return render_template("dashboards/actions.html", title=titles[when], rows=_action_rows(actions, policy),
                           total=len(actions), when=when, today=clock.today(), filters=q.ACTION_FILTERS,
                           titles=titles)


@bp.route("/my/changes")
@roles_required("practitioner", "coordinator")
def my_changes():
    policy = current_policy()
    changed = q.changed_since_seen(g.user, policy)
    _log([c.case for c in changed], ["identity"], "my cases changed since last seen")
    rows = [{"case": c.case, "name": display_name(c.case, policy), "what": c.what, "seen": c.seen} for c in changed]
    return render_template("dashboards/changes.html", title="My cases changed since I last looked", rows=rows,
                           total=len(rows))


def _coordinated(code: str):
    panel = panel_by_code(code or "")
    if panel is None:
        abort(404)
    policy = current_policy()
    if not is_coordinator(g.user, panel, policy):
        audit.refused("dashboard: only the panel's coordinators see this list", panel=panel)
        abort(403)
    return panel, policy


@bp.route("/dashboard/referrals")
@roles_required("coordinator")
def referrals():
    panel, policy = _coordinated(request.args.get("panel", ""))
    found = q.referrals_to_decide(panel)
    _log([r_.case for r_ in found], ["identity"], "referrals to decide")
    rows = [{"referral": r_, "case": r_.case, "name": display_name(r_.case, policy)} for r_ in found]
    return render_template("dashboards/referrals.html", title=f"Referrals to decide: {panel.name}", panel=panel,
                           rows=rows, total=len(rows))


@bp.route("/dashboard/actions")
@roles_required("coordinator")
def outstanding():
    panel, policy = _coordinated(request.args.get("panel", ""))
    agency = db.session.execute(db.select(Agency).filter_by(code=request.args.get("agency", ""))).scalar()
    if agency is None:
        abort(404)
    actions = q.outstanding_actions(panel, policy, agency)
    _log([a.case for a in actions], ["identity", "offending"], f"outstanding actions of {agency.code}")
    return render_template("dashboards/actions.html", title=f"Outstanding actions: {agency.name}, {panel.name}",
                           rows=_action_rows(actions, policy), total=len(actions), when=None, today=clock.today(),
                           filters=(), titles={})


@bp.route("/data-quality")
@roles_required("analyst")
def data_quality():
    policy = current_policy()
    panel = panel_by_code(request.args.get("panel", ""))
    code = request.args.get("problem", "")
    if panel is None or code not in q.DATA_QUALITY or not policy.takes_part(panel.id):
        abort(404)
    cases = q.data_quality(panel, policy, code)
    if cases is None:
        audit.refused("data quality: the category is withheld on this panel", panel=panel)
        abort(403)
    _log(cases, ["identity", q.DATA_QUALITY[code][0]], f"data quality: {q.DATA_QUALITY[code][1].lower()}")
    rows = [{"case": c, "name": display_name(c, policy), "rag": None, "risk": False} for c in cases]
    return render_template("dashboards/cases.html", title=f"{q.DATA_QUALITY[code][1]}: {panel.name}", rows=rows,
                           total=len(rows), intro="Live cases on the panel with this gap in their record.")


@bp.route("/dashboard/agreements")
@roles_required("admin")
def agreements():
    warnings = agreement_warnings(clock.today())
    return render_template("dashboards/agreements.html", title="Agreements to review or renew", rows=warnings,
                           total=len(warnings))
