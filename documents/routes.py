"""Pages for case documents: upload (CSRF, type from content, size limit) and download (logged).

A download the viewer may not read answers the same 404 as one that does not exist, and
both are logged as refusals; a download that succeeds is logged as an export of that
category, since the file leaves the service.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from auth.decorators import login_required
from cohort import queries
from cohort.services import Invalid, Refused
from core.forms import CATEGORY_LABELS
from documents import services
from documents.forms import UploadForm
from sharing import audit
from sharing.gateway import display_name
from sharing.policy import current_policy

bp = Blueprint("documents", __name__)


@bp.route("/cases/<int:case_id>/documents/new", methods=["GET", "POST"])
@login_required
def upload(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    writable = services.writable_categories(case, policy)
    if not writable:
        audit.refused("policy: no category writable for documents", panel=case.panel, case_id=case.id)
        abort(403)
    form = UploadForm()
    form.category.choices = [(c, CATEGORY_LABELS[c]) for c in writable]
    if form.validate_on_submit():
        storage = form.file.data
        data = storage.stream.read(services.MAX_BYTES + 1)
        try:
            services.upload(case, data=data, filename=storage.filename, category=form.category.data, policy=policy)
        except Invalid as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        except Refused:
            audit.refused("policy: document category not writable", panel=case.panel, case_id=case.id)
            abort(403)
        else:
            flash("Document added", "success")
            return redirect(url_for("cohort.case", case_id=case.id, _anchor="documents"))
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=["identity"] if policy.can(case.panel_id, "identity") else [],
                 detail="form: upload a document")
    return render_template("documents/upload.html", title="Add a document", case=case, form=form,
                           name=display_name(case, policy), limit_mb=services.MAX_BYTES // (1024 * 1024))


@bp.route("/cases/<int:case_id>/documents/<int:document_id>")
@login_required
def download(case_id: int, document_id: int):
    policy = current_policy()
    return services.download(queries.case_or_404(case_id, policy), document_id, policy)
