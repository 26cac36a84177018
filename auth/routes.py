"""Sign-in, sign-out and the account page."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for

from auth.decorators import login_required
from auth.forms import SignInForm
from auth.models import User
from auth.passwords import verify_password
from auth.sessions import end_session, start_session
from core.extensions import db
from core.security import safe_next
from sharing import audit

bp = Blueprint("auth", __name__)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
        ok = verify_password(user.password_hash if user and user.active else None, form.password.data)
        if ok:
            start_session(user)
            audit.record("sign_in", user=user)
            return redirect(safe_next(request.args.get("next"), url_for("panels.dashboard")))
        audit.record("sign_in_failed", outcome="refused", email=email)
        db.session.commit()
        form.email.errors.append("Enter a correct email address and password")
    return render_template("auth/sign_in.html", form=form, title="Sign in")


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    if g.get("user") is not None:
        audit.record("sign_out")
    end_session()
    return redirect(url_for("auth.sign_in"))


@bp.route("/account")
@login_required
def account():
    return render_template("auth/account.html", title="Your account")


@bp.route("/totp", methods=["GET", "POST"])
def totp():
    return redirect(url_for("panels.dashboard"))
