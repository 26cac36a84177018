"""Error pages and JSON errors: a clear message, never a stack trace, refusals logged."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import Forbidden, HTTPException

from core.extensions import db

log = logging.getLogger(__name__)


class ExplainedForbidden(Forbidden):
    """A 403 whose description is written for the user and shown to them (other 403s say
    only that access is not covered: their descriptions are for the log)."""

TITLES = {
    400: "There is a problem with your request",
    401: "Sign in to continue",
    403: "You do not have access to this",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "Someone else changed this first",
    413: "The file is too large",
    422: "There is a problem with what you sent",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, message: str | None = None, headers: dict[str, str] | None = None):
    """The error as JSON (API) or a page, with `headers` (Allow on 405, WWW-Authenticate on 401)."""
    try:
        db.session.rollback()
        if status in (401, 403, 404) and "access_log" in current_app.extensions:
            current_app.extensions["access_log"].write_pending()  # the refusals held back, after the rollback
    except Exception:  # the database itself may be what failed
        log.exception("could not write refusal to the access log")
        db.session.rollback()
    title = TITLES.get(status, "There is a problem")
    headers = dict(headers or {})
    if status == 401 and request.path.startswith("/api/"):
        headers.setdefault("WWW-Authenticate", "Bearer")  # RFC 9110 15.5.2: a 401 names its scheme
    if wants_json():
        return {"error": message or title}, status, headers
    return render_template("errors/error.html", status=status, title=title, message=message), status, headers


def exception_headers(exc: HTTPException) -> dict[str, str]:
    """The headers the exception carries (`Allow` on a 405, a Retry-After...), less its Content-Type."""
    return {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        shown = exc.code in (400, 409, 413, 422, 429) or wants_json() or isinstance(exc, ExplainedForbidden)
        message = exc.description if shown else None
        if exc.code == 429:
            message = "Too many attempts. Wait a few minutes and try again."
        if exc.code == 413:
            message = "The request is too large." if request.path.startswith("/api/") else "The file is too large."
        return error_response(exc.code or 500, message, exception_headers(exc))

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        log.error("database unavailable: %s", type(exc).__name__)
        return error_response(503, "The database is not answering. Try again in a minute.")

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error on %s", request.path)
        return error_response(500)
