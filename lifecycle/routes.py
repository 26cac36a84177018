"""Pages of the data-protection lifecycle.

- `/nominals/<id>/subject-access` (dpo): the report as JSON, or `?format=html` to print;
- `/nominals/<id>/rectify` (dpo): correct an identity or contact field with a reason;
- `/exports/register` (dpo): every export and print, overdue ones first;
- `/exports/<id>`: one export's marking; its exporter (or the DPO) records it destroyed;
- `/panels/<code>/export`: choose the format, the purpose and the destroy-by date;
- `/panels/<code>/dpia` (dpo, admin): the DPIA document drawn from the agreements in force;
- `/retention` (dpo): what is past each panel's retention period; `/retention/erase` erases it;
- `/nominals/<id>/erase` (dpo): a right-to-erasure request, every case of the person.
Erasing always shows the GOV.UK "are you sure" page first (core.confirm): what exactly goes,
what stays, and that it cannot be undone; only the confirmed post erases.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from auth.decorators import login_required, roles_required
from cohort import queries
from cohort.models import Case, Nominal
from core import clock
from core.confirm import Confirmation, ask, confirmed
from core.extensions import db
from core.labels import label
from exchange.exporting import FORMATS, export_file
from lifecycle import dpia, erasure, journal, register, retention, subject_access
from lifecycle.erasure import _outstanding_exports, _referencing, chunks
from lifecycle.forms import EXPORT_FORMATS, DestroyedForm, ExportForm, RectifyForm
from lifecycle.models import ExportRecord
from lifecycle.rectification import Invalid, rectify
from panels.models import Panel
from sharing import audit
from sharing.forms import NominalSearchForm
from sharing.policy import current_policy
from sharing.queries import nominals_matching

bp = Blueprint("lifecycle", __name__)


def nominal_or_404(nominal_id: int) -> Nominal:
    nominal = db.session.get(Nominal, nominal_id)
    if nominal is None:
        abort(404)
    return nominal


@bp.route("/subject-access", methods=["GET", "POST"])
@roles_required("dpo")
def subject_access_lookup():
    """Find the person a request is about by name or identifier (posted: no name in a URL)."""
    form = NominalSearchForm()
    found = None
    if form.validate_on_submit():
        ids = nominals_matching(form.q.data)
        found = [{"id": n, "panels": codes} for n, codes in _panels_of(ids)]
        audit.record("search", purpose="subject access: finding the person", nominal_ids=ids,
                     detail=f"name or identifier: {len(ids)} nominal(s) matched")
    elif request.method == "POST":
        return render_template("lifecycle/lookup.html", title="Subject access", form=form, found=None), 422
    return render_template("lifecycle/lookup.html", title="Subject access", form=form, found=found)


def _panels_of(ids: list[int]) -> list[tuple[int, list[str]]]:
    rows = db.session.execute(
        db.select(Case.nominal_id, Panel.code).join(Panel, Panel.id == Case.panel_id)
        .where(Case.nominal_id.in_(ids or [0])).order_by(Panel.code)
    ).all()
    by = {n: [] for n in ids}
    for nominal_id, code in rows:
        by[nominal_id].append(code)
    return list(by.items())


@bp.route("/nominals/<int:nominal_id>/subject-access")
@roles_required("dpo")
def subject_access_report(nominal_id: int):
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "html"):
        abort(404)
    report = subject_access.report(nominal_or_404(nominal_id), fmt=fmt)
    if fmt == "json":
        return report
    return render_template("lifecycle/subject_access.html", title="Subject access report", r=report,
                           made_at=clock.utcnow())


@bp.route("/nominals/<int:nominal_id>/rectify", methods=["GET", "POST"])
@roles_required("dpo")
def rectify_page(nominal_id: int):
    nominal = nominal_or_404(nominal_id)
    form = RectifyForm()
    if form.validate_on_submit():
        try:
            rectify(nominal, field=form.field.data, value=form.value.data, reason=form.reason.data, user=g.user)
        except Invalid as exc:
            form.value.errors = [*form.value.errors, str(exc)]
        else:
            flash("Record corrected; the reason is in the case history and the access log", "success")
            return redirect(url_for(".rectify_page", nominal_id=nominal.id))
    return render_template("lifecycle/rectify.html", title="Correct a record", form=form, nominal_id=nominal.id)


@bp.route("/exports/register")
@roles_required("dpo")
def export_register():
    rows = db.session.execute(
        db.select(ExportRecord).order_by(ExportRecord.destroyed_at.is_not(None), ExportRecord.destroy_by,
                                         ExportRecord.id)
    ).scalars().all()
    audit.record("view", purpose="export register", detail=f"export register: {len(rows)} export(s)")
    return render_template("lifecycle/register.html", title="Export register", rows=rows, today=clock.today(),
                           marking=register.marking)


@bp.route("/exports/<int:export_id>", methods=["GET", "POST"])
@login_required
def export_page(export_id: int):
    rec = db.session.get(ExportRecord, export_id)
    if rec is None or (rec.user_id != g.user.id and not g.user.has_role("dpo")):
        abort(404)
    form = DestroyedForm()
    if form.validate_on_submit() and rec.destroyed_at is None:
        rec.destroyed_at = clock.utcnow()
        audit.record("change", purpose="export register", detail=f"export {rec.id} recorded as destroyed")
        flash("Recorded: every copy destroyed", "success")
        return redirect(url_for(".export_page", export_id=rec.id))
    return render_template("lifecycle/export.html", title=f"Export no. {rec.id}", rec=rec, form=form,
                           marking=register.marking(rec), today=clock.today())


@bp.route("/panels/<code>/export", methods=["GET", "POST"])
@login_required
def export_choose(code: str):
    """The purpose and destroy-by date are chosen here before any file or print is made."""
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    form = ExportForm()
    if request.method == "GET":
        form.destroy_by.data = register.default_destroy_by()
        if request.args.get("fmt") in dict(EXPORT_FORMATS):
            form.fmt.data = request.args["fmt"]
    if form.validate_on_submit():
        problems = register.check(form.purpose.data, form.destroy_by.data)
        if problems:
            form.destroy_by.errors = [*form.destroy_by.errors, *problems]
        elif form.fmt.data == "print":
            return redirect(url_for("exchange.print_snapshot", code=panel.code, purpose=form.purpose.data,
                                    destroy_by=form.destroy_by.data.isoformat()))
        else:
            return export_download(panel, policy, form.fmt.data, form.purpose.data, form.destroy_by.data,
                                   form.note.data or "")
    return render_template("lifecycle/export_choose.html", title=f"Export the {panel.code} cohort", form=form,
                           panel=panel)


def export_download(panel: Panel, policy, fmt: str, purpose: str, destroy_by, note: str = "") -> Response:
    """The file, registered with its purpose and destroy-by date, marked inside; its name carries both."""
    made = export_file(panel, policy, fmt, purpose=purpose, destroy_by=destroy_by, note=note)
    return Response(made.data, mimetype=FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{register.filename(made.record, fmt)}"',
        "Cache-Control": "no-store",
    })


@bp.route("/panels/<code>/dpia")
@roles_required("dpo", "admin")
def dpia_page(code: str):
    panel = db.session.execute(db.select(Panel).filter_by(code=code)).scalar_one_or_none()
    if panel is None:
        abort(404)
    doc = dpia.document(panel)
    audit.record("view", purpose="dpia", panel=panel, detail="DPIA document")
    return render_template("lifecycle/dpia.html", title=f"DPIA: {panel.name}", doc=doc, panel=panel)


# -- erasing: the GOV.UK "are you sure" page first (core.confirm), never one click -------

# What the rows erased with a case are, in words (lifecycle.erasure finds them from the schema;
# a table added later reads as its name until it is given words here).
ERASED_WITH_A_CASE = {  # table -> (one, many)
    "actions": ("action", "actions"), "agenda_items": ("agenda item", "agenda items"),
    "case_documents": ("document", "documents"), "case_events": ("history entry", "history entries"),
    "engagements": ("engagement", "engagements"),
    "export_subjects": ("export register entry", "export register entries"),
    "inclusion_reviews": ("inclusion review", "inclusion reviews"), "needs": ("pathway need", "pathway needs"),
    "notes": ("note", "notes"), "rag_changes": ("RAG change", "RAG changes"), "referrals": ("referral", "referrals"),
}
LISTED_REFS = 20


def _what_is_erased(case_ids: list[int]) -> list[str]:
    """Exactly what erasing these cases removes and keeps, in words, counted from the database."""
    by_panel: dict[str, list[str]] = {}
    for chunk in chunks(case_ids):
        for code, ref in db.session.execute(
                db.select(Panel.code, Case.ref).join(Panel, Panel.id == Case.panel_id).where(Case.id.in_(chunk))
                .order_by(Panel.code, Case.ref)):
            by_panel.setdefault(code, []).append(ref)
    lines = []
    for code, refs in sorted(by_panel.items()):
        shown = ", ".join(refs[:LISTED_REFS]) + (f" and {len(refs) - LISTED_REFS} more" if len(refs) > LISTED_REFS
                                                 else "")
        lines.append(f"{code}: {len(refs)} {'case' if len(refs) == 1 else 'cases'} ({shown}), with the case "
                     "details, RAG, engagement and pathways recorded on them.")
    counts = []
    for child, column in _referencing(Case.__table__):
        n = sum(db.session.execute(db.select(db.func.count()).select_from(child).where(column.in_(chunk)))
                .scalar_one() for chunk in chunks(case_ids))
        if n:
            one, many = ERASED_WITH_A_CASE.get(child.name, (label(child.name).lower(),) * 2)
            counts.append(f"{n} {one if n == 1 else many}")
    if counts:
        lines.append("Recorded on those cases: " + ", ".join(counts) + ".")
    people = retention.people_affected(case_ids)
    lines.append(f"{people} {'person' if people == 1 else 'people'} no panel would still hold: their names, "
                 "identifiers, date of birth, address and contact details, and every record merged into them."
                 if people else "Nobody's identity: every person concerned is still on another panel.")
    lines.append("The access log keeps its events, with the person's number replaced by a pseudonym; a tombstone "
                 "keeps each case's ref and dates so the case answers 'erased' instead of 'not found'.")
    held = _outstanding_exports(case_ids)
    if held:
        lines.append(f"Exports not yet recorded destroyed hold them (no. {', '.join(map(str, held[:LISTED_REFS]))}"
                     f"{' ...' if len(held) > LISTED_REFS else ''}): erasing cannot reach those copies; ask their "
                     "exporters to destroy every copy.")
    return lines


def _erase(case_ids: list[int], *, source: str, nominal_ids: list[int] = ()) -> str:
    """Erase, journal, log; the request commits. Returns the summary for the banner."""
    codes = {p.id: p.code for p in db.session.execute(db.select(Panel)).scalars()}
    run = erasure.new_run(source)
    result = erasure.erase_cases(case_ids, run, panel_codes=codes, extra_nominals=nominal_ids)
    if result.cases or result.nominals:
        journal.append(run_id=run.id, at=run.at.isoformat(), case_uids=result.case_uids,
                       nominal_uids=result.nominal_uids)
    audit.record("erase", purpose=f"erasure: {source}", detail=retention.summary(result))
    return retention.summary(result)


@bp.route("/retention")
@roles_required("dpo")
def retention_page():
    """What is past each panel's retention period, and the way to erase it (after confirming)."""
    the_plan = retention.plan()
    audit.record("view", purpose="retention", detail=f"retention plan: {len(the_plan.case_ids)} case(s) due")
    return render_template("lifecycle/retention.html", title="Retention", plan=the_plan,
                           people=retention.people_affected(the_plan.case_ids))


