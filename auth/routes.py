"""Sign-in (password, lock-out, rate limit, second factor), sign-out and the account page.

The blueprint `bp` also carries the administration pages (auth/admin.py adds them).
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from auth import services, throttle
from auth import totp as otp
from auth.decorators import login_required, totp_pending
from auth.forms import PasswordChangeForm, SetUpForm, SignInForm, TokenForm, TotpDisableForm, TotpEnrolForm, TotpForm
from auth.models import ApiToken, User
from auth.passwords import hash_password, needs_rehash, verify_password
from auth.sessions import end_session, start_session
from auth.tokens import create_feed_token, create_token, live_feed_token, revoke_feed_tokens, revoke_token
from core.extensions import db, limiter
from core.security import safe_next
from sharing import audit

bp = Blueprint("auth", __name__)

BAD_CREDENTIALS = "Enter a correct email address and password"
LOCKED = "There have been too many attempts to sign in. Wait 15 minutes, then try again."
BAD_CODE = "Enter a correct security code. Each code works once: if you have just used it, wait for the next one"


def _rate_limit() -> str:
    return current_app.config.get("SIGN_IN_RATE_LIMIT", "10 per minute")


def _limits_off() -> bool:
    """Decided per app: the limiter object is shared by every app a test run creates."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


# One budget per address for every step of signing in (password, security code, set-up link).
sign_in_limit = limiter.shared_limit(_rate_limit, scope="sign-in", methods=["POST"], exempt_when=_limits_off)


def _next(default: str | None = None) -> str:
    return safe_next(request.args.get("next"), default or url_for("panels.dashboard"))


def password_signed_in(view):
    """Signed in with a password; the second factor may still be owed (the /totp and set-up pages)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.sign_in", next=request.args.get("next")))
        return view(*args, **kwargs)

    return wrapper


# -- sign in and out ------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
@sign_in_limit
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        email = services.normalise_email(form.email.data)
        if throttle.is_locked(email):
            # No password check while locked, and the same answer whether or not the address exists.
            audit.record("sign_in_failed", user=None, outcome="refused", email=email, detail="locked out")
            form.email.errors.append(LOCKED)
            return render_template("auth/sign_in.html", form=form, title="Sign in")
        user = services.find_user(email)
        usable = user is not None and user.active and not user.is_system
        if verify_password(user.password_hash if usable else None, form.password.data):
            return _password_accepted(user, form.password.data)
        locked = throttle.record_failure(email)
        why = "wrong password" if usable else ("account disabled" if user is not None else "unknown email address")
        audit.record("sign_in_failed", user=None, outcome="refused", email=email,
                     detail=why + ("; now locked out" if locked else ""))
        form.email.errors.append(LOCKED if locked else BAD_CREDENTIALS)
    return render_template("auth/sign_in.html", form=form, title="Sign in")


def _password_accepted(user: User, password: str):
    throttle.clear(user.email)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    start_session(user)  # a new session id: nothing from before sign-in carries over
    g.user = user
    audit.record("sign_in", user=user, detail="password accepted")
    if user.totp_enabled:
        return redirect(url_for("auth.totp", next=request.args.get("next")))
    if current_app.config["REQUIRE_TOTP"]:
        return redirect(url_for("auth.totp_setup", next=request.args.get("next")))
    return redirect(_next())


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    if g.get("user") is not None:
        audit.record("sign_out")
    end_session()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/totp", methods=["GET", "POST"])
@sign_in_limit
@password_signed_in
def totp():
    """The second step: a code from the user's authenticator app; each code works once."""
    user = g.user
    if not totp_pending():
        return redirect(_next())
    if not user.totp_enabled:
        return redirect(url_for("auth.totp_setup", next=request.args.get("next")))
    form = TotpForm()
    if form.validate_on_submit():
        locked = throttle.is_locked(user.email)
        if not locked and otp.use_code(user, form.code.data):
            throttle.clear(user.email)
            g.user_session.totp_verified = True
            audit.record("sign_in", detail="security code accepted")
            return redirect(_next())
        # Wrong codes count towards the same lock-out as wrong passwords.
        locked = locked or throttle.record_failure(user.email)
        audit.record("sign_in_failed", outcome="refused",
                     detail="wrong or reused security code" + ("; locked out" if locked else ""))
        if locked:
            end_session()
            flash(LOCKED, "info")
            return redirect(url_for("auth.sign_in"))
        form.code.errors.append(BAD_CODE)
    return render_template("auth/totp.html", form=form, title="Enter your security code")


# -- account ----------------------------------------------------------------------------------


def _account_page(token_form: TokenForm | None = None, new_token: str | None = None,
                  new_feed_link: str | None = None):
    tokens = db.session.execute(
        db.select(ApiToken).filter_by(user_id=g.user.id).order_by(ApiToken.revoked_at.is_not(None),
                                                                  ApiToken.created_at.desc())
    ).scalars().all()
    token_form = token_form or TokenForm(formdata=None)
    return render_template("auth/account.html", title="Your account", token_form=token_form, form=token_form,
                           tokens=tokens, new_token=new_token, feed=live_feed_token(g.user),
                           new_feed_link=new_feed_link)


