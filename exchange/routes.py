"""Pages for cohort lists in and out: upload -> preview -> confirm, CSV/XLSX export, print.

The uploaded bytes wait between preview and confirm in the instance folder, encrypted
through the service's one path (sharing.crypto: the "upload" data key, versioned and rotated
with the others) and bound (AES-GCM associated data) to the user and the signed-in session,
so a token is useless to anyone else; files expire after an hour and
are deleted on confirm. Confirm re-validates the stored file from scratch: the preview is
never trusted, and nothing is written until the user confirms an error-free plan.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for

from auth.decorators import login_required
from auth.models import Agency
from cohort import queries
from core import clock
from core.extensions import db
from core.labels import label
from exchange.exporting import FORMATS, snapshot
from exchange.forms import ConfirmForm, ImportForm
from exchange.import_template import importable_columns, template_csv, template_xlsx
from exchange.importing import ImportPlan, apply_import, plan_import, record_preview
from exchange.spreadsheet import (
    CSV_SUFFIXES,
    FIELD_CATEGORY,
    NOT_A_SPREADSHEET,
    XLSX_SUFFIXES,
    SpreadsheetError,
    SpreadsheetTooLarge,
    read_table,
)
from lifecycle import register
from lifecycle.routes import export_download
from sharing import audit
from sharing.crypto import BYTES, DecryptionError, keyring
from sharing.policy import current_policy

bp = Blueprint("exchange", __name__)

TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
UPLOAD_MAX_AGE = dt.timedelta(hours=1)
PREVIEW_ROWS = 20
PREVIEW_FIRST = ("given_name", "family_name", "rag", "lead_agency")
# Coded values shown in words in the preview (the file's own codes stay in the file).
CODED = ("rag", "cohort_type", "risk_level")
# The file picker's filter (a convenience: read_table checks the name and content itself).
ACCEPT = ",".join((*CSV_SUFFIXES, *XLSX_SUFFIXES, "text/csv",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


# -- the stored upload ----------------------------------------------------------------

def _uploads() -> Path:
    path = Path(current_app.instance_path) / "uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _aad(token: str) -> str:
    """Bound to the token, the user and the session: another session cannot open the file."""
    sess = g.get("user_session")
    return f"import-upload:{token}:{g.user.uid}:{sess.id if sess is not None else ''}"


def _sweep() -> None:
    """Delete uploads older than the limit (abandoned previews)."""
    cutoff = time.time() - UPLOAD_MAX_AGE.total_seconds()
    for path in _uploads().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def store_upload(panel_code: str, filename: str, data: bytes) -> str:
    """Keep an upload, encrypted, until the user confirms it; returns its token."""
    _sweep()
    token = secrets.token_urlsafe(24)
    meta = json.dumps({"panel": panel_code, "filename": filename, "at": clock.utcnow().isoformat()}).encode()
    # The service's one encryption path (sharing.crypto): the "upload" data key, rotated with the others.
    blob = keyring().encrypt("upload", BYTES[0](len(meta).to_bytes(4, "big") + meta + data), _aad(token))
    fd = os.open(_uploads() / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)
    return token


def load_upload(panel_code: str, token: str) -> tuple[str, bytes] | None:
    """(filename, bytes) of this user's upload for this panel, or None if absent or expired."""
    if not TOKEN.match(token):
        return None
    path = _uploads() / token
    try:
        plain = BYTES[1](keyring().decrypt(path.read_bytes(), _aad(token)))
    except (OSError, DecryptionError, ValueError):
        return None
    size = int.from_bytes(plain[:4], "big")
    meta = json.loads(plain[4:4 + size])
    if meta["panel"] != panel_code or clock.utcnow() - dt.datetime.fromisoformat(meta["at"]) > UPLOAD_MAX_AGE:
        discard_upload(token)
        return None
    return meta["filename"], plain[4 + size:]


def discard_upload(token: str) -> None:
    if TOKEN.match(token):
        (_uploads() / token).unlink(missing_ok=True)


# -- helpers --------------------------------------------------------------------------

def _import_panel(code: str):
    """The panel, if the user may add and change cases on it (offending write)."""
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    if not policy.can(panel.id, "offending", "write"):
        audit.refused("policy: offending write not granted (import)", panel=panel)
        abort(403)
    return panel


def _file_problem(exc: SpreadsheetError) -> str:
    text = str(exc)
    if isinstance(exc, SpreadsheetTooLarge):
        return f"The selected file is too large for a cohort list: {text}"
    if text.startswith(NOT_A_SPREADSHEET):
        return "The selected file must be a CSV or Excel (.xlsx) spreadsheet" + text[len(NOT_A_SPREADSHEET):]
    return f"The selected file could not be read: {text}"


def _mb(size: int) -> str:
    """A limit as people write it: 15 MB, 2 KB."""
    if size >= 1024 * 1024:
        return f"{round(size / (1024 * 1024), 1):g} MB"
    return f"{max(1, round(size / 1024)):g} KB"


def _preview(panel, plan: ImportPlan, token: str):
    policy = current_policy()
    readable = policy.readable(panel.id)
    # ref first (it heads each row, kept in view while the table scrolls), then the names and
    # what is hardest to check once the file is in: the RAG and the lead agency.
    shown = [c for c in plan.columns if c != "ref" and FIELD_CATEGORY.get(c) in readable]
    columns = sorted(shown, key=lambda c: (PREVIEW_FIRST.index(c) if c in PREVIEW_FIRST else len(PREVIEW_FIRST)))
    record_preview(plan)
    agencies = dict(db.session.execute(db.select(Agency.id, Agency.name)).all())
    return render_template(
        "exchange/import_preview.html", title=f"Check the import: {plan.filename}", panel=panel, plan=plan,
        counts=plan.counts(), sample=plan.rows[:PREVIEW_ROWS], columns=columns, token=token,
        confirm_form=ConfirmForm(formdata=None), withheld_message=policy.withheld_message(panel.id),
        agencies=agencies,
    )


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@bp.app_template_filter("import_cell")
def _import_cell(value, column: str = "") -> str:
    """A preview cell as a person reads it: coded values in words, lists and dates as text."""
    if column in CODED and isinstance(value, str):
        return label(value)
    return _cell(value)


