"""Pages of the cohort feature: the live tracker, the case page and its forms, referral.

Views are thin: policy check -> form -> service -> redirect. Every page that shows case
data writes one "view" row to the access log in the same request; refusals are logged and
answered 403 (or 404 where the case's existence must not leak).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import astuple, dataclass, replace

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from markupsafe import Markup

from auth.decorators import login_required, signed_in_or_401
from chronology.routes import case_entries
from cohort import queries, services, tracker_columns
from cohort.forms import (
    CATEGORY_LABELS,
    ENGAGEMENT_LABELS,
    NEED_LABELS,
    ActionForm,
    CaseDetailsForm,
    EngagementForm,
    ExitForm,
    NeedForm,
    NoteForm,
    RagForm,
    ReferExistingForm,
    ReferNewForm,
    ReferSearchForm,
    RereferForm,
    TrackerColumnsForm,
)
from cohort.models import NOTE_CATEGORIES, PATHWAYS, Action, Case, CaseEvent, Nominal, RagChange
from cohort.page_cache import page_cache
from cohort.queries import FLAGS, TrackerParams
from cohort.services import Invalid, Refused, StaleVersion
from core import clock
from core.extensions import db
from core.security import csp_nonce
from core.templating import format_date
from documents.services import documents as case_documents
from documents.services import writable_categories
from notifications.models import Notification
from sharing import audit
from sharing.gateway import case_version, display_name, unsealed, view_case
from sharing.policy import current_policy

bp = Blueprint("cohort", __name__)

TRACKER_CATEGORIES = ("identity", "offending", "risk")
CHRONOLOGY_ON_CASE_PAGE = 10  # the newest entries; the chronology page has them all


# -- helpers --------------------------------------------------------------------------

def _refuse(case: Case, category: str, action: str = "write"):
    audit.refused(f"policy: {category} {action} not granted", panel=case.panel, case_id=case.id)
    abort(403)


def _guard_write(case: Case, category: str) -> None:
    if not current_policy().can(case.panel_id, category, "write"):
        _refuse(case, category)


def _seen_now() -> str:
    return clock.utcnow().isoformat()


def _parse_seen(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _versioned(form, case: Case):
    """Stamp a fresh form with the case version it is drawn from."""
    if not form.is_submitted():
        form.version.data = case_version(case, current_policy())
        form.seen.data = _seen_now()
    return form


def _field_error(form, message: str) -> None:
    """Show a service's message against the form's first visible field (GOV.UK error summary)."""
    for name, field in form._fields.items():
        if name not in ("csrf_token", "version", "seen", "submit", "nominal_id"):
            field.errors = [*field.errors, message]
            return


def _log_view(case: Case, detail: str) -> None:
    policy = current_policy()
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=policy.readable(case.panel_id), detail=detail)


# -- the tracker ----------------------------------------------------------------------

@dataclass(frozen=True)
class _DrawnResults:
    """The results part of the tracker as drawn for one key (see cohort.page_cache)."""

    html: Markup
    page: int
    case_ids: str
    categories: frozenset[str]
    nominal_ids: tuple[int, ...] = ()


def _tracker_context(panel, params: TrackerParams, token: str | None = None) -> tuple[dict, tuple | None]:
    """The tracker as this viewer may see it, and the page-cache key of its table (None for
    a search); the table comes from the cache when nothing it shows has changed. Every view
    is logged, drawn or cached. `token`: the change token, if the caller has just read it."""
    policy = current_policy()
    # The token is read before the rows, so a change in between shows at the next poll.
    token = token or queries.change_token(panel, policy)
    readable = policy.readable(panel.id)
    columns = tracker_columns.chosen(g.user, panel.code, readable)

    def draw() -> _DrawnResults:
        page = queries.tracker_page(panel, policy, replace(params), tuple(tracker_columns.fields_of(columns)))
        # Each row's cells are drawn once in Python from the gateway's view (tracker_columns.cells),
        # not by a template macro per cell.
        tags = tracker_columns.FlagTags(FLAGS)
        rows = [(row, tracker_columns.cells(row.view, columns, tags(row.flags, row.other_panels)))
                for row in page.rows]
        # The table's head and the pagination show no case data: drawn once per query, columns
        # and number of pages, and kept (page_cache) across changes to the cohort.
        shape = (panel.code, astuple(page.params), frozenset(page.readable), tuple(c.key for c in columns))
        head = page_cache().get_or_make(("tracker-head", *shape), lambda: Markup(render_template(  # noqa: S704
            "cohort/_tracker_head.html", part="head", panel=panel, page=page, columns=columns)))
        pager = page_cache().get_or_make(("tracker-pager", *shape, page.pages), lambda: Markup(render_template(  # noqa: S704
            "cohort/_tracker_head.html", part="pager", pagination=_pagination(panel.code, page))))
        drawn = render_template(
            "cohort/_tracker_results.html", panel=panel, page=page, rows=rows, head=head, pager=pager,
            rows_url=url_for(".tracker_rows", code=panel.code, **page.params.query(), since=token),
        )
        html = Markup(drawn)  # noqa: S704 - the output of an autoescaping template, placed in the page again
        return _DrawnResults(html, page.params.page, ",".join(str(r.view["id"]) for r in page.rows),
                             frozenset(page.readable.intersection(TRACKER_CATEGORIES)),
                             tuple(r.view["nominal_id"] for r in page.rows))

    # Searches are logged as searches and depend on decrypted names: always drawn.
    key = None if params.q else ("tracker", panel.id, token, g.user.agency_id, frozenset(readable), astuple(params),
                                 tuple(c.key for c in columns))
    drawn = draw() if key is None else page_cache().get_or_make(key, draw)
    audit.record("view", panel=panel, categories=drawn.categories, nominal_ids=drawn.nominal_ids,
                 detail=f"tracker page {drawn.page}: cases {drawn.case_ids}"[:4000])
    return {
        "results": drawn.html,
        "params": params,
        "readable": readable,
        "token": token,
        "flags": FLAGS,
        "refreshed": clock.to_london(clock.utcnow()).strftime("%H:%M:%S"),
        "withheld_message": policy.withheld_message(panel.id),
        "columns": columns,
        "available_columns": tracker_columns.available(readable),
    }, key


@dataclass(frozen=True)
class _DrawnPage:
    """A tracker page's shell (header, filters, column chooser) as drawn for one session, less
    what each response must have new: its CSP nonce, the time it was refreshed and the results
    table (drawn as random stand-ins). The shell shows no case data, so it is kept across
    changes to the cohort; the table comes from its own cache entry, keyed on the change token."""

    html: str
    nonce: str
    refreshed: str
    results: str

    def fill(self, nonce: str, refreshed: str, results: str) -> str:
        return self.html.replace(self.nonce, nonce).replace(self.refreshed, refreshed).replace(self.results, results)


def _pagination(code: str, page) -> dict | None:
    if page.pages <= 1:
        return None
    current = page.params.page

    def href(n: int) -> str:
        return url_for(".tracker", code=code, **page.params.query(page=n))

    items, last = [], 0
    for n in range(1, page.pages + 1):
        if n in (1, page.pages) or abs(n - current) <= 1:
            if last and n - last > 1:
                items.append({"ellipsis": True})
            items.append({"number": n, "href": href(n), "current": n == current})
            last = n
    out: dict = {"items": items}
    if current > 1:
        out["previous"] = {"href": href(current - 1)}
    if current < page.pages:
        out["next"] = {"href": href(current + 1)}
    return out


def _unread_statement():
    return (db.select(db.func.count()).select_from(Notification)
            .where(Notification.user_id == db.bindparam("user_id"), Notification.read_at.is_(None)))


_UNREAD = _unread_statement()  # kept: every tracker page asks it


@bp.route("/panels/<code>/tracker")
@login_required
def tracker(code: str):
    """The tracker page. A reload by the same session is served from the page cache: its shell
    (header, filters, column chooser) whatever the cohort does, its table until the cohort
    changes (cohort.page_cache); the nonce and refresh time are filled in anew, and the view
    is still logged each time."""
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    params = TrackerParams.from_args(request.args)
    ctx, cache_key = _tracker_context(panel, params)
    can_refer = policy.can(panel.id, "offending", "write")

    def draw(refreshed: str, results=ctx["results"]) -> str:
        return render_template(
            "cohort/tracker.html", title=f"{panel.name}: live tracker", panel=panel,
            agencies=queries.lead_agencies(), can_refer=can_refer, columns_form=TrackerColumnsForm(),
            **(ctx | {"refreshed": refreshed, "results": results}),
        )

    if cache_key is None or session.get("_flashes"):  # a search, or a message to show once
        return draw(ctx["refreshed"])
    # The shell's key is the results' key less the change token, plus what the header shows
    # (its count of unread notifications, as notifications.services.unread_count counts them).
    unread = db.session.execute(_UNREAD, {"user_id": g.user.id}).scalar_one()
    key = ("tracker-shell", cache_key[:2] + cache_key[3:], g.user_session.id, g.user.name, g.user.roles_csv,
           can_refer, unread)

    def draw_whole() -> _DrawnPage:
        stand_in, results = f"refreshed-{uuid.uuid4().hex}", f"results-{uuid.uuid4().hex}"
        return _DrawnPage(draw(stand_in, results), csp_nonce(), stand_in, results)

    return page_cache().get_or_make(key, draw_whole).fill(csp_nonce(), ctx["refreshed"], str(ctx["results"]))


@bp.route("/panels/<code>/tracker/columns", methods=["POST"])
@login_required
def tracker_columns_choice(code: str):
    """Remember the columns this user chose for the panel's tracker, then show it again."""
    panel = queries.panel_or_404(code, current_policy())
    form = TrackerColumnsForm()
    if not form.validate_on_submit():
        abort(400, "The form has expired. Go back, reload the page and try again.")
    keys = [] if request.form.get("reset") else request.form.getlist("columns")
    tracker_columns.remember(g.user, panel.code, keys)
    db.session.commit()
    flash("Columns reset to the standard ones" if not keys else "Your choice of columns is saved", "success")
    back = TrackerParams.from_args(request.args).query()
    return redirect(url_for(".tracker", code=panel.code, **back))


