"""The people search page: POST only for a search, so the term stays out of URLs and logs."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from auth.decorators import login_required
from search.forms import PeopleSearchForm
from search.queries import MAX_CANDIDATES, search_people
from sharing import audit
from sharing.policy import CASE_ROLES, current_policy

bp = Blueprint("search", __name__)


@bp.route("/search", methods=["GET", "POST"])
@login_required
def people():
    policy = current_policy()
    if not policy.has_role(*CASE_ROLES):
        audit.refused("search: no case role")
        abort(403)
    form = PeopleSearchForm()
    found = None
    if form.validate_on_submit():
        found = search_people(form.q.data, policy)
        ids = ",".join(str(p.nominal_id) for p in found.people)
        audit.record("search", categories=["identity"],
                     detail=f"people search: {len(found.people)} person(s): nominals {ids or 'none'}"[:4000])
    return render_template("search/people.html", title="Search for a person", form=form, found=found,
                           max_candidates=MAX_CANDIDATES)