@bp.route("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_api_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _account_page(form)
    name = form.name.data.strip()
    token = create_token(g.user, name)
    audit.record("token", detail=f"API token {token[:12]}… '{name}' created")
    # Shown on this response only: never stored, never put in the (signed but readable) cookie.
    return _account_page(new_token=token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id: int):
    if not revoke_token(token_id, g.user):
        abort(404)
    audit.record("token", detail=f"API token {token_id} revoked")
    flash("The token is revoked: anything using it stops working now.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/calendar-link", methods=["POST"])
@login_required
def create_feed_link():
    """A new calendar link (replacing any earlier one), shown on this response only."""
    row, token = create_feed_token(g.user)
    audit.record("token", purpose="account", detail=f"calendar link {row.id} created (earlier links revoked)")
    return _account_page(new_feed_link=url_for("panels.token_feed", token=token, _external=True))


@bp.route("/account/calendar-link/revoke", methods=["POST"])
@login_required
def revoke_feed_link():
    revoked = revoke_feed_tokens(g.user)
    for feed_id in revoked:
        audit.record("token", purpose="account", detail=f"calendar link {feed_id} revoked")
    flash("Your calendar link is revoked: calendars subscribed to it stop updating now." if revoked
          else "You had no calendar link to revoke.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password_page():
    user = g.user
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current.data):
            form.current.errors.append("Your current password is not correct")
        elif form.password.data == form.current.data:
            form.password.errors.append("Your new password must be different from your current password")
        else:
            try:
                ended, tokens = services.change_password(user, form.password.data)
            except services.Invalid as exc:
                form.password.errors.append(exc.message)
            else:
                flash(f"Your password has been changed. {ended} other session(s) have been signed out and "
                      f"{tokens} API token(s) revoked.", "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/password.html", form=form, title="Change your password")


@bp.route("/account/two-factor", methods=["GET", "POST"])
@password_signed_in
def totp_setup():
    """Set up an authenticator app. Before the second factor, only for a user who has none yet."""
    user = g.user
    required = current_app.config["REQUIRE_TOTP"]
    if totp_pending() and user.totp_enabled:
        return redirect(url_for("auth.totp", next=request.args.get("next")))
    if user.totp_enabled:
        return render_template("auth/totp_on.html", form=TotpDisableForm(formdata=None),
                               title="Two-factor authentication", require_totp=required)
    form = TotpEnrolForm()
    secret = otp.secret_from_token(user, form.enrolment.data) if request.method == "POST" else None
    if form.validate_on_submit():
        if secret is None:
            form.code.errors.append("This set-up page has expired. Scan the new QR code, then enter a new code")
        elif otp.use_code(user, form.code.data, secret):
            user.totp_secret = secret
            user.totp_enabled = True
            if g.user_session is not None:
                g.user_session.totp_verified = True  # they have just proved they hold the second factor
            audit.record("change", detail="two-factor authentication turned on")
            flash("Two-factor authentication is on. You will need a code from your app each time you sign in.",
                  "success")
            return redirect(_next(url_for("auth.account")))
        else:
            form.code.errors.append("Enter the security code your authenticator app shows now")
    secret = secret or otp.new_secret()
    form.enrolment.data = otp.enrolment_token(user, secret)
    form.code.data = ""
    return render_template("auth/totp_setup.html", form=form, title="Set up two-factor authentication",
                           qr=otp.qr_data_uri(otp.provisioning_uri(user, secret)), secret=otp.grouped(secret),
                           required=required and totp_pending())


@bp.route("/account/two-factor/turn-off", methods=["POST"])
@login_required
def totp_disable():
    user = g.user
    required = current_app.config["REQUIRE_TOTP"]
    if required or not user.totp_enabled:
        return redirect(url_for("auth.totp_setup"))
    form = TotpDisableForm()
    if form.validate_on_submit():
        if verify_password(user.password_hash, form.password.data):
            user.totp_enabled = False
            user.totp_secret = None
            audit.record("change", detail="two-factor authentication turned off")
            flash("Two-factor authentication is off.", "success")
            return redirect(url_for("auth.account"))
        form.password.errors.append("Your password is not correct")
    return render_template("auth/totp_on.html", form=form, title="Two-factor authentication", require_totp=required)


@bp.route("/account/set-up/<token>", methods=["GET", "POST"])
@sign_in_limit
def set_up(token: str):
    """A one-time link from an administrator: a new user chooses their first password (or a new one)."""
    user = services.user_for_setup(token)
    if user is None:
        return render_template("auth/set_up_invalid.html", title="This link does not work"), 404
    form = SetUpForm()
    if form.validate_on_submit():
        try:
            services.complete_setup(user, form.password.data)
        except services.Invalid as exc:
            form.password.errors.append(exc.message)
        else:
            if g.get("user") is not None:
                end_session()
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/set_up.html", form=form, title="Choose your password", user=user)


from auth import admin  # noqa: E402,F401  (adds the administration pages to bp)
