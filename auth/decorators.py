"""Who is asking: request loading of the user, and the page/API guards built on it."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, g, redirect, request, url_for

from auth.sessions import load_session
from auth.tokens import bearer_token, user_for_token


def load_request_user() -> None:
    """Set g.user / g.user_session from the API token or the session cookie."""
    g.user = None
    g.user_session = None
    g.via_token = False
    g.pop("policy", None)  # tests reuse one app context (and g) across requests
    g.pop("csp_nonce", None)
    if request.path.startswith("/api/"):
        token = bearer_token(request.headers.get("Authorization"))
        if token is not None:
            g.user = user_for_token(token)
            g.via_token = g.user is not None
        return
    row = load_session()
    if row is not None:
        g.user_session = row
        g.user = row.user


def totp_pending() -> bool:
    """Signed in with a password but the second factor is still owed."""
    row = g.get("user_session")
    if row is None or row.totp_verified:
        return False
    return bool(row.user.totp_enabled or current_app.config["REQUIRE_TOTP"])


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        if totp_pending():
            return redirect(url_for("auth.totp", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    wrapper.login_required = True
    return wrapper


def signed_in_or_401(view):
    """For fragments fetched by htmx: 401 instead of a redirect, which htmx would follow and
    swap the sign-in page into the page (static/app/tracker.mjs reloads the page on 401)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None or totp_pending():
            abort(401)
        return view(*args, **kwargs)

    wrapper.login_required = True
    return wrapper


def roles_required(*roles: str):
    """Signed in and holding one of `roles`; otherwise 403 (logged as a refusal)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not g.user.has_role(*roles):
                from sharing import audit

                audit.refused(f"role: needs one of {', '.join(roles)}")
                abort(403)
            return view(*args, **kwargs)

        wrapper.roles_required = roles
        return wrapper

    return decorate
