"""Security headers with a per-request CSP nonce, and safe `next` redirects."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, g


def csp_nonce() -> str:
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def is_safe_next(target: str | None) -> bool:
    """Only same-site paths: "/cases/3" yes; "https://evil.example", "//evil", "/\\evil" no."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str = "/") -> str:
    return target if is_safe_next(target) else default


def reject_nul_bytes() -> None:
    """NUL is never valid text here, and PostgreSQL refuses it in a query (a 500): answer 400 instead."""
    from flask import abort, request

    values = [request.path]
    values += [v for _, vs in request.args.lists() for v in vs]
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        values += [v for _, vs in request.form.lists() for v in vs]
    if any("\x00" in v for v in values):
        abort(400, "The request contains a character that is not allowed (NUL).")


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(resp):
        nonce = csp_nonce()
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; "
            "img-src 'self' data:; "
            "font-src 'self'; "
            "connect-src 'self'; "
            "object-src 'none'; "
            "base-uri 'none'; "
            "frame-ancestors 'none'; "
            "form-action 'self'"
        )
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if "Cache-Control" not in resp.headers and resp.mimetype in ("text/html", "application/json"):
            resp.headers["Cache-Control"] = "no-store"
        return resp