@bp.route("/panels/<code>/tracker/rows")
@signed_in_or_401
def tracker_rows(code: str):
    """The polled fragment: 204 when nothing on the panel changed since `since`."""
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    token = queries.change_token(panel, policy)
    if request.args.get("since") == token:
        return "", 204
    params = TrackerParams.from_args(request.args)
    ctx, _ = _tracker_context(panel, params, token)
    return render_template("cohort/_tracker_poll.html", **ctx)


# -- the case page --------------------------------------------------------------------

def _case_page(case: Case, *, rag_form: RagForm | None = None):
    policy = current_policy()
    data = queries.case_page_data(case, policy)
    rag_form = rag_form or _versioned(RagForm(formdata=None), case)
    _log_view(case, "case page")
    return render_template(
        "cohort/case.html", title=data["name"], case=case, d=data, rag_form=rag_form,
        form=rag_form if rag_form.errors else None, policy=policy, flags=FLAGS,
        engagement_labels=ENGAGEMENT_LABELS, need_labels=NEED_LABELS, category_labels=CATEGORY_LABELS,
        rerefer_form=_versioned(RereferForm(formdata=None), case),
        chronology=case_entries(case, policy)[:CHRONOLOGY_ON_CASE_PAGE],
        documents=case_documents(case, policy), can_add_document=bool(writable_categories(case, policy)),
    )


