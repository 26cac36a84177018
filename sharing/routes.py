"""Pages of the sharing feature: agreements, the sharing matrix and the access log.

Agreements are for administrators (who manage them), auditors and coordinators (who read
them); none of these pages shows case data. The access log is for auditors alone, and
every look at it is itself written to it.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from auth.decorators import roles_required
from auth.models import partner_agencies
from core import clock
from core.confirm import Confirmation, ask, confirmed
from core.extensions import db
from panels.models import Panel
from sharing import audit, queries
from sharing.crypto import CATEGORIES
from sharing.forms import (
    ACCESS_LABELS,
    CATEGORY_LABELS,
    IsaForm,
    LogFilterForm,
    NominalLookupForm,
    NominalSearchForm,
    StatusForm,
    grant_field_name,
    isa_form,
)
from sharing.services import TRANSITIONS, IsaData, IsaInvalid, change_status, create_isa, update_isa

bp = Blueprint("sharing", __name__)

READERS = ("admin", "auditor", "coordinator")
STATUS_TAGS = {
    "in force": "govuk-tag--green", "not started": "govuk-tag--blue", "expired": "govuk-tag--red",
    "draft": "govuk-tag--grey", "suspended": "govuk-tag--orange", "ended": "govuk-tag--grey",
}


def _helpers() -> dict:
    return {"category_labels": CATEGORY_LABELS, "access_labels": ACCESS_LABELS, "categories": CATEGORIES,
            "status_tags": STATUS_TAGS}


def _isa_or_404(isa_id: int):
    isa = queries.get_isa(isa_id)
    if isa is None:
        abort(404)
    return isa


# -- agreements -----------------------------------------------------------------------------

@bp.route("/agreements")
@roles_required(*READERS)
def isas():
    today = clock.today()
    rows = [(isa, queries.display_status(isa, today)) for isa in queries.all_isas()]
    return render_template("sharing/isas.html", title="Information-sharing agreements", rows=rows,
                           warnings=queries.isa_warnings(today), today=today, **_helpers())


@bp.route("/agreements/matrix")
@roles_required(*READERS)
def matrix():
    today = clock.today()
    return render_template("sharing/matrix.html", title="Who can see what", matrices=queries.sharing_matrix(today),
                           today=today, **_helpers())


@bp.route("/agreements/<int:isa_id>")
@roles_required(*READERS)
def isa(isa_id: int):
    agreement = _isa_or_404(isa_id)
    today = clock.today()
    parties, cells = queries.grant_table(agreement)
    warnings = [w for w in queries.isa_warnings(today) if w["isa_id"] == agreement.id]
    actions = [a for a, (allowed_from, _to, _done) in TRANSITIONS.items() if agreement.status in allowed_from]
    return render_template("sharing/isa.html", title=f"Agreement {agreement.ref}", isa=agreement, parties=parties,
                           cells=cells, status=queries.display_status(agreement, today), warnings=warnings,
                           actions=actions, status_form=StatusForm(), **_helpers())


def _choices():
    agencies = list(db.session.execute(partner_agencies()).scalars())
    panels = list(db.session.execute(db.select(Panel).order_by(Panel.code)).scalars())
    return agencies, panels


def _data_from(form: IsaForm, agencies, status: str) -> IsaData:
    grants = {}
    for agency in agencies:
        for category in CATEGORIES:
            value = form[grant_field_name(agency.id, category)].data or ""
            if value:
                grants[(agency.id, category)] = value
    return IsaData(
        ref=form.ref.data or "", title=form.title.data or "", purpose=form.purpose.data or "",
        panel_ids=list(form.panels.data or []), starts=form.starts.data, review=form.review.data,
        expires=form.expires.data, signatories="\n".join(
            line.strip() for line in (form.signatories.data or "").splitlines() if line.strip()),
        grants=grants, status=status,
    )


def _show_error(form: IsaForm, exc: IsaInvalid) -> None:
    name = exc.field if exc.field in form._fields else None
    if exc.field == "grants":
        name = form.grant_fields()[0].name if form.grant_fields() else None
    target = form[name] if name else form.ref
    target.errors = [*list(target.errors or []), str(exc)]


def _render_form(form, agencies, agreement=None):
    title = f"Change agreement {agreement.ref}" if agreement else "New information-sharing agreement"
    return render_template("sharing/isa_form.html", title=title, form=form, agencies=agencies, isa=agreement,
                           **_helpers())


@bp.route("/agreements/new", methods=["GET", "POST"])
@roles_required("admin")
def isa_new():
    agencies, panels = _choices()
    form = isa_form(agencies, panels, creating=True)
    if form.validate_on_submit():
        try:
            agreement = create_isa(_data_from(form, agencies, form.status.data))
        except IsaInvalid as exc:
            _show_error(form, exc)
        else:
            flash(f"Agreement {agreement.ref} created", "success")
            return redirect(url_for("sharing.isa", isa_id=agreement.id))
    return _render_form(form, agencies), (422 if form.errors else 200)


@bp.route("/agreements/<int:isa_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def isa_edit(isa_id: int):
    agreement = _isa_or_404(isa_id)
    if agreement.status == "ended":
        flash("This agreement has ended and cannot be changed")
        return redirect(url_for("sharing.isa", isa_id=agreement.id))
    agencies, panels = _choices()
    initial = {} if request.method == "POST" else {
        "ref": agreement.ref, "title": agreement.title, "purpose": agreement.purpose,
        "panels": [p.id for p in agreement.panels], "starts": agreement.starts, "review": agreement.review,
        "expires": agreement.expires, "signatories": agreement.signatories,
        **{grant_field_name(g.agency_id, g.category): g.access for g in agreement.grants},
    }
    form = isa_form(agencies, panels, creating=False, data=initial or None)
    if form.validate_on_submit():
        try:
            changes = update_isa(agreement, _data_from(form, agencies, agreement.status))
        except IsaInvalid as exc:
            _show_error(form, exc)
        else:
            flash(f"Agreement {agreement.ref} saved" if changes else "Nothing was changed", "success")
            return redirect(url_for("sharing.isa", isa_id=agreement.id))
    return _render_form(form, agencies, agreement), (422 if form.errors else 200)


@bp.route("/agreements/<int:isa_id>/status", methods=["POST"])
@roles_required("admin")
def isa_status(isa_id: int):
    agreement = _isa_or_404(isa_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400, "The form has expired. Go back, reload the page and try again.")
    action = request.form.get("action", "")
    if action in _ASK_FIRST and agreement.status in TRANSITIONS[action][0] and not confirmed():
        return ask(_status_confirmation(agreement, action))
    try:
        new = change_status(agreement, action)
    except IsaInvalid as exc:
        abort(409, str(exc))
    flash(f"Agreement {agreement.ref} is now {new}", "success")
    return redirect(url_for("sharing.isa", isa_id=agreement.id))


_ASK_FIRST = ("suspend", "end")


def _status_confirmation(agreement, action: str) -> Confirmation:
    """What suspending or ending stops, in the words a partner-facing admin needs."""
    panels = ", ".join(p.code for p in agreement.panels) or "no panel"
    parties = sorted({g.agency.code for g in agreement.grants})
    stops = (f"Every agency under {agreement.ref} ({', '.join(parties) or 'no agency'}) stops seeing and changing "
             f"case data on {panels} from their next page.")
    if action == "suspend":
        return Confirmation(title=f"Suspend sharing under {agreement.ref}?", consequences=[
            stops, "Partners are told that sharing is suspended and to ask the coordinator.",
            "You can reactivate the agreement later."], button="Suspend sharing",
            action=url_for("sharing.isa_status", isa_id=agreement.id), fields={"action": action},
            cancel=url_for("sharing.isa", isa_id=agreement.id))
    return Confirmation(title=f"End {agreement.ref}?", consequences=[stops], button="End agreement",
                        warning="Ending an agreement cannot be undone.",
                        action=url_for("sharing.isa_status", isa_id=agreement.id), fields={"action": action},
                        cancel=url_for("sharing.isa", isa_id=agreement.id))


# -- the access log (auditors) --------------------------------------------------------------

def _filters_from(form: LogFilterForm) -> queries.LogFilters:
    if form.errors:
        return queries.LogFilters()
    return queries.LogFilters(
        email=(form.email.data or "").strip(), agency=form.agency.data or "", action=form.action.data or "",
        outcome=form.outcome.data or "", panel=form.panel.data or "", nominal_id=form.nominal_id.data,
        date_from=form.date_from.data, date_to=form.date_to.data,
    )


def _filter_form() -> LogFilterForm:
    form = LogFilterForm(request.args)
    form.set_choices(queries.log_choices())
    if any(k in request.args for k in form._fields):
        form.validate()
        if form.date_from.data and form.date_to.data and form.date_to.data < form.date_from.data:
            form.date_to.errors = [*list(form.date_to.errors), "The end date must be on or after the start date"]
    return form


@bp.route("/access-log")
@roles_required("auditor")
def audit_log():
    form = _filter_form()
    filters = _filters_from(form)
    try:
        page_no = int(request.args.get("page", "1"))
    except ValueError:
        page_no = 1
    page = queries.log_page(filters, page_no)
    audit.record("view", purpose="access log", detail=f"{filters.describe()}; page {page.page}")
    args = {k: v for k, v in request.args.items() if k not in ("page", "submit") and v}
    return render_template("sharing/audit_log.html", title="Access log", form=form, page=page, args=args,
                           lookup=NominalLookupForm(), filters=filters, **_helpers())


CSV_COLUMNS = ("seq", "at_utc", "user_email", "agency", "action", "outcome", "panel", "nominal_id", "case_id",
               "categories", "purpose", "detail")


def neutralise(value) -> str:
    """A cell a spreadsheet will show as text: formulas (= + - @) and tab/CR prefixed with '."""
    text = "" if value is None else str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


