"""Pages of the data-protection lifecycle.

- `/nominals/<id>/subject-access` (dpo): the report as JSON, or `?format=html` to print;
- `/nominals/<id>/rectify` (dpo): correct an identity or contact field with a reason;
- `/exports/register` (dpo): every export and print, overdue ones first;
- `/exports/<id>`: one export's marking; its exporter (or the DPO) records it destroyed;
- `/panels/<code>/export`: choose the format, the purpose and the destroy-by date;
- `/panels/<code>/dpia` (dpo, admin): the DPIA document drawn from the agreements in force.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from auth.decorators import login_required, roles_required
from cohort import queries
from cohort.exporting import FORMATS, export_file
from cohort.models import Case, Nominal
from core import clock
from core.extensions import db
from lifecycle import dpia, register, subject_access
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
            return redirect(url_for("cohort_io.print_snapshot", code=panel.code, purpose=form.purpose.data,
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