@bp.route("/cases/<int:case_id>")
@login_required
def case(case_id: int):
    return _case_page(queries.case_or_404(case_id, current_policy()))


def _conflict(case_id: int, form, *, action: str, heading: str):
    """The case changed since the user loaded the form: show what changed, keep their values."""
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    seen = _parse_seen(form.seen.data)
    readable = policy.readable(case.panel_id)
    rag_changes, events = [], []
    if "risk" in readable:
        stmt = db.select(RagChange).filter_by(case_id=case.id).order_by(RagChange.at.desc(), RagChange.id.desc())
        stmt = stmt.where(RagChange.at >= seen) if seen else stmt.limit(1)
        rag_changes = db.session.execute(stmt.limit(20)).scalars().all()
    if "offending" in readable and seen:
        events = db.session.execute(
            db.select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.at >= seen)
            .order_by(CaseEvent.at.desc()).limit(20)
        ).scalars().all()
    form.version.data = case_version(case, policy)
    form.version.raw_data = [str(form.version.data)]
    form.seen.data = _seen_now()
    form.seen.raw_data = [form.seen.data]
    _log_view(case, "conflict page")
    return render_template(
        "cohort/conflict.html", title="Someone else changed this case", case=case, form_obj=form,
        name=display_name(case, policy), rag_changes=rag_changes, events=events, action=action, heading=heading,
        updated_by=case.updated_by, readable=readable, compared=_compared(case, form, policy),
    )


