"""Administration of users and agencies (role admin only), on the auth blueprint.

Administrators manage accounts but see no case data (separation of duties). The rules live
in auth/services.py (shared with the `users` commands); these views are form -> service ->
redirect. A wrong role gets 403, written to the access log by roles_required.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from auth import services
from auth.decorators import roles_required
from auth.forms import KIND_LABELS, AgencyEditForm, AgencyNewForm, UserEditForm, UserFilterForm, UserNewForm
from auth.models import Agency, User, UserSession, partner_agencies
from auth.routes import bp
from auth.sessions import _expired as session_expired
from core import clock
from core.confirm import Confirmation, ask, confirmed
from core.extensions import db

ADMIN = "admin"


def _agencies() -> list[Agency]:
    return db.session.execute(partner_agencies(Agency.name)).scalars().all()


def _agency_choices(blank: str) -> list[tuple]:
    return [(0, blank)] + [(a.id, f"{a.name} ({a.code})") for a in _agencies()]


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.is_system:
        abort(404)
    return user


def _form_error(form, exc: services.Invalid) -> None:
    field = getattr(form, exc.field, None)
    if field is None or not hasattr(field, "errors"):
        field = form.submit
    field.errors = [*field.errors, exc.message]


def _live_sessions(user: User) -> int:
    rows = db.session.execute(db.select(UserSession).filter_by(user_id=user.id, revoked_at=None)).scalars()
    now = clock.utcnow()
    return sum(1 for r in rows if not session_expired(r, now))


# -- users ------------------------------------------------------------------------------------


@bp.route("/admin/users")
@roles_required(ADMIN)
def admin_users():
    form = UserFilterForm(request.args)
    form.agency.choices = [("", "All agencies")] + [(a.code, f"{a.name} ({a.code})") for a in _agencies()]
    query = db.select(User).filter_by(is_system=False).order_by(User.name)
    code = request.args.get("agency", "")
    if code:
        query = query.join(Agency).filter(Agency.code == code)
    users = db.session.execute(query).scalars().all()
    return render_template("admin/users.html", title="Users", users=users, filter_form=form, agency_code=code)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def admin_user_new():
    form = UserNewForm()
    form.agency_id.choices = _agency_choices("Select an agency")
    if form.validate_on_submit():
        data = services.UserData(email=form.email.data, name=form.name.data, agency_id=form.agency_id.data,
                                 roles=set(form.roles.data), password=form.password.data or None)
        try:
            user = services.create_user(data)
        except services.Invalid as exc:
            _form_error(form, exc)
        else:
            if user.password_hash:
                flash(f"{user.name} has been added and can sign in.", "success")
                return redirect(url_for("auth.admin_user", user_id=user.id))
            return _user_page(user, setup_link=_setup_link(user))
    return render_template("admin/user_new.html", title="Add a user", form=form)


def _setup_link(user: User) -> str:
    return url_for("auth.set_up", token=services.setup_token(user), _external=True)


def _user_page(user: User, form: UserEditForm | None = None, setup_link: str | None = None):
    if form is None:
        form = UserEditForm(formdata=None, obj=user)
        form.roles.data = sorted(user.roles)
        form.agency_id.choices = _agency_choices("Select an agency")
    return render_template("admin/user.html", title=user.name, user=user, form=form, setup_link=setup_link,
                           live_sessions=_live_sessions(user))


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(ADMIN)
def admin_user(user_id: int):
    user = _user_or_404(user_id)
    if request.method == "GET":
        return _user_page(user)
    form = UserEditForm()
    form.agency_id.choices = _agency_choices("Select an agency")
    if form.validate_on_submit():
        try:
            changes = services.update_user(user, name=form.name.data, agency_id=form.agency_id.data,
                                           roles=set(form.roles.data), acting=g.user)
        except services.Invalid as exc:
            _form_error(form, exc)
        else:
            flash(f"{user.name}: {', '.join(changes)} changed." if changes else "Nothing was changed.", "success")
            return redirect(url_for("auth.admin_user", user_id=user.id))
    return _user_page(user, form)


@bp.route("/admin/users/<int:user_id>/set-up-link", methods=["POST"])
@roles_required(ADMIN)
def admin_user_setup_link(user_id: int):
    user = _user_or_404(user_id)
    if not user.active:
        abort(409, "Enable the account before creating a set-up link.")
    from sharing import audit

    audit.record("admin", purpose="user accounts", detail=f"set-up link created for user {user.id} {user.email}")
    return _user_page(user, setup_link=_setup_link(user))


@bp.route("/admin/users/<int:user_id>/status", methods=["POST"])
@roles_required(ADMIN)
def admin_user_status(user_id: int):
    user = _user_or_404(user_id)
    action = request.form.get("action")
    if action not in ("disable", "enable"):
        abort(400, "Choose to disable or enable the account.")
    if action == "disable" and user.active and user.id != g.user.id and not confirmed():
        return ask(Confirmation(
            title=f"Disable {user.name}’s account?",
            consequences=[f"{user.name} is signed out at once, their API tokens and calendar links stop working, "
                          "and they cannot sign in until an admin enables the account again."],
            button="Disable account", action=url_for("auth.admin_user_status", user_id=user.id),
            fields={"action": "disable"}, cancel=url_for("auth.admin_user", user_id=user.id)))
    try:
        services.set_active(user, action == "enable", acting=g.user)
    except services.Invalid as exc:
        flash(exc.message, "info")
        return redirect(url_for("auth.admin_user", user_id=user.id))
    if action == "disable":
        flash(f"{user.name}’s account is disabled: they are signed out and their API tokens are revoked.", "success")
    else:
        flash(f"{user.name}’s account is enabled.", "success")
    return redirect(url_for("auth.admin_user", user_id=user.id))


# -- agencies ---------------------------------------------------------------------------------


@bp.route("/admin/agencies")
@roles_required(ADMIN)
def admin_agencies():
    counts = dict(db.session.execute(
        db.select(User.agency_id, db.func.count(User.id)).filter_by(active=True, is_system=False)
        .group_by(User.agency_id)
    ).all())
    return render_template("admin/agencies.html", title="Agencies", agencies=_agencies(), counts=counts,
                           kind_labels=KIND_LABELS)


@bp.route("/admin/agencies/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def admin_agency_new():
    form = AgencyNewForm()
    if form.validate_on_submit():
        try:
            agency = services.create_agency(form.code.data, form.name.data, form.kind.data)
        except services.Invalid as exc:
            _form_error(form, exc)
        else:
            flash(f"{agency.name} ({agency.code}) has been added.", "success")
            return redirect(url_for("auth.admin_agencies"))
    return render_template("admin/agency.html", title="Add an agency", form=form, agency=None)


@bp.route("/admin/agencies/<int:agency_id>", methods=["GET", "POST"])
@roles_required(ADMIN)
def admin_agency(agency_id: int):
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    form = AgencyEditForm(obj=agency)
    if form.validate_on_submit():
        try:
            changed = services.update_agency(agency, name=form.name.data, kind=form.kind.data)
        except services.Invalid as exc:
            _form_error(form, exc)
        else:
            flash(f"{agency.name} has been updated." if changed else "Nothing was changed.", "success")
            return redirect(url_for("auth.admin_agencies"))
    return render_template("admin/agency.html", title=agency.name, form=form, agency=agency)