@bp.route("/access-log.csv")
@roles_required("auditor")
def audit_log_csv():
    form = _filter_form()
    if form.errors:
        abort(400, "Correct the filters before downloading.")
    filters = _filters_from(form)
    audit.record("export", purpose="access log", detail=f"CSV download; {filters.describe()}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for ev in queries.log_events(filters):
        writer.writerow([neutralise(v) for v in (
            ev.seq, ev.at.isoformat(timespec="seconds") + "Z", ev.user_email, ev.agency_code, ev.action, ev.outcome,
            ev.panel_code, ev.nominal_id, ev.case_id, ev.categories, ev.purpose, ev.detail,
        )])
    stamp = clock.today().isoformat()
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="access-log-{stamp}.csv"', "Cache-Control": "no-store",
    })


@bp.route("/access-log/nominal", methods=["GET", "POST"])
@roles_required("auditor")
def nominal_lookup():
    """Find a nominal's access history by internal id (GET), or by name or identifier (POST)."""
    by_id = NominalLookupForm(request.args)
    search = NominalSearchForm()
    if request.method == "POST":
        if not search.validate_on_submit():
            return _lookup_page(by_id, search), 422
        found = queries.nominals_matching(search.q.data)
        listed = {n: queries.nominal_events(n) for n in found}
        audit.record("search", purpose="access log: who has seen a nominal", nominal_ids=found,
                     detail=f"name or identifier: {len(found)} nominal(s) matched")
        return _lookup_page(by_id, search, found=listed)
    if "nominal_id" not in request.args:
        return _lookup_page(by_id, search)
    if by_id.validate():
        return redirect(url_for("sharing.nominal_log", nominal_id=by_id.nominal_id.data))
    return _lookup_page(by_id, search), 422


def _lookup_page(by_id: NominalLookupForm, search: NominalSearchForm, found: dict | None = None) -> str:
    # `form` is the one the error summary (base.html) reads: whichever was just sent
    return render_template("sharing/nominal_lookup.html", title="Who has seen a nominal",
                           form=search if search.errors else by_id, id_form=by_id, search=search, found=found,
                           **_helpers())


@bp.route("/access-log/nominals/<int:nominal_id>")
@roles_required("auditor")
def nominal_log(nominal_id: int):
    events = queries.nominal_events(nominal_id)
    audit.record("view", nominal_id=nominal_id, purpose="access log: who has seen this nominal",
                 detail=f"{len(events)} events listed")
    return render_template("sharing/nominal_log.html", title=f"Who has seen nominal {nominal_id}",
                           nominal_id=nominal_id, events=events, **_helpers())