# Form fields named differently from the case view's fields.
_VIEW_FIELD = {"lead_agency_id": "lead_agency"}


def _shown(field, value) -> str:
    """A value as the form shows it: a choice's label, a date in words, blank as 'Not recorded'."""
    if value in (None, "", []):
        return "Not recorded"
    for choice, text in getattr(field, "choices", None) or []:
        if str(choice) == str(value):
            return str(text)
    if isinstance(value, dt.date):
        return format_date(value)
    return str(value)


def _compared(case, form, policy) -> list[dict]:
    """For every field of the form the case also holds (and the viewer may read): the value
    saved now beside the value the user sent, so they can see what their colleague wrote."""
    view = view_case(case, policy)
    agencies = {a.code: a.id for a in queries.lead_agencies()}
    rows = []
    for field in form:
        key = _VIEW_FIELD.get(field.name, field.name)
        if field.name in ("csrf_token", "version", "seen", "submit") or key not in view:
            continue
        theirs = view[key]
        if field.name == "lead_agency_id":
            theirs = agencies.get(theirs, theirs)
        rows.append({"label": field.label.text, "theirs": _shown(field, theirs), "yours": _shown(field, field.data),
                     "differs": _shown(field, theirs) != _shown(field, field.data)})
    return rows


@bp.route("/cases/<int:case_id>/rag", methods=["POST"])
@login_required
def change_rag(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    _guard_write(case, "risk")
    form = RagForm()
    if not form.validate_on_submit():
        return _case_page(case, rag_form=form)
    try:
        services.change_rag(case, to=form.rag.data, rationale=form.rationale.data, policy=policy,
                            expected_version=form.version.data)
    except StaleVersion:
        return _conflict(case_id, form, action=url_for(".change_rag", case_id=case_id), heading="Change the RAG")
    except Invalid as exc:
        form.rationale.errors = [*form.rationale.errors, str(exc)]
        return _case_page(case, rag_form=form)
    except Refused:
        _refuse(case, "risk")
    flash(f"RAG changed to {form.rag.data}", "success")
    return redirect(url_for(".case", case_id=case_id))


def _form_page(case: Case, form, *, title: str, template: str = "cohort/form.html", **extra):
    _log_view(case, f"form: {title}")
    return render_template(template, title=title, case=case, form=form,
                           name=display_name(case, current_policy()), **extra)


def _apply(case_id: int, form, call, *, success: str, heading: str, page_title: str, **extra):
    """Validate, call the service, handle conflicts and invalid input the same way everywhere."""
    case = queries.case_or_404(case_id, current_policy())
    if form.validate_on_submit():
        try:
            call(case, form)
        except StaleVersion:
            return _conflict(case_id, form, action=request.path, heading=heading)
        except Invalid as exc:
            _field_error(form, str(exc))
        except Refused:
            _refuse(case, "the category")
        else:
            flash(success, "success")
            return redirect(url_for(".case", case_id=case_id))
    return _form_page(case, _versioned(form, case), title=page_title, **extra)


@bp.route("/cases/<int:case_id>/engagement", methods=["GET", "POST"])
@login_required
def add_engagement(case_id: int):
    case = queries.case_or_404(case_id, current_policy())
    _guard_write(case, "offending")
    form = EngagementForm()
    if not form.is_submitted():
        form.on.data = clock.today()

    def call(case, form):  # append-only: nothing to overwrite, so a newer version is fine
        services.add_engagement(case, on=form.on.data, kind=form.kind.data, note=form.note.data,
                                policy=current_policy())

    return _apply(case_id, form, call, success="Engagement added", heading="Add engagement",
                  page_title="Add engagement")


@bp.route("/cases/<int:case_id>/needs/<pathway>", methods=["GET", "POST"])
@login_required
def set_need(case_id: int, pathway: str):
    if pathway not in PATHWAYS:
        abort(404)
    case = queries.case_or_404(case_id, current_policy())
    _guard_write(case, PATHWAYS[pathway][1])
    form = NeedForm()
    if not form.is_submitted():
        current = queries.need_of(case.id, pathway)
        if current is not None:
            form.level.data, form.note.data = current.level, current.note

    def call(case, form):
        services.set_need(case, pathway=pathway, level=form.level.data, note=form.note.data,
                          policy=current_policy(), expected_version=form.version.data)

    label = PATHWAYS[pathway][0]
    return _apply(case_id, form, call, success=f"{label} need saved", heading=f"Need: {label}",
                  page_title=f"Resettlement need: {label}")


@bp.route("/cases/<int:case_id>/actions/new", methods=["GET", "POST"])
@login_required
def add_action(case_id: int):
    case = queries.case_or_404(case_id, current_policy())
    _guard_write(case, "offending")
    form = ActionForm()
    form.owner_agency_id.choices = [(a.id, f"{a.name} ({a.code})") for a in queries.lead_agencies()]
    if not form.is_submitted():
        form.owner_agency_id.data = g.user.agency_id

    def call(case, form):
        services.add_action(case, description=form.description.data, owner_agency_id=form.owner_agency_id.data,
                            owner_name=form.owner_name.data, due=form.due.data, policy=current_policy())

    return _apply(case_id, form, call, success="Action added", heading="Add an action", page_title="Add an action")


@bp.route("/cases/<int:case_id>/actions/<int:action_id>/complete", methods=["POST"])
@login_required
def complete_action(case_id: int, action_id: int):
    case = queries.case_or_404(case_id, current_policy())
    _guard_write(case, "offending")
    action = db.session.get(Action, action_id)
    if action is None or action.case_id != case.id:
        abort(404)
    services.set_action_status(action, status="done", policy=current_policy())
    flash("Action marked as done", "success")
    return redirect(url_for(".case", case_id=case_id) + "#actions")


@bp.route("/cases/<int:case_id>/notes/new", methods=["GET", "POST"])
@login_required
def add_note(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    writable = [c for c in NOTE_CATEGORIES if policy.can(case.panel_id, c, "write")]
    if not writable:
        _refuse(case, "note")
    form = NoteForm()
    form.category.choices = [(c, CATEGORY_LABELS[c]) for c in writable]

    def call(case, form):
        services.add_note(case, category=form.category.data, body=form.body.data, policy=current_policy())

    return _apply(case_id, form, call, success="Note added", heading="Add a note", page_title="Add a note")


@bp.route("/cases/<int:case_id>/exit", methods=["GET", "POST"])
@login_required
def exit_case(case_id: int):
    case = queries.case_or_404(case_id, current_policy())
    _guard_write(case, "offending")
    if case.status == "exited" and request.method == "GET":
        flash("This case has already been exited", "info")
        return redirect(url_for(".case", case_id=case_id))
    form = ExitForm()

    def call(case, form):
        services.exit_case(case, reason=form.reason.data, policy=current_policy(),
                           expected_version=form.version.data, on=form.exited_on.data)

    return _apply(case_id, form, call, success="Case exited from the panel", heading="Exit from the panel",
                  page_title="Exit from the panel")


@bp.route("/cases/<int:case_id>/rerefer", methods=["POST"])
@login_required
def rerefer(case_id: int):
    case = queries.case_or_404(case_id, current_policy())
    _guard_write(case, "offending")
    form = RereferForm()

    def call(case, form):
        if form.version.data != case_version(case, current_policy()):
            raise StaleVersion(case, form.version.data, case_version(case, current_policy()))
        if case.status != "exited":
            raise Invalid("Only an exited case can be re-referred")
        services.refer(case.nominal, case.panel, ref=case.ref, policy=current_policy())

    return _apply(case_id, form, call, success="Case re-referred to the panel", heading="Re-refer",
                  page_title="Re-refer to the panel")


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit_case(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    form = CaseDetailsForm()
    fields = [f for f, (cat, _) in services.CASE_FIELDS.items() if policy.can(case.panel_id, cat, "write")]
    if not fields:
        _refuse(case, "case details")
    for name in list(services.CASE_FIELDS):
        if name not in fields:
            delattr(form, name)
    if case.status == "exited" and "status" in fields:
        delattr(form, "status")
        fields.remove("status")
    if "lead_agency_id" in fields:
        form.lead_agency_id.choices = [("", "Not set")] + [(str(a.id), a.name) for a in queries.lead_agencies()]
    if not form.is_submitted():
        for name in fields:
            with unsealed("the fields this user may write, to edit"):
                value = getattr(case, name)
            getattr(form, name).data = value if isinstance(value, dt.date) else ("" if value is None else str(value))

    def call(case, form):
        changes = {}
        for name in fields:
            value = getattr(form, name).data
            if name in ("lead_agency_id", "mappa_category", "mappa_level"):
                value = int(value) if value else None
            elif isinstance(value, str):
                value = value.strip() or None
            changes[name] = value
        services.update_case(case, changes=changes, policy=current_policy(), expected_version=form.version.data)

    return _apply(case_id, form, call, success="Case details saved", heading="Change case details",
                  page_title="Change case details")


# -- referral -------------------------------------------------------------------------

def _guard_refer(panel) -> None:
    if not current_policy().can(panel.id, "offending", "write"):
        audit.refused("policy: offending write not granted (refer)", panel=panel)
        abort(403)


def _new_ref(panel) -> str:
    return f"{panel.code}-{uuid.uuid4().hex[:8].upper()}"


@bp.route("/panels/<code>/refer")
@login_required
def refer(code: str):
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    _guard_refer(panel)
    form = ReferSearchForm(request.args)
    results = None
    if request.args.get("q") is not None and form.validate():
        results = queries.referral_candidates(form.q.data, policy, panel)
        audit.record("search", panel=panel, categories=["identity"],
                     nominal_ids=[r["nominal"].id for r in results],
                     detail=f"referral search: {len(results)} result(s)")
    return render_template("cohort/refer.html", title=f"Refer someone to {panel.name}", panel=panel,
                           search_form=form, form=form if form.errors else None, results=results,
                           existing_form=ReferExistingForm(formdata=None))


@bp.route("/panels/<code>/refer/existing", methods=["POST"])
@login_required
def refer_existing(code: str):
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    _guard_refer(panel)
    form = ReferExistingForm()
    if not form.validate_on_submit():
        abort(400, "Choose the person to refer")
    nominal = db.session.get(Nominal, form.nominal_id.data)
    if nominal is None or nominal.merged_into_id is not None or not queries.may_see_nominal(nominal.id, policy):
        audit.refused("refer: nominal not visible to the agency", panel=panel, nominal_id=form.nominal_id.data)
        abort(404, "There is no such person you may see")
    try:
        case = services.refer(nominal, panel, ref=(form.ref.data or "").strip() or _new_ref(panel), policy=policy)
    except Invalid as exc:
        flash(str(exc), "info")
        return redirect(url_for(".refer", code=code))
    except Refused:
        audit.refused("policy: offending write not granted (refer)", panel=panel)
        abort(403)
    flash(f"Referred to {panel.name}", "success")
    return redirect(url_for(".case", case_id=case.id))


@bp.route("/panels/<code>/refer/new", methods=["GET", "POST"])
@login_required
def refer_new(code: str):
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    _guard_refer(panel)
    if not policy.can(panel.id, "identity", "write"):
        audit.refused("policy: identity write not granted (new nominal)", panel=panel)
        abort(403)
    form = ReferNewForm()
    form.lead_agency_id.choices = [("", "Not set")] + [(str(a.id), a.name) for a in queries.lead_agencies()]
    can_contact = policy.can(panel.id, "contact", "write")
    if not can_contact:
        del form.address
        del form.postcode
    possible = []
    if form.validate_on_submit():
        identity = form.identity()
        if request.form.get("confirm") != "yes":
            possible = queries.possible_existing(identity, policy, panel)
        if not possible:
            try:
                case = services.refer_new_nominal(
                    panel, identity=identity, ref=(form.ref.data or "").strip() or _new_ref(panel), policy=policy,
                    lead_agency_id=int(form.lead_agency_id.data) if form.lead_agency_id.data else None,
                    lead_officer=(form.lead_officer.data or "").strip() or None,
                )
            except Invalid as exc:
                _field_error(form, str(exc))
            except Refused:
                audit.refused("policy: write not granted (new nominal)", panel=panel)
                abort(403)
            else:
                flash(f"Referred to {panel.name}", "success")
                return redirect(url_for(".case", case_id=case.id))
    if possible:
        audit.record("search", panel=panel, categories=["identity"],
                     nominal_ids=[r["nominal"].id for r in possible],
                     detail=f"referral duplicate check: {len(possible)} possible match(es)")
    return render_template("cohort/refer_new.html", title=f"Refer a new person to {panel.name}", panel=panel,
                           form=form, possible=possible, existing_form=ReferExistingForm(formdata=None))
