"""Pages of the duplication and overlap checks: the analyst's queue, merge history, the
admin's undo, and the overlaps report.

Thin views: role guard -> policy-filtered query -> service -> redirect. Every page that
shows nominal data writes a "view" row to the access log in the same request.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput
from wtforms import RadioField
from wtforms.validators import Optional

from auth.decorators import roles_required
from cohort.models import Merge
from core import clock
from core.confirm import Confirmation, ask, confirmed
from core.extensions import db
from duplicates import candidates, merging, overlaps
from sharing import audit
from sharing.policy import current_policy

bp = Blueprint("duplicates", __name__)
DECISIONS = ("merge", "reject", "skip")


@bp.app_template_filter("dedupe_chance")
def chance_filter(score: float) -> str:
    """A score as the calibrated range shown to analysts (never "100%")."""
    return candidates.chance(score)


class DecisionForm(FlaskForm):
    """Same person (keep one record), not the same person, or decide later."""

    keep = RadioField("If they are the same person, which record should be kept?", coerce=int, choices=[],
                      validators=[Optional()], widget=GovRadioInput())


def decision_form(item: candidates.QueueItem, formdata=None) -> DecisionForm:
    form = DecisionForm(formdata=formdata, prefix=f"pair-{item.candidate.id}")
    form.keep.choices = [
        (item.a.nominal.id, f"Keep record A ({item.a.name}) and merge B into it"),
        (item.b.nominal.id, f"Keep record B ({item.b.name}) and merge A into it"),
    ]
    return form


def _log_seen(items: list[candidates.QueueItem], what: str) -> None:
    ids = sorted({i.a.nominal.id for i in items} | {i.b.nominal.id for i in items})
    audit.record("view", categories=["identity"], detail=f"{what}: nominals {','.join(map(str, ids)) or 'none'}")


# -- the queue --------------------------------------------------------------------------------

@bp.route("/duplicates")
@roles_required("analyst", "admin")
def queue():
    policy = current_policy()
    if not policy.has_role("analyst"):
        return redirect(url_for(".merges"))  # the admin's part: undoing merges
    open_pairs = candidates.open_queue(policy)
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        page = 1
    size = candidates.QUEUE_PAGE
    shown = open_pairs[(page - 1) * size: page * size]
    items = candidates.queue_items(shown, policy)
    _log_seen(items, f"duplicate queue page {page}")
    return render_template(
        "duplicates/queue.html", title="Possible duplicates", items=items, forms={
            i.candidate.id: decision_form(i) for i in items}, total=len(open_pairs), page=page,
        pages=max((len(open_pairs) + size - 1) // size, 1), tab="open",
    )


@bp.route("/duplicates/decided")
@roles_required("analyst")
def decided():
    policy = current_policy()
    merges = merging.merge_history(policy)
    rejected = candidates.queue_items(candidates.decided(policy), policy)
    _log_seen(rejected, "duplicate decisions")
    return render_template("duplicates/decided.html", title="Decided duplicates", merges=merges,
                           rejected=rejected, tab="decided")


@bp.route("/duplicates/run", methods=["POST"])
@roles_required("analyst")
def run_check():
    result = candidates.run(current_policy())
    flash(f"Duplicate check run: {len(result.pairs)} possible duplicate pair(s), {result.new} new.", "success")
    return redirect(url_for(".queue"))


def _candidate_or_404(candidate_id: int):
    cand = candidates.candidate_for(candidate_id, current_policy())
    if cand is None:
        audit.refused(f"duplicates: pair {candidate_id} not open or not readable")
        abort(404, "There is no open pair with that number that you may see")
    return cand


def _pair_page(item: candidates.QueueItem, form: DecisionForm, status: int = 200):
    _log_seen([item], f"duplicate pair {item.candidate.id}")
    return render_template("duplicates/pair.html", title="Are these the same person?", item=item,
                           decision=form, form=form), status


@bp.route("/duplicates/<int:candidate_id>")
@roles_required("analyst")
def pair(candidate_id: int):
    cand = _candidate_or_404(candidate_id)
    item = candidates.queue_items([cand], current_policy())[0]
    return _pair_page(item, decision_form(item))


@bp.route("/duplicates/<int:candidate_id>", methods=["POST"])
@roles_required("analyst")
def decide(candidate_id: int):
    policy = current_policy()
    cand = _candidate_or_404(candidate_id)
    item = candidates.queue_items([cand], policy)[0]
    form = decision_form(item, request.form)
    choice = request.form.get("decision")
    if choice not in DECISIONS or not form.validate_on_submit():
        form.keep.errors = [*form.keep.errors] or ["Choose whether they are the same person"]
        return _pair_page(item, form)
    if choice == "reject":
        candidates.reject(cand, policy)
        flash(f"Marked as not the same person: {item.a.name} and {item.b.name} will not be proposed again.",
              "success")
    elif choice == "skip":
        candidates.skip(cand, policy)
        flash("Skipped: the pair stays open at the end of the queue.", "success")
    else:
        if form.keep.data is None:
            form.keep.errors = ["Choose which record to keep"]
            return _pair_page(item, form)
        if not confirmed():
            return ask(_merge_confirmation(item, form))
        try:
            row = merging.merge(cand, form.keep.data, policy)
        except merging.MergeError as exc:
            form.keep.errors = [str(exc)]
            return _pair_page(item, form)
        kept = item.a if row.kept_id == item.a.nominal.id else item.b
        flash(f"Merged: {kept.name}'s record now holds both records' cases (merge {row.id}).", "success")
    return redirect(url_for(".queue"))


def _merge_confirmation(item: candidates.QueueItem, form) -> Confirmation:
    """Merging moves every case of one record to the other: say which way before doing it."""
    kept, other = (item.a, item.b) if str(form.keep.data) == str(item.a.nominal.id) else (item.b, item.a)
    cid = item.candidate.id
    return Confirmation(
        title="Merge these two records?",
        consequences=[f"{kept.name}'s record is kept. It takes every case, alias and missing identifier of "
                      f"{other.name}'s record, which then stops being a separate person on every panel.",
                      "An administrator can undo the merge from the merge history."],
        button="Merge the records", action=url_for(".decide", candidate_id=cid),
        fields={form.keep.name: str(form.keep.data), "decision": "merge"}, cancel=url_for(".pair", candidate_id=cid))


# -- the admin's undo -------------------------------------------------------------------------

@bp.route("/duplicates/merges")
@roles_required("admin")
def merges():
    return render_template("duplicates/merges.html", title="Merged records", merges=merging.merge_history(None))


def _merge_or_404(merge_id: int) -> Merge:
    row = db.session.get(Merge, merge_id)
    if row is None:
        abort(404, "There is no merge with that number")
    return row


@bp.route("/duplicates/merges/<int:merge_id>/undo", methods=["GET", "POST"])
@roles_required("admin")
def unmerge(merge_id: int):
    row = _merge_or_404(merge_id)
    view = merging.merge_history(None, merge_id=row.id)[0]
    form = FlaskForm()
    error = None
    if row.undone_at is not None:
        error = "This merge has already been undone."
    elif (later := merging.later_merge(row)) is not None:
        error = f"Undo merge {later.id} first: it changed the same records later."
    if request.method == "POST" and form.validate_on_submit() and error is None:
        merging.unmerge(row, current_policy().user)
        flash(f"Merge {row.id} undone: both records and their cases are separate again.", "success")
        return redirect(url_for(".merges"))
    return render_template("duplicates/unmerge.html", title=f"Undo merge {row.id}", view=view, error=error,
                           confirm=form)


# -- overlaps ---------------------------------------------------------------------------------

@bp.route("/overlaps", endpoint="overlaps")
@roles_required("analyst", "coordinator")
def overlaps_report():
    policy = current_policy()
    found = overlaps.overlaps_for(policy)
    months = overlaps.monthly_counts(policy)
    audit.record("view", categories=["identity"],
                 detail=f"overlaps report: nominals {','.join(str(o.nominal_id) for o in found) or 'none'}"[:4000])
    return render_template("duplicates/overlaps.html", title="People on more than one panel", overlaps=found,
                           months=months, today=clock.today())


@bp.route("/overlaps.csv")
@roles_required("analyst", "coordinator")
def overlaps_csv():
    rows = overlaps.monthly_counts(current_policy())
    audit.record("export", detail="overlaps: monthly counts CSV (no personal data)")
    return Response(overlaps.monthly_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=overlaps-{clock.today().isoformat()}.csv"})