@bp.route("/retention/erase", methods=["GET", "POST"])
@roles_required("dpo")
def retention_erase():
    """GET and an unconfirmed POST show what will be erased; only a confirmed POST erases."""
    the_plan = retention.plan()
    if not the_plan.case_ids:
        flash("Nothing is past its retention period: nothing to erase", "info")
        return redirect(url_for(".retention_page"))
    if request.method == "POST" and confirmed():
        summary = _erase(the_plan.case_ids, source="retention, from the page")
        flash(f"Erased: {summary}", "success")
        return redirect(url_for(".retention_page"))
    n = len(the_plan.case_ids)
    return ask(Confirmation(
        title=f"Erase {n} {'case' if n == 1 else 'cases'} past {'its' if n == 1 else 'their'} retention period?",
        consequences=["This will erase, on every panel past its retention period:"],
        listed=_what_is_erased(the_plan.case_ids),
        warning="Erasing cannot be undone: the records are deleted, not hidden, and no one can bring them back.",
        button=f"Erase {n} {'case' if n == 1 else 'cases'}", action=url_for(".retention_erase"),
        cancel=url_for(".retention_page")))


@bp.route("/nominals/<int:nominal_id>/erase", methods=["GET", "POST"])
@roles_required("dpo")
def erase_person(nominal_id: int):
    """A right-to-erasure request: every case of the person on every panel, after confirming."""
    nominal = nominal_or_404(nominal_id)
    case_ids = sorted(db.session.execute(db.select(Case.id).where(Case.nominal_id == nominal.id)).scalars())
    if request.method == "POST" and confirmed():
        summary = _erase(case_ids, source="erasure request", nominal_ids=[nominal.id])
        flash(f"Erased: {summary}", "success")
        return redirect(url_for(".subject_access_lookup"))
    what = _what_is_erased(case_ids) if case_ids else [
        f"Nominal {nominal.id} is on no panel: their names, identifiers, date of birth, address and contact "
        "details, and every record merged into them."]
    return ask(Confirmation(
        title=f"Erase everything held on nominal {nominal.id}?",
        consequences=["This will erase:"], listed=what,
        warning="Erasing cannot be undone: the records are deleted, not hidden, and no one can bring them back.",
        button="Erase the person's records", action=url_for(".erase_person", nominal_id=nominal.id),
        cancel=url_for(".subject_access_lookup")))
