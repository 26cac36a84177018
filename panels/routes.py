"""Pages of the panels feature: dashboard, panels, meetings, agendas, outcomes, KPIs.

Views are thin: load (404), check (403, logged), call a service, redirect. The request
commits once; anything that fails rolls back (core.app).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import bindparam
from sqlalchemy.orm import aliased, defaultload

from auth.decorators import login_required, roles_required
from cohort.models import Action, Case
from cohort.page_cache import page_cache
from cohort.services import Invalid, Refused
from core import clock
from core.extensions import db
from core.security import csp_nonce
from dashboards.views import render_dashboard
from equality import monitoring
from lifecycle import register
from panels import actions as acts
from panels import agenda as agendas
from panels import inclusion
from panels import meetings as mtg
from panels import queries as pq
from panels import referrals as refs
from panels.forms import (
    ActionForm,
    ActionStatusForm,
    AddItemForm,
    AttendeeForm,
    CancelMeetingForm,
    InclusionForm,
    MinutesForm,
    MoveMeetingForm,
    OutcomeForm,
    ReferralDecisionForm,
    ReopenForm,
    SummaryForm,
    attendance_form,
    referral_form,
)
from panels.kpis import Period, build_charts, compute, csv_rows, data_token, viewer_key
from panels.models import AgendaItem, Meeting, Panel, Referral, Reminder
from panels.services import (
    MeetingError,
    cancel_meeting,
    is_coordinator,
    move_meeting,
    next_meeting,
    panel_by_code,
    upcoming_meetings,
    user_panels,
)
from sharing import audit
from sharing.gateway import MINUTES_CATEGORY, display_name, may_read, reveal, visible_other_panels
from sharing.policy import current_policy
from sharing.queries import isa_warnings

bp = Blueprint("panels", __name__)


# -- loading and checking -------------------------------------------------------------------------

def _panel(code: str) -> Panel:
    panel = panel_by_code(code)
    if panel is None:
        abort(404)
    if not current_policy().takes_part(panel.id):
        audit.refused("panel: the user's agency takes no part in this panel", panel=panel)
        abort(403)
    return panel


def _meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    policy = current_policy()
    if not policy.takes_part(meeting.panel_id) and not is_coordinator(g.user, meeting.panel, policy):
        audit.refused("meeting: the user's agency takes no part in this panel", panel=meeting.panel)
        abort(403)
    return meeting


def _coordinator(meeting_or_panel) -> None:
    panel = meeting_or_panel.panel if isinstance(meeting_or_panel, Meeting) else meeting_or_panel
    if not is_coordinator(g.user, panel, current_policy()):
        audit.refused("meeting: only the panel's coordinators may do this", panel=panel)
        abort(403)


_LIGHT_ITEM = [defaultload(AgendaItem.case).lazyload("*")]


def _item(meeting: Meeting, item_id: int, *, light: bool = False) -> AgendaItem:
    """The meeting's item (404 otherwise); `light` loads its case without the case's own
    relationships (nominal, agencies), for a save that reads only the case's columns."""
    item = db.session.get(AgendaItem, item_id, options=_LIGHT_ITEM if light else None)
    if item is None or item.meeting_id != meeting.id:
        abort(404)
    return item


def _counts(panel_ids: list[int]) -> dict[int, dict]:
    """Cohort size and RAG counts per panel (plain columns, counted in the database)."""
    out: dict[int, dict] = {pid: {"size": 0, "rag": {"red": 0, "amber": 0, "green": 0}} for pid in panel_ids}
    if not panel_ids:
        return out
    for pid, rag, n in db.session.execute(
        db.select(Case.panel_id, Case.rag, db.func.count(Case.id))
        .where(Case.panel_id.in_(panel_ids), Case.status != "exited")
        .group_by(Case.panel_id, Case.rag)
    ):
        out[pid]["size"] += n
        if rag in out[pid]["rag"]:
            out[pid]["rag"][rag] += n
    return out


# -- dashboard and panels ---------------------------------------------------------------------------

def _isa_warnings(today: dt.date) -> list[str]:
    """The warnings of the agreements the viewer's agency is party to."""
    return [w["message"] for w in isa_warnings(today, g.user.agency_id)]


def _reminders(panels: list[Panel]) -> list[Reminder]:
    """The open flag reminders of these panels. Agreement reminders are not listed: they
    repeat the live agreement warnings the dashboard shows above them (_isa_warnings)."""
    codes = {p.code for p in panels}
    rows = db.session.execute(
        db.select(Reminder).where(Reminder.dismissed_at.is_(None), Reminder.kind == "flags")
        .order_by(Reminder.due, Reminder.id)
    ).scalars()
    return [r for r in rows if r.key.split(":")[0] in codes]


def _overdue_actions(panels: list[Panel], policy, today: dt.date, limit: int = 50) -> list[dict]:
    ids = [p.id for p in panels if policy.can(p.id, "offending")]
    if not ids:
        return []
    actions = db.session.execute(
        db.select(Action).join(Case, Case.id == Action.case_id)
        .where(Case.panel_id.in_(ids), Action.status == "open", Action.due < today)
        .order_by(Action.due, Action.id).limit(limit)
    ).scalars().all()
    return [
        {"action": a, "case": a.case, "name": display_name(a.case, policy), "panel": a.case.panel.code}
        for a in actions
    ]


@bp.route("/")
@login_required
def dashboard():
    policy = current_policy()
    today = clock.today()
    panels = user_panels(policy)
    ids = [p.id for p in panels]
    meetings = upcoming_meetings(ids, today)
    upcoming = [m for m in meetings if m.date <= today + dt.timedelta(days=42)]
    published = [m for m in meetings if m.status == "published"]
    overdue = _overdue_actions(panels, policy, today)
    for row in overdue:
        audit.record("view", panel=row["case"].panel, nominal_id=row["case"].nominal_id, case_id=row["case"].id,
                     categories=["offending"], detail="dashboard: overdue action")
    return render_dashboard(upcoming=upcoming, published=published, overdue=overdue,
                            isa_warnings=_isa_warnings(today), reminders=_reminders(panels),
                            inclusion_due=_inclusion_dashboard(panels, policy))


@bp.route("/panels")
@login_required
def index():
    policy = current_policy()
    today = clock.today()
    panels = user_panels(policy)
    counts = _counts([p.id for p in panels])
    rows = [
        {"panel": p, "next": next_meeting(p, today), "size": counts[p.id]["size"],
         "rag": counts[p.id]["rag"] if policy.can(p.id, "risk") else None}
        for p in panels
    ]
    return render_template("panels/index.html", title="Panels", rows=rows)