# -- import ---------------------------------------------------------------------------

@bp.route("/panels/<code>/import", methods=["GET", "POST"])
@login_required
def upload(code: str):
    panel = _import_panel(code)
    form = ImportForm()
    limit = current_app.config["MAX_IMPORT_BYTES"]
    if form.validate_on_submit():
        storage = form.file.data
        data = storage.stream.read(limit + 1)
        filename = Path(storage.filename or "upload").name[:200]
        if len(data) > limit:
            form.file.errors.append(f"The selected file must be smaller than {_mb(limit)}")
        else:
            try:
                read_table(filename, data)
            except SpreadsheetError as exc:
                form.file.errors.append(_file_problem(exc))
            else:
                token = store_upload(panel.code, filename, data)
                return redirect(url_for(".preview", code=panel.code, token=token))
    return render_template("exchange/import.html", title=f"Import a cohort list to {panel.name}", panel=panel,
                           form=form, limit=_mb(limit), accept=ACCEPT)


@bp.route("/panels/<code>/import-template.<any(csv, xlsx):fmt>")
@login_required
def import_template(code: str, fmt: str):
    """An empty cohort file with the columns this user may import on the panel."""
    panel = _import_panel(code)
    columns = importable_columns(current_policy(), panel.id)
    if fmt == "csv":
        body, mimetype = template_csv(columns), "text/csv"
    else:
        body, mimetype = template_xlsx(columns), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{panel.code}-cohort-template.{fmt}"'
    return resp


def _uploaded(panel, token: str) -> tuple[str, list[str], list] | Response:
    """(file name, header, rows) of the upload kept under `token`, read again; or, when it has
    expired or is not this panel's, back to the upload form with a message."""
    stored = load_upload(panel.code, token)
    if stored is None:
        flash("That upload has expired or cannot be found. Upload the file again.", "info")
        return redirect(url_for(".upload", code=panel.code))
    filename, data = stored
    headers, rows = read_table(filename, data)
    return filename, headers, rows


@bp.route("/panels/<code>/import/<token>")
@login_required
def preview(code: str, token: str):
    panel = _import_panel(code)
    upload = _uploaded(panel, token)
    if isinstance(upload, Response):
        return upload
    filename, headers, rows = upload
    return _preview(panel, plan_import(panel, headers, rows, current_policy(), filename=filename), token)


@bp.route("/panels/<code>/import/<token>", methods=["POST"])
@login_required
def confirm(code: str, token: str):
    panel = _import_panel(code)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form has expired. Upload the file again.")
    upload = _uploaded(panel, token)
    if isinstance(upload, Response):
        return upload
    filename, headers, rows = upload
    policy = current_policy()
    plan = plan_import(panel, headers, rows, policy, filename=filename)
    if plan.errors:  # the cohort changed since the preview: show the problems again
        return _preview(panel, plan, token)
    result = apply_import(plan, policy)
    discard_upload(token)
    flash(f"Imported {filename}: {result.summary()}", "success")
    return redirect(url_for("cohort.tracker", code=panel.code))


# -- export and print -----------------------------------------------------------------

@bp.route("/panels/<code>/export.<fmt>")
@login_required
def export(code: str, fmt: str):
    """The file, for a purpose: `?purpose=` (one of EXPORT_PURPOSES) and optionally `&destroy_by=`
    (YYYY-MM-DD, default 30 days). Without a purpose a person is sent to choose one first; a
    purpose or date that is wrong is a 422 naming the parameter."""
    if fmt not in FORMATS:
        abort(404)
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    choice = export_choice(panel, fmt)
    if isinstance(choice, Response):
        return choice
    return export_download(panel, policy, fmt, *choice)


def export_choice(panel, fmt: str) -> tuple[str, dt.date | None] | Response:
    """The purpose and destroy-by date from the query, checked; or where to go instead."""
    purpose = request.args.get("purpose")
    raw_date = request.args.get("destroy_by")
    if not purpose and raw_date is None:  # a bare link: a person is asked first
        flash("Choose why you are exporting and until when you will keep the copy.", "info")
        return redirect(url_for("lifecycle.export_choose", code=panel.code, fmt=fmt))
    destroy_by = None
    problems = []
    if raw_date:
        try:
            destroy_by = dt.date.fromisoformat(raw_date)
        except ValueError:
            problems.append("destroy_by: must be a date, YYYY-MM-DD")
    problems += register.check(purpose, destroy_by or register.default_destroy_by())
    if problems:
        return _choice_problem(problems)
    return purpose, destroy_by


def _choice_problem(problems: list[str]) -> Response:
    return Response("Export refused: " + "; ".join(problems) + "\n", status=422, mimetype="text/plain")


@bp.route("/panels/<code>/print")
@login_required
def print_snapshot(code: str):
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    choice = export_choice(panel, "print")
    if isinstance(choice, Response):
        return choice
    purpose, destroy_by = choice
    s = snapshot(panel, policy, purpose=purpose, destroy_by=destroy_by)
    return render_template("exchange/export_print.html", title=f"{panel.name}: monthly snapshot", panel=panel,
                           s=s, marking=s["marking"])
