"""Pages: the signed-in user's notifications, marking them read, and e-mail preferences.

Only the user's own rows are ever read here; another user's notification id is a 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from auth.decorators import login_required
from notifications import services
from notifications.forms import MarkReadForm, PreferenceForm

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def _header_count() -> dict:
    """The header's unread count, counted only when a page asks for it."""
    return {"unread_notifications": lambda: services.unread_count(g.get("user"))}


@bp.route("/notifications")
@login_required
def index():
    page = request.args.get("page", 1, type=int) or 1
    unread_only = request.args.get("show") == "unread"
    rows, total = services.for_user(g.user, page=max(page, 1), unread_only=unread_only)
    items = [{"n": n, "text": services.notification_text(n)} for n in rows]
    more = page * services.PAGE_SIZE < total
    return render_template("notifications/index.html", title="Notifications", items=items, total=total,
                           unread=services.unread_count(g.user), unread_only=unread_only, page=page, more=more,
                           form=MarkReadForm())


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_one(notification_id: int):
    """Mark one read and go to what it is about (the page there applies the access policy)."""
    n = services.own(g.user, notification_id)
    if n is None:
        abort(404)
    if not MarkReadForm().validate_on_submit():
        abort(400)
    services.mark_read(g.user, [n.id])
    return redirect(n.link)


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_all_read():
    if not MarkReadForm().validate_on_submit():
        abort(400)
    done = services.mark_read(g.user)
    flash(f"{done} notification{'s' if done != 1 else ''} marked as read", "success")
    return redirect(url_for(".index"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    form = PreferenceForm()
    if not form.is_submitted():
        form.email.data = services.preference(g.user)
    if form.validate_on_submit():
        services.set_preference(g.user, form.email.data)
        flash("Your e-mail preference is saved", "success")
        return redirect(url_for(".index"))
    status = 422 if form.is_submitted() else 200
    return render_template("notifications/preferences.html", title="E-mail preferences", form=form), status