@bp.route("/panels/<code>")
@login_required
def panel(code: str):
    panel = _panel(code)
    today = clock.today()
    meetings = db.session.execute(
        db.select(Meeting).where(Meeting.panel_id == panel.id, Meeting.date >= today - dt.timedelta(days=183))
        .order_by(Meeting.date)
    ).scalars().all()
    tracker = url_for("cohort.tracker", code=panel.code) if "cohort.tracker" in current_app.view_functions else None
    return render_template(
        "panels/panel.html", title=panel.name, panel=panel, upcoming=[m for m in meetings if m.date >= today],
        past=[m for m in meetings if m.date < today][::-1], tracker=tracker,
        coordinator=is_coordinator(g.user, panel, current_policy()),
    )


# -- moving and cancelling meetings ------------------------------------------------------------------

@bp.route("/meetings/<int:meeting_id>/move", methods=["GET", "POST"])
@login_required
def move(meeting_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    form = MoveMeetingForm()
    if request.method == "GET":
        form.date.data, form.time.data = meeting.date, meeting.time
    if form.validate_on_submit():
        try:
            move_meeting(meeting, to=form.date.data, reason=form.reason.data, user=g.user, time=form.time.data or None)
        except MeetingError as exc:
            form.date.errors.append(str(exc))
        else:
            flash(f"Meeting moved to {form.date.data.strftime('%-d %B %Y')}.", "success")
            return redirect(url_for("panels.panel", code=meeting.panel.code))
    return render_template("panels/move.html", title="Move meeting", meeting=meeting, form=form)


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(meeting_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    form = CancelMeetingForm()
    if form.validate_on_submit():
        try:
            cancel_meeting(meeting, reason=form.reason.data, user=g.user)
        except MeetingError as exc:
            form.reason.errors.append(str(exc))
        else:
            flash(f"Meeting on {meeting.date.strftime('%-d %B %Y')} cancelled.", "success")
            return redirect(url_for("panels.panel", code=meeting.panel.code))
    return render_template("panels/cancel.html", title="Cancel meeting", meeting=meeting, form=form)


# -- the meeting ---------------------------------------------------------------------------------------

def _meeting_page(meeting: Meeting, *, att_form=None, minutes_form=None, problems=None, status: int = 200):
    policy = current_policy()
    coordinator = is_coordinator(g.user, meeting.panel, policy)
    agencies = mtg.panel_agencies(meeting.panel_id, meeting.date)
    current = {a.agency_id: a.status for a in meeting.attendance}
    if att_form is None:
        att_form = attendance_form(agencies, current)
    if minutes_form is None:
        minutes = reveal(meeting, "minutes", policy) if coordinator else None
        minutes_form = MinutesForm(prefix="minutes", data={"minutes": minutes or ""} if coordinator else None)
    items = []
    if coordinator and meeting.agenda_generated_at is not None:
        drafts = agendas.current_items(meeting)
        rows = agendas.agenda_rows(meeting, drafts, policy)
        stored = {i.case_id: i for i in meeting.items}
        items = [{**r, "item": stored.get(r["case_id"]),
                  "disclosure_decision": reveal(stored.get(r["case_id"]), "disclosure_decision", policy),
                  "disclosure_reason": reveal(stored.get(r["case_id"]), "disclosure_reason", policy)}
                 for r in rows]
        if rows:
            agendas.log_view(meeting, rows, policy)
    return render_template(
        "panels/meeting.html", title=f"{meeting.panel.name}: {meeting.date.strftime('%-d %B %Y')}", meeting=meeting,
        coordinator=coordinator, att_form=att_form, minutes_form=minutes_form, items=items, problems=problems or [],
        minutes_readable=may_read(meeting, "minutes", policy), risk=policy.can(meeting.panel_id, "risk"),
        minutes=reveal(meeting, "minutes", policy), may_close=mtg.may_close(meeting, policy),
        may_reopen=mtg.may_reopen(meeting),
        minutes_writable=coordinator and policy.can(meeting.panel_id, MINUTES_CATEGORY, "write"),
        attendance={a.agency_id: a.status for a in meeting.attendance}, agencies=agencies,
        labels=agendas.REASON_LABELS, summary=mtg.executive_summary(meeting, policy),
    ), status


@bp.route("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id: int):
    return _meeting_page(_meeting(meeting_id))


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["POST"])
@login_required
def attendance(meeting_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    agencies = mtg.panel_agencies(meeting.panel_id, meeting.date)
    form = attendance_form(agencies, {})
    if not form.validate_on_submit():
        return _meeting_page(meeting, att_form=form)
    try:
        mtg.record_attendance(meeting, {a.id: field.data for a, field in form.agency_fields}, g.user)
    except (Invalid, mtg.MeetingStateError) as exc:
        form.submit.errors = [str(exc)]
        return _meeting_page(meeting, att_form=form, problems=[str(exc)], status=422)
    flash("Attendance saved.", "success")
    return redirect(url_for("panels.meeting", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/minutes", methods=["POST"])
@login_required
def minutes(meeting_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    form = MinutesForm(prefix="minutes")
    if not form.validate_on_submit():
        return _meeting_page(meeting, minutes_form=form)
    try:
        mtg.save_minutes(meeting, form.minutes.data, g.user)
    except Refused as exc:
        audit.refused(f"minutes: {exc}", panel=meeting.panel)
        abort(403, str(exc))
    except (Invalid, mtg.MeetingStateError) as exc:
        return _meeting_page(meeting, minutes_form=form, problems=[str(exc)], status=422)
    flash("Minutes saved.", "success")
    return redirect(url_for("panels.meeting", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/summary", methods=["GET", "POST"])
@login_required
def summary(meeting_id: int):
    """The coordinator writes or edits the executive summary, shared with every agency taking part."""
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    form = SummaryForm(prefix="summary")
    if request.method == "GET":
        form.summary.data = mtg.summary_text(meeting)
    elif form.validate_on_submit():
        try:
            mtg.save_summary(meeting, form.summary.data, g.user)
        except (Invalid, mtg.MeetingStateError) as exc:
            form.summary.errors = [str(exc)]
        else:
            flash("Executive summary saved.", "success")
            return redirect(url_for("panels.meeting", meeting_id=meeting.id))
    status = 422 if form.errors else 200
    return render_template("panels/summary.html", title="Executive summary", meeting=meeting, form=form), status


@bp.route("/meetings/<int:meeting_id>/summary/print")
@login_required
def summary_print(meeting_id: int):
    """The shareable executive summary: its text and counts, nothing about any one nominal,
    for every agency taking part (counts drawn from a category only where it is readable)."""
    meeting = _meeting(meeting_id)
    if meeting.status == "cancelled":
        abort(404)
    policy = current_policy()
    audit.record("print", panel=meeting.panel, categories=[],
                 detail=f"executive summary of meeting {meeting.id}")
    return render_template("panels/summary_print.html", title=f"Executive summary: {meeting.panel.name}",
                           meeting=meeting, summary=mtg.executive_summary(meeting, policy))


def _close_page(meeting: Meeting, *, problems=None, status: int = 200):
    """The GOV.UK confirmation page before closing: what closing does and which items for
    discussion have no outcome yet (by case reference, which the closer may read)."""
    too_early = meeting.date > clock.today()
    # Not yet stored (closing stores it first): the draft's items for discussion are all undecided.
    undecided = mtg.undecided_items(meeting) if meeting.agenda_generated_at is not None else [
        d for d in agendas.draft_agenda(meeting) if d.for_discussion]
    return render_template(
        "panels/close.html", title="Close the meeting", meeting=meeting, too_early=too_early,
        undecided=undecided, problems=problems or [], reopened=meeting.reopened_at is not None,
    ), status


@bp.route("/meetings/<int:meeting_id>/close", methods=["GET", "POST"])
@login_required
def close(meeting_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    policy = current_policy()
    if not mtg.may_close(meeting, policy):
        audit.refused("meeting close: risk write not granted", panel=meeting.panel)
        abort(403, "Your agency may not record risk decisions on this panel, so cannot close its meetings")
    if request.method == "GET":
        return _close_page(meeting)
    try:
        closed = mtg.close_meeting(meeting, policy, confirm=request.form.get("confirm") == "yes")
    except Refused as exc:
        audit.refused(f"meeting close: {exc}", panel=meeting.panel)
        abort(403, str(exc))
    except mtg.TooEarly as exc:
        return _close_page(meeting, problems=[str(exc)], status=409)
    except mtg.Undecided:
        return _close_page(meeting, status=200)
    except mtg.MeetingStateError as exc:
        db.session.rollback()
        meeting = db.session.get(Meeting, meeting_id)
        return _meeting_page(meeting, problems=exc.problems, status=422)
    flash("Meeting closed: decisions, reviews and actions are now on the cases." if closed
          else "This meeting was already closed.", "success")
    for ref in closed.not_applied:
        flash(f"{ref}: not applied — the decision's recorder may no longer record risk decisions on this panel.",
              "error")
    return redirect(url_for("panels.meeting", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/reopen", methods=["GET", "POST"])
@login_required
def reopen(meeting_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            mtg.reopen_meeting(meeting, current_policy(), form.reason.data)
        except Refused as exc:
            audit.refused(f"meeting reopen: {exc}", panel=meeting.panel)
            abort(403, str(exc))
        except (Invalid, mtg.MeetingStateError) as exc:
            form.reason.errors = [str(exc)]
        else:
            flash("Meeting reopened: closing it again applies only what changes.", "success")
            return redirect(url_for("panels.meeting", meeting_id=meeting.id))
    status = 422 if form.errors else 200
    return render_template("panels/reopen.html", title="Reopen the meeting", meeting=meeting, form=form,
                           may_reopen=mtg.may_reopen(meeting)), status


# -- agenda --------------------------------------------------------------------------------------------

def _agenda_rows(meeting: Meeting, policy, coordinator: bool) -> list[dict] | None:
    """The rows this viewer may see, or None while the agenda is unpublished to them."""
    if meeting.status in ("published", "closed") or coordinator:
        return agendas.agenda_rows(meeting, agendas.current_items(meeting), policy)
    return None


@bp.route("/meetings/<int:meeting_id>/agenda")
@login_required
def agenda(meeting_id: int):
    meeting = _meeting(meeting_id)
    policy = current_policy()
    coordinator = is_coordinator(g.user, meeting.panel, policy)
    rows = _agenda_rows(meeting, policy, coordinator)
    add_form = None
    if rows is not None:
        agendas.log_view(meeting, rows, policy)
        if coordinator and meeting.status in agendas.EDITABLE:
            add_form = _add_form(meeting, rows, policy)
    carried = _carried(meeting, policy) if coordinator and rows is not None else []
    return render_template(
        "panels/agenda.html", title=f"Agenda: {meeting.panel.name}, {meeting.date.strftime('%-d %B %Y')}",
        form=add_form, withheld=policy.withheld_message(meeting.panel_id), carried=carried,
        action_labels=acts.STATUS_LABELS,
        **_sections_context(meeting, rows, policy, coordinator),
    )


def _sections_context(meeting: Meeting, rows: list[dict] | None, policy, coordinator: bool,
                      announce: str = "") -> dict:
    """What templates/panels/_agenda_sections.html needs: the two lists, capacity, controls."""
    items, info = agendas.split(rows) if rows is not None else ([], [])
    return dict(
        meeting=meeting, rows=rows, items=items, info=info, capacity=meeting.panel.capacity,
        coordinator=coordinator, stored={i.case_id: i.id for i in meeting.items} if coordinator else {},
        reorder=not agendas.order_is_neutral(meeting.panel_id, policy), labels=agendas.REASON_LABELS,
        announce=announce,
    )


def _add_form(meeting: Meeting, rows: list[dict], policy) -> AddItemForm | None:
    on = {r["case_id"] for r in rows}
    cases = db.session.execute(
        db.select(Case).where(Case.panel_id == meeting.panel_id, Case.status != "exited").order_by(Case.ref)
    ).unique().scalars().all()
    choices = [(c.id, f"{display_name(c, policy)} ({c.ref})") for c in cases if c.id not in on]
    if not choices:
        return None
    form = AddItemForm(prefix="add")
    form.case_id.choices = choices
    return form


@bp.route("/meetings/<int:meeting_id>/agenda/print")
@login_required
def agenda_print(meeting_id: int):
    meeting = _meeting(meeting_id)
    policy = current_policy()
    rows = _agenda_rows(meeting, policy, is_coordinator(g.user, meeting.panel, policy))
    if rows is None:
        abort(404)
    agendas.log_view(meeting, rows, policy, action="print")
    items, info = agendas.split(rows)
    marking = _register_agenda_print(meeting, rows, policy)
    return render_template("panels/agenda_print.html", title=f"Agenda: {meeting.panel.name}", meeting=meeting,
                           rows=items, info=info, capacity=meeting.panel.capacity, labels=agendas.REASON_LABELS,
                           withheld=policy.withheld_message(meeting.panel_id), marking=marking)


def _register_agenda_print(meeting: Meeting, rows: list[dict], policy) -> str:
    """No shadow lists (issue 16): a printed agenda is for its meeting, so it is registered with that
    purpose, to be destroyed a week after the meeting (within the register's 90 days); its marking."""
    today = clock.today()
    held = meeting.date
    destroy_by = min(max(held, today) + dt.timedelta(days=7), today + dt.timedelta(days=register.MAX_KEEP_DAYS))
    rec = register.record_export(meeting.panel, policy.user, kind="print", purpose="panel_meeting",
                                 destroy_by=destroy_by, case_ids=[r["case_id"] for r in rows],
                                 note=f"agenda for the meeting of {held.isoformat()}")
    return register.marking(rec)


def _agenda_change(meeting_id: int, change) -> object:
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    try:
        message = change(meeting)
    except agendas.AgendaError as exc:
        flash(str(exc), "error")
        return redirect(url_for("panels.agenda", meeting_id=meeting.id))
    if message:
        flash(message, "success")
    return redirect(url_for("panels.agenda", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/agenda/generate", methods=["POST"])
@login_required
def agenda_generate(meeting_id: int):
    def change(meeting):
        if meeting.status != "scheduled":
            raise agendas.AgendaError("A published agenda is not rebuilt; edit it instead")
        agendas.generate_agenda(meeting, refresh=True)
        return "Draft agenda rebuilt from the cohort as it stands."

    return _agenda_change(meeting_id, change)


@bp.route("/meetings/<int:meeting_id>/agenda/publish", methods=["POST"])
@login_required
def agenda_publish(meeting_id: int):
    def change(meeting):
        agendas.publish(meeting, g.user)
        return "Agenda published: partners can now read it."

    return _agenda_change(meeting_id, change)


@bp.route("/meetings/<int:meeting_id>/agenda/add", methods=["POST"])
@login_required
def agenda_add(meeting_id: int):
    def change(meeting):
        case = db.session.get(Case, request.form.get("add-case_id", type=int) or 0)
        if case is None:
            raise agendas.AgendaError("Choose a case to add")
        agendas.add_item(meeting, case, g.user)
        return "Case added to the agenda."

    return _agenda_change(meeting_id, change)


@bp.route("/meetings/<int:meeting_id>/agenda/items/<int:item_id>/remove", methods=["POST"])
@login_required
def agenda_remove(meeting_id: int, item_id: int):
    def change(meeting):
        agendas.remove_item(meeting, _item(meeting, item_id), g.user)
        return "Item removed from the agenda."

    return _agenda_change(meeting_id, change)


MOVED = {"up": "moved up", "down": "moved down", "discuss": "pulled up for discussion",
         "inform": "pushed down for information"}


@bp.route("/meetings/<int:meeting_id>/agenda/items/<int:item_id>/<any(up, down, discuss, inform):direction>",
          methods=["POST"])
@login_required
def agenda_move(meeting_id: int, item_id: int, direction: str):
    """Reorder, or move between "for discussion" and "for information"; an htmx request gets
    the two lists back to swap in place, a plain form post the page."""
    def change(meeting):
        item = _item(meeting, item_id)
        if direction in ("up", "down"):
            agendas.move_item(meeting, item, direction, current_policy())
        else:
            agendas.set_discussion(meeting, item, direction == "discuss", g.user, current_policy())
        return None

    if not request.headers.get("HX-Request"):
        return _agenda_change(meeting_id, change)
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    policy = current_policy()
    try:
        change(meeting)
    except agendas.AgendaError as exc:
        return str(exc), 409
    db.session.expire(meeting, ["items"])
    rows = agendas.agenda_rows(meeting, agendas.current_items(meeting), policy)
    agendas.log_view(meeting, rows, policy)
    ref = next((r["ref"] for r in rows if r["case_id"] == _item(meeting, item_id).case_id), "")
    return render_template("panels/_agenda_sections.html",
                           **_sections_context(meeting, rows, policy, True, announce=f"{ref} {MOVED[direction]}"))


# -- outcomes per item ------------------------------------------------------------------------------------

def _owner_choices(meeting: Meeting) -> list[tuple[int, str]]:
    return [(0, "Choose an agency"), *mtg.panel_agency_choices(meeting.panel_id, meeting.date)]


def _item_page(meeting: Meeting, item: AgendaItem, form: OutcomeForm, action_form: ActionForm, status: int = 200,
               inclusion_form: InclusionForm | None = None):
    policy = current_policy()
    case = item.case
    others = agendas.current_items(meeting)
    shown_others = next((visible_other_panels(policy, case.panel_id, d.other_panels)
                         for d in others if d.case_id == case.id), [])
    audit.record("view", panel=meeting.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=policy.readable(case.panel_id), detail=f"meeting {meeting.id} item outcome")
    return render_template(
        "panels/item.html", title=f"Outcome: {case.ref}", meeting=meeting, item=item, case=case,
        name=display_name(case, policy), risk=policy.can(case.panel_id, "risk"),
        risk_write=policy.can(case.panel_id, "risk", "write"), outcome=form, action_form=action_form,
        form=inclusion_form if inclusion_form is not None and inclusion_form.errors
        else action_form if action_form.errors and not form.errors else form,
        actions=mtg.meeting_actions(meeting).get(case.id, []), disclosure=mtg.needs_disclosure(case),
        default_review=mtg.default_next_review(meeting, case),
        reasons=agendas.visible_reasons(item.reasons or [], case.panel_id, policy, shown_others),
        labels=agendas.REASON_LABELS,
        inclusion_form=inclusion_form or InclusionForm(prefix="inclusion", formdata=None),
        inclusion_due=inclusion.next_due(case) if policy.can(case.panel_id, "offending") else None,
        may_include=bool(meeting.panel.inclusion_review_days) and policy.can(case.panel_id, "offending", "write"),
    ), status


@bp.route("/meetings/<int:meeting_id>/items/<int:item_id>", methods=["GET", "POST"])
@login_required
def item(meeting_id: int, item_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    item = _item(meeting, item_id)
    form = OutcomeForm(prefix="outcome")
    action_form = ActionForm(prefix="action")
    action_form.owner_agency_id.choices = _owner_choices(meeting)
    policy = current_policy()
    if request.method == "GET" and policy.can(meeting.panel_id, "risk"):
        form.rag.data = item.rag_decision
        form.rationale.data = reveal(item, "rationale", policy)
        form.next_review.data = item.next_review
        form.disclosure_considered.data = {True: "yes", False: "no"}.get(item.disclosure_considered)
        form.disclosure_decision.data = reveal(item, "disclosure_decision", policy)
        form.disclosure_reason.data = reveal(item, "disclosure_reason", policy)
    if form.validate_on_submit():
        considered = {"yes": True, "no": False}.get(form.disclosure_considered.data)
        try:
            mtg.record_outcome(
                meeting, item, user=g.user, rag=form.rag.data, rationale=form.rationale.data,
                next_review=form.next_review.data, disclosure_considered=considered,
                disclosure_decision=form.disclosure_decision.data, disclosure_reason=form.disclosure_reason.data,
                policy=policy,
            )
        except Refused as exc:
            audit.refused(f"meeting outcome: {exc}", panel=meeting.panel)
            abort(403, str(exc))
        except (Invalid, mtg.MeetingStateError) as exc:
            form.rag.errors = [str(exc)]
            return _item_page(meeting, item, form, action_form, status=422)
        flash(f"Outcome saved for {item.case.ref}.", "success")
        return redirect(url_for("panels.meeting", meeting_id=meeting.id))
    return _item_page(meeting, item, form, action_form)


@bp.route("/meetings/<int:meeting_id>/items/<int:item_id>/actions", methods=["POST"])
@login_required
def item_action(meeting_id: int, item_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    item = _item(meeting, item_id)
    if not current_policy().can(meeting.panel_id, "offending", "write"):
        audit.refused("meeting action: offending write not granted", panel=meeting.panel)
        abort(403, "Your agency may not record actions (offending information) on this panel")
    action_form = ActionForm(prefix="action")
    action_form.owner_agency_id.choices = _owner_choices(meeting)
    form = OutcomeForm(prefix="outcome", formdata=None)
    if action_form.validate_on_submit() and _past_due_confirmed(action_form):
        try:
            mtg.propose_action(
                meeting, item, user=g.user, description=action_form.description.data,
                owner_agency_id=action_form.owner_agency_id.data or None, owner_name=action_form.owner_name.data,
                due=action_form.due.data, policy=current_policy(),
            )
        except (Invalid, mtg.MeetingStateError) as exc:
            action_form.description.errors = [str(exc)]
            return _item_page(meeting, item, form, action_form, status=422)
        flash("Action added; it opens when the meeting closes.", "success")
        return redirect(url_for("panels.item", meeting_id=meeting.id, item_id=item.id))
    return _item_page(meeting, item, form, action_form)


def _past_due_confirmed(form: ActionForm) -> bool:
    """A due date in the past is allowed once the user confirms it (the API accepts it)."""
    if form.due.data is None or form.due.data >= clock.today() or form.confirm_past.data:
        return True
    form.due.errors = list(form.due.errors) + [
        "The due date is in the past: check it, then tick the box below to add the action anyway"]
    return False


# -- actions carried forward ------------------------------------------------------------------------

def _action(action_id: int) -> Action:
    action = db.session.get(Action, action_id)
    policy = current_policy()
    if action is None or not policy.takes_part(action.case.panel_id):
        audit.refused("action: not on a panel the agency takes part in", case_id=action.case_id if action else None)
        abort(404)
    if not acts.may_update(action, policy):
        audit.refused("action: neither its owner nor an offending writer", panel=action.case.panel,
                      case_id=action.case_id)
        abort(403)
    return action


@bp.route("/actions/<int:action_id>/status", methods=["GET", "POST"])
@login_required
def action_status(action_id: int):
    """The owner reports how an action is going before the meeting."""
    action = _action(action_id)
    policy = current_policy()
    form = ActionStatusForm()
    status = 200
    if form.validate_on_submit():
        try:
            acts.update_status(action, status=form.status.data, note=form.note.data, policy=policy)
        except acts.Invalid as exc:
            form.status.errors = [str(exc)]
            status = 422
        else:
            flash("Action status saved.", "success")
            return redirect(url_for("panels.action_status", action_id=action.id))
    elif form.errors:
        status = 422
    case = action.case
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id, categories=["offending"],
                 detail=f"action {action.id} status page")
    return render_template("panels/action_status.html", title="Action status", action=action, form=form,
                           name=display_name(case, policy),
                           history=[{"at": u.at, "status": u.status, "note": reveal(u, "note", policy, case.panel_id)}
                                    for u in acts.updates(action)],
                           labels=acts.STATUS_LABELS), status


def _carried(meeting: Meeting, policy) -> list[dict]:
    """Outstanding actions for the coordinator, where offending is readable on the panel (logged)."""
    if not policy.can(meeting.panel_id, "offending"):
        return []
    rows = []
    for c in acts.outstanding(meeting.panel_id, meeting.date):
        case = c.action.case
        rows.append({"carried": c, "case": case, "name": display_name(case, policy)})
    if rows:
        audit.record("view", panel=meeting.panel, categories=["offending"],
                     nominal_ids=tuple(r["case"].nominal_id for r in rows),
                     detail=f"outstanding actions for meeting {meeting.id}: cases "
                            f"{agendas.id_ranges([r['case'].id for r in rows])}")
    return rows


# -- meeting mode: running the sitting ------------------------------------------------------------------

def _run_list_statements():
    """Meeting mode's list query, built once (it runs at every save: building and keying a
    statement costs more than running it). Parameters: meeting_id, panel_id."""
    other = aliased(Case, name="other_case")
    base = (db.select(AgendaItem.id, AgendaItem.case_id, AgendaItem.discussed, AgendaItem.reasons,
                      Case.nominal_id, Case.ref, other.panel_id.label("other_id"), Panel.code.label("other_code"))
            .join(Case, Case.id == AgendaItem.case_id)
            .outerjoin(other, (other.nominal_id == Case.nominal_id) & (other.panel_id != bindparam("panel_id"))
                       & (other.status != "exited"))
            .outerjoin(Panel, Panel.id == other.panel_id)
            .where(AgendaItem.meeting_id == bindparam("meeting_id")))
    return {
        True: base.order_by(Case.ref, AgendaItem.case_id, Panel.code),  # reference order: every item
        False: base.where(AgendaItem.for_discussion.is_(True)).order_by(AgendaItem.position, AgendaItem.case_id,
                                                                        Panel.code),
    }


_RUN_LIST = _run_list_statements()
# The items shown with their case and nominal (the name); the case's agencies are not drawn.
_RUN_ITEMS = db.select(AgendaItem).where(AgendaItem.id.in_(bindparam("ids", expanding=True))).options(
    defaultload(AgendaItem.case).lazyload(Case.lead_agency),
    defaultload(AgendaItem.case).lazyload(Case.referring_agency))


class _ItemRef:
    """An agenda item in meeting mode's list: its id and whether it was discussed. The list is
    read at every save; only the item shown is loaded whole (_run_detail)."""

    __slots__ = ("id", "discussed")

    def __init__(self, item_id: int, discussed: bool):
        self.id, self.discussed = item_id, bool(discussed)


def _run_rows(meeting: Meeting, policy) -> list[dict]:
    """The stored items for discussion in the order this viewer sees them (agendas.agenda_rows'
    rule: a viewer shown the reference order gets every item, by reference), with each
    person's other live panels (agendas.other_panels' rule), from plain columns in one query.
    Names and case data are filled in by _run_detail for the rows shown."""
    if meeting.agenda_generated_at is None:
        return []
    neutral = agendas.order_is_neutral(meeting.panel_id, policy)
    rows: list[dict] = []
    for r in db.session.execute(_RUN_LIST[neutral], {"meeting_id": meeting.id, "panel_id": meeting.panel_id}):
        if not rows or rows[-1]["item"].id != r.id:
            rows.append({"item": _ItemRef(r.id, r.discussed), "case_id": r.case_id, "nominal_id": r.nominal_id,
                         "ref": r.ref, "reasons": list(r.reasons or []), "position": len(rows) + 1, "others": []})
        if r.other_id is not None:
            rows[-1]["others"].append((r.other_id, r.other_code))
    return rows


def _run_detail(meeting: Meeting, rows: list[dict | None], policy) -> None:
    """Fill in, in place, what this viewer may see of these rows (agendas.agenda_rows: name or
    pseudonym, RAG, dates, visible reasons and other panels), each with its stored item and
    case loaded in one query; the position stays the list's."""
    wanted = [r for r in rows if r is not None and "name" not in r]
    if not wanted:
        return
    ids = [r["item"].id for r in wanted]
    items = {i.id: i for i in db.session.execute(_RUN_ITEMS, {"ids": ids}).unique().scalars()}
    drafts = [agendas.ItemDraft(r["case_id"], r["nominal_id"], r["reasons"], r["others"],
                                position=r["position"], for_discussion=True, ref=r["ref"]) for r in wanted]
    shown = {d["case_id"]: d for d in agendas.agenda_rows(
        meeting, drafts, policy, cases={i.case_id: i.case for i in items.values()})}
    for r in wanted:
        r.update({k: v for k, v in shown[r["case_id"]].items() if k not in ("position", "for_discussion")},
                 item=items[r["item"].id])


def _current(rows: list[dict], item_id: int | None) -> dict | None:
    """The item asked for, else the first not yet discussed, else the first."""
    return (next((r for r in rows if r["item"].id == item_id), None)
            or next((r for r in rows if not r["item"].discussed), None) or (rows[0] if rows else None))


def _next_after(rows: list[dict], current: dict) -> dict | None:
    """The next undiscussed item after this one (wrapping round), or None when all are discussed."""
    i = rows.index(current)
    return next((r for r in rows[i + 1:] + rows[:i] if not r["item"].discussed), None)


def _outcome_form(item: AgendaItem, policy, meeting: Meeting) -> OutcomeForm:
    form = OutcomeForm(prefix="outcome", formdata=None)
    if policy.can(meeting.panel_id, "risk"):
        form.rag.data, form.rationale.data = item.rag_decision, reveal(item, "rationale", policy)
        form.next_review.data = item.next_review
        form.disclosure_considered.data = {True: "yes", False: "no"}.get(item.disclosure_considered)
        form.disclosure_decision.data = reveal(item, "disclosure_decision", policy)
    return form


def _run_context(meeting: Meeting, item_id: int | None, *, outcome=None, action_form=None,
                 saved: str = "", rows: list[dict] | None = None, whole: bool = False) -> dict:
    """What meeting mode shows: the list (every name when `whole`, for the full page), the
    current item whole, the next item's name."""
    policy = current_policy()
    rows = rows if rows is not None else _run_rows(meeting, policy)
    current = _current(rows, item_id)
    nxt = _next_after(rows, current) if current is not None else None
    _run_detail(meeting, rows if whole else [current, nxt], policy)
    context = {"meeting": meeting, "rows": rows, "current": current, "saved": saved,
               "discussed": sum(1 for r in rows if r["item"].discussed), "labels": agendas.REASON_LABELS,
               "risk": policy.can(meeting.panel_id, "risk"),
               "risk_write": policy.can(meeting.panel_id, "risk", "write"),
               "offending_write": policy.can(meeting.panel_id, "offending", "write")}
    if current is not None:
        item = current["item"]  # the stored item, loaded by _run_detail
        if action_form is None:
            action_form = ActionForm(prefix="action", formdata=None)
        action_form.owner_agency_id.choices = _owner_choices(meeting)
        context.update(item=item, outcome=outcome or _outcome_form(item, policy, meeting), action_form=action_form,
                       next_row=nxt, disclosure=mtg.needs_disclosure(item.case),
                       actions=mtg.item_actions(meeting, item.case_id) if context["offending_write"] else [],
                       default_review=mtg.default_next_review(meeting, item.case))
        audit.record("view", panel=meeting.panel, nominal_id=item.case.nominal_id, case_id=item.case_id,
                     categories=policy.readable(meeting.panel_id), detail=f"meeting {meeting.id} run: item")
    return context


def _run_answer(meeting: Meeting, item_id: int | None, status: int = 200, **kw):
    """The current item panel for htmx, else the whole meeting-mode page."""
    htmx = bool(request.headers.get("HX-Request"))
    context = _run_context(meeting, item_id, whole=not htmx, **{k: v for k, v in kw.items() if k != "attendee_form"})
    if htmx:  # htmx swaps only 2xx: errors come back inline with 200
        return render_template("panels/_run_item.html", **context), 200 if status == 422 else status
    agencies = mtg.panel_agencies(meeting.panel_id, meeting.date)
    form = kw.get("attendee_form") or AttendeeForm(prefix="attendee", formdata=None)
    form.agency_id.choices = [(0, "Choose an agency")] + [(a.id, a.name) for a in agencies]
    return render_template("panels/run.html", title=f"Meeting mode: {meeting.panel.name}", attendee_form=form,
                           statement=mtg.CONFIDENTIALITY_STATEMENT, **context), status


@bp.route("/meetings/<int:meeting_id>/run")
@login_required
def run(meeting_id: int):
    """Meeting mode: attendees, then each item for discussion in turn, recorded inline."""
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    return _run_answer(meeting, request.args.get("item", type=int))


@bp.route("/meetings/<int:meeting_id>/run/attendees", methods=["POST"])
@login_required
def run_attendee(meeting_id: int):
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    agencies = mtg.panel_agencies(meeting.panel_id, meeting.date)
    form = AttendeeForm(prefix="attendee")
    form.agency_id.choices = [(0, "Choose an agency")] + [(a.id, a.name) for a in agencies]
    if form.validate_on_submit():
        try:
            mtg.add_attendee(meeting, agency_id=form.agency_id.data, name=form.name.data, role=form.role.data,
                             acknowledged=form.acknowledged.data, user=g.user)
        except (Invalid, mtg.MeetingStateError) as exc:
            form.name.errors = [str(exc)]
        else:
            flash(f"{form.name.data} added to the attendees.", "success")
            return redirect(url_for("panels.run", meeting_id=meeting.id))
    context = _run_context(meeting, None, whole=True)
    return render_template("panels/run.html", title=f"Meeting mode: {meeting.panel.name}", attendee_form=form,
                           form=form, statement=mtg.CONFIDENTIALITY_STATEMENT, **context), 422


@bp.route("/meetings/<int:meeting_id>/run/items/<int:item_id>", methods=["POST"])
@login_required
def run_item(meeting_id: int, item_id: int):
    """Save the outcome and move to the next item (htmx swaps the item panel; no reload)."""
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    item = _item(meeting, item_id, light=True)
    form = OutcomeForm(prefix="outcome")
    if not form.validate_on_submit():
        return _run_answer(meeting, item.id, 422, outcome=form)
    try:
        mtg.record_outcome(
            meeting, item, user=g.user, rag=form.rag.data, rationale=form.rationale.data,
            next_review=form.next_review.data,
            disclosure_considered={"yes": True, "no": False}.get(form.disclosure_considered.data),
            disclosure_decision=form.disclosure_decision.data, disclosure_reason=form.disclosure_reason.data,
            policy=current_policy())
    except Refused as exc:
        audit.refused(f"meeting outcome: {exc}", panel=meeting.panel)
        abort(403, str(exc))
    except (Invalid, mtg.MeetingStateError) as exc:
        form.rag.errors = [str(exc)]
        return _run_answer(meeting, item.id, 422, outcome=form)
    rows = _run_rows(meeting, current_policy())
    here = next((r for r in rows if r["item"].id == item.id), None)
    nxt = _next_after(rows, here) if here else None
    target = nxt["item"].id if nxt else item.id
    if not request.headers.get("HX-Request"):
        flash(f"Outcome saved for {item.case.ref}.", "success")
        return redirect(url_for("panels.run", meeting_id=meeting.id, item=target))
    return _run_answer(meeting, target, saved=f"Outcome saved for {item.case.ref}.", rows=rows)


@bp.route("/meetings/<int:meeting_id>/run/items/<int:item_id>/actions", methods=["POST"])
@login_required
def run_item_action(meeting_id: int, item_id: int):
    """An action agreed on the current item, added inline."""
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    item = _item(meeting, item_id)
    if not current_policy().can(meeting.panel_id, "offending", "write"):
        audit.refused("meeting action: offending write not granted", panel=meeting.panel)
        abort(403)
    form = ActionForm(prefix="action")
    form.owner_agency_id.choices = _owner_choices(meeting)
    if form.validate_on_submit() and _past_due_confirmed(form):
        try:
            mtg.propose_action(meeting, item, user=g.user, description=form.description.data,
                               owner_agency_id=form.owner_agency_id.data or None, owner_name=form.owner_name.data,
                               due=form.due.data, policy=current_policy())
        except (Invalid, mtg.MeetingStateError) as exc:
            form.description.errors = [str(exc)]
        else:
            if not request.headers.get("HX-Request"):
                flash("Action added; it opens when the meeting closes.", "success")
                return redirect(url_for("panels.run", meeting_id=meeting.id, item=item.id))
            return _run_answer(meeting, item.id, saved=f"Action added for {item.case.ref}.")
    return _run_answer(meeting, item.id, 422, action_form=form)


# -- referrals ------------------------------------------------------------------------------------------

@bp.route("/panels/<code>/referrals/new", methods=["GET", "POST"])
@login_required
def referral_new(code: str):
    """The panel's referral form, with the criteria its partnership entry declares."""
    panel = _panel(code)
    policy = current_policy()
    if not policy.can(panel.id, "offending", "write"):
        audit.refused("referral: offending write not granted", panel=panel)
        abort(403)
    criteria = refs.criteria_of(panel)
    form = referral_form(criteria)
    problems, status = [], 200
    if form.validate_on_submit():
        identity = {"given_name": form.given_name.data, "family_name": form.family_name.data,
                    "date_of_birth": form.date_of_birth.data, "pnc": form.pnc.data}
        answers = {c["name"]: getattr(form, f"c_{c['name']}").data for c in criteria}
        try:
            referral = refs.refer(panel, policy=policy, reason=form.reason.data, criteria=answers, nominal=identity)
        except Refused as exc:
            audit.refused(f"referral: {exc}", panel=panel)
            abort(403)
        except (Invalid, refs.NotFound) as exc:
            problems, status = [str(exc)], 422
        else:
            flash(f"Referral sent: {referral.case.ref} is waiting for the coordinator's decision.", "success")
            return redirect(url_for("cohort.case", case_id=referral.case_id))
    elif form.errors:
        status = 422
    return render_template("panels/referral_new.html", title=f"Refer to {panel.name}", panel=panel, form=form,
                           criteria=[getattr(form, f"c_{c['name']}") for c in criteria], problems=problems), status


@bp.route("/panels/<code>/referrals")
@login_required
def referrals(code: str):
    """Referrals awaiting the coordinator's decision."""
    panel = _panel(code)
    _coordinator(panel)
    policy = current_policy()
    rows = [{"referral": r, "view": refs.referral_view(r, policy), "name": display_name(r.case, policy)}
            for r in refs.awaiting(panel.id)]
    if rows:
        ids = agendas.id_ranges([r["referral"].case_id for r in rows])
        audit.record("view", panel=panel, categories=policy.readable(panel.id),
                     nominal_ids=tuple(r["referral"].case.nominal_id for r in rows),
                     detail=f"referrals awaiting decision: cases {ids}")
    return render_template("panels/referrals.html", title=f"Referrals: {panel.name}", panel=panel, rows=rows,
                           risk=policy.can(panel.id, "risk"))


@bp.route("/referrals/<int:referral_id>", methods=["GET", "POST"])
@login_required
def referral(referral_id: int):
    """One referral and the coordinator's decision: accept, reject or defer, with a reason."""
    found = db.session.get(Referral, referral_id)
    policy = current_policy()
    if found is None or not policy.takes_part(found.panel_id):
        audit.refused("referral: not on a panel the agency takes part in")
        abort(404)
    _coordinator(found.panel)
    form = ReferralDecisionForm()
    status = 200
    if form.validate_on_submit():
        try:
            refs.decide(found, decision=form.decision.data, reason=form.reason.data, policy=policy)
        except Refused as exc:
            audit.refused(f"referral decision: {exc}", panel=found.panel)
            abort(403)
        except Invalid as exc:
            form.reason.errors = [str(exc)]
            status = 422
        else:
            flash(f"Referral {found.status}: {found.case.ref}.", "success")
            return redirect(url_for("panels.referrals", code=found.panel.code))
    elif form.errors:
        status = 422
    case = found.case
    audit.record("view", panel=found.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=policy.readable(found.panel_id), detail=f"referral {found.id}")
    return render_template("panels/referral.html", title="Referral decision", referral=found,
                           view=refs.referral_view(found, policy), name=display_name(case, policy), form=form,
                           criteria=refs.criteria_of(found.panel), risk=policy.can(found.panel_id, "risk")), status


# -- inclusion reviews -------------------------------------------------------------------------------------

@bp.route("/meetings/<int:meeting_id>/items/<int:item_id>/inclusion", methods=["POST"])
@login_required
def item_inclusion(meeting_id: int, item_id: int):
    """The panel's inclusion decision on an item; a removal lands when the meeting closes."""
    meeting = _meeting(meeting_id)
    _coordinator(meeting)
    item = _item(meeting, item_id)
    form = InclusionForm(prefix="inclusion")
    if form.validate_on_submit():
        try:
            inclusion.record(item.case, decision=form.decision.data, reason=form.reason.data,
                             policy=current_policy(), meeting=meeting, item=item)
        except Refused as exc:
            audit.refused(f"inclusion: {exc}", panel=meeting.panel)
            abort(403)
        except (Invalid, mtg.MeetingStateError) as exc:
            form.reason.errors = [str(exc)]
        else:
            flash(f"Inclusion decision recorded for {item.case.ref}.", "success")
            return redirect(url_for("panels.item", meeting_id=meeting.id, item_id=item.id))
    action_form = ActionForm(prefix="action", formdata=None)
    action_form.owner_agency_id.choices = _owner_choices(meeting)
    return _item_page(meeting, item, OutcomeForm(prefix="outcome", formdata=None), action_form, status=422,
                      inclusion_form=form)


@bp.route("/cases/<int:case_id>/inclusion", methods=["GET", "POST"])
@login_required
def case_inclusion(case_id: int):
    """An inclusion decision between meetings (from the dashboard); a removal exits the case now."""
    case = db.session.get(Case, case_id)
    policy = current_policy()
    if case is None or not policy.takes_part(case.panel_id):
        audit.refused("inclusion: not on a panel the agency takes part in", case_id=case_id)
        abort(404)
    _coordinator(case.panel)
    if not policy.can(case.panel_id, "offending", "write"):
        audit.refused("inclusion: offending write not granted", panel=case.panel, case_id=case.id)
        abort(403)
    form = InclusionForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            inclusion.record(case, decision=form.decision.data, reason=form.reason.data, policy=policy)
        except Invalid as exc:
            form.reason.errors = [str(exc)]
        else:
            flash(f"Inclusion decision recorded for {case.ref}.", "success")
            return redirect(url_for("panels.dashboard"))
    due = inclusion.next_due(case)
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id, categories=["offending"],
                 detail="inclusion review page")
    return render_template("panels/inclusion.html", title="Inclusion review", case=case, form=form, due=due,
                           overdue=due is not None and due < clock.today(), name=display_name(case, policy)), status


def _inclusion_dashboard(panels: list[Panel], policy) -> list[dict]:
    """Inclusion reviews due within four weeks on the coordinator's panels (overdue flagged), logged."""
    rows = []
    for panel in panels:
        if not is_coordinator(g.user, panel, policy):
            continue
        for due in pq.inclusion_due(panel, clock.today(), policy):
            rows.append({"due": due, "panel": panel, "name": display_name(due.case, policy)})
    if rows:
        audit.record("view", categories=["offending"], nominal_ids=tuple(r["due"].case.nominal_id for r in rows),
                     detail="dashboard: inclusion reviews due: cases "
                            + agendas.id_ranges([r["due"].case.id for r in rows]))
    return rows


# -- KPIs ------------------------------------------------------------------------------------------------

KPI_ROLES = ("coordinator", "analyst")


def _kpi_result():
    policy = current_policy()
    panels = user_panels(policy)
    code = request.args.get("panel") or ""
    if code:
        panels = [p for p in panels if p.code == code]
        if not panels:
            abort(404)
    today = clock.today()
    period = Period.last_months(today, 12)
    return panels, code, compute(panels, policy, period, today)


@bp.route("/kpis")
@roles_required(*KPI_ROLES)
def kpis():
    """The KPI page; between changes a reload is served whole from the page cache (nonce filled in anew)."""
    policy = current_policy()
    mine = user_panels(policy)
    code = request.args.get("panel") or ""

    def draw() -> str:
        panels, _, result = _kpi_result()
        return render_template("panels/kpis.html", title="KPIs", result=result, panels=mine, code=code,
                               charts=build_charts(result), chosen=panels)

    if session.get("_flashes"):
        return draw()
    key = ("kpis-page", code, data_token([p.id for p in mine]), clock.today(), viewer_key(mine, policy),
           g.user_session.id, g.user.name, g.user.roles_csv)
    nonce = csp_nonce()
    html, drawn_with = page_cache().get_or_make(key, lambda: (draw(), nonce))
    return html.replace(drawn_with, nonce)


@bp.route("/kpis/charts/<any(cohort, rag, flow, kpis):name>.svg")
@roles_required(*KPI_ROLES)
def kpi_chart(name: str):
    """One chart as an SVG file (the page draws the same chart inline)."""
    _, _, result = _kpi_result()
    chart = build_charts(result).get(name)
    if chart is None:
        abort(404)
    svg = render_template("panels/chart.svg", chart=chart, name=name)
    resp = current_app.response_class(svg, mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


@bp.route("/kpis/equality")
@roles_required(*KPI_ROLES)
def equality():
    """Equality monitoring for one panel and month (identity read on the panel needed)."""
    policy = current_policy()
    panels = [p for p in user_panels(policy) if monitoring.may_see(p, policy)]
    code = request.args.get("panel") or (panels[0].code if panels else "")
    months = monitoring.months_back(clock.today())
    chosen = next((p for p in panels if p.code == code), None)
    if code and chosen is None:
        abort(404)
    month = next((m for m in months if m.strftime("%Y-%m") == request.args.get("month")), months[-1])
    report = None
    if chosen is not None:
        report = monitoring.report(chosen, month)
        monitoring.log_view(chosen, month)
    return render_template("panels/equality.html", title="Equality monitoring", panels=panels, code=code,
                           months=months, month=month, report=report)


@bp.route("/kpis.csv")
@roles_required(*KPI_ROLES)
def kpis_csv():
    import csv
    import io

    _, code, result = _kpi_result()
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in csv_rows(result):
        writer.writerow([("'" + c) if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c
                         for c in row])
    resp = current_app.response_class(buf.getvalue(), mimetype="text/csv")
    name = f"kpis-{code or 'all'}-{clock.today().isoformat()}.csv"
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


from panels import feeds as _feeds  # noqa: E402,F401  (registers the iCal routes on bp)
