"""The shared application: configuration, extensions, templates, errors; no feature (wsgi.py wires them in)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

from flask import Flask, has_request_context, request, send_from_directory
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from core import clock
from core.config import as_if_on, build_config, check_production
from core.db import configure_engine, engine_options
from core.errors import register_error_handlers
from core.extensions import csrf, db, limiter, migrate
from core.logs import configure_logging
from core.nav import nav_items
from core.security import csp_nonce, register_security_headers, reject_nul_bytes
from core.templating import register_template_helpers

ROOT = Path(__file__).resolve().parent.parent
SERVICE_NAME = "Manage risk panels"
ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"  # as Flask's url_for quotes an anchor
log = logging.getLogger(__name__)


def create_app(overrides: dict[str, Any] | None = None, *, wire: Callable[[Flask], None] | None = None) -> Flask:
    """The shared infrastructure; `wire` adds the features (wsgi.py, the one module that knows them all).

    Core imports no feature: the features are wired in by the composition root, after the
    extensions and before the error handlers and security headers, which apply to all of them.
    """

    cfg = build_config(overrides)
    check_production(cfg)
    clock.run_as_if_on(as_if_on(cfg))
    app = TrackerApp(
        __name__,
        root_path=str(ROOT),
        static_folder=str(ROOT / "static"),
        static_url_path="/static",
        template_folder=str(ROOT / "templates"),
        instance_path=str(Path(cfg["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent)
        if cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
        else str(ROOT / "instance"),
    )
    app.config.update(cfg)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(cfg["SQLALCHEMY_DATABASE_URI"]))
    if not app.testing:
        configure_logging()
        if cfg["PUBLIC_URL_DEFAULTED"]:
            log.warning("PUBLIC_URL is not set: links in feeds and set-up links use %s (development only)",
                        cfg["PUBLIC_URL"])
    _trust_proxies(app, cfg["TRUSTED_PROXIES"])

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True, render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)

    app.url_map.converters["int"] = DatabaseId
    _configure_templates(app)
    _register_core_routes(app)
    if wire is not None:
        wire(app)


    register_error_handlers(app)
    register_security_headers(app)
    return app


class TrackerApp(Flask):
    """Flask whose absolute links always start with PUBLIC_URL.

    `url_for(..., _external=True)` would otherwise take the scheme and host from the request,
    which anyone can set (`Host: evil.example`), and outside a request it would fail. Relative
    links are left as Flask makes them.
    """

    def url_for(self, /, endpoint: str, *, _anchor: str | None = None, _method: str | None = None,
                _scheme: str | None = None, _external: bool | None = None, **values: Any) -> str:
        external = _external if _external is not None else (_scheme is not None or not has_request_context())
        if not external:
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _external=False, **values)
        link = self.config["PUBLIC_URL"] + self._app_path(endpoint, _method, values)
        return link if _anchor is None else f"{link}#{url_quote(_anchor, safe=ANCHOR_SAFE)}"

    def _app_path(self, endpoint: str, method: str | None, values: dict[str, Any]) -> str:
        """The link's path below the application root (without any SCRIPT_NAME the server set)."""
        if has_request_context():
            path = super().url_for(endpoint, _method=method, _external=False, **values)
            root = request.script_root
            return path[len(root):] if root and path.startswith(root) else path
        self.inject_url_defaults(endpoint, values)
        return self.url_map.bind("public-url.invalid", script_name="/").build(endpoint, values, method=method)


def _trust_proxies(app: Flask, hops: int) -> None:
    """Believe X-Forwarded-For for `hops` proxies (so rate limits key on the client); never Host or scheme.

    With 0 the header is ignored: a client cannot name itself a fresh address. The forwarded
    host and scheme are not trusted either: links come from PUBLIC_URL, and a forwarded
    Host would only matter to code that should not be reading it.
    """
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0)


class DatabaseId(IntegerConverter):
    """<int:...> limited to what an id column holds: /cases/99999999999999999999 is a 404, not an overflow (500)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None, max: int | None = 2**31 - 1,
                 signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> int:
        # Out of range is "no such record" whatever the method: a ValidationError would let
        # the router answer 405 for PATCH (the GET rule matched first) where GET answers 404.
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def _configure_templates(app: Flask) -> None:

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    from govuk_frontend_wtf.main import WTFormsHelpers

    WTFormsHelpers(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.globals["service_name"] = SERVICE_NAME

    app.jinja_env.globals["nav_items"] = nav_items
    register_template_helpers(app)


def _register_core_routes(app: Flask) -> None:
    """One commit per request, the built assets and the health check: what every feature relies on."""

    app.before_request(reject_nul_bytes)

    @app.after_request
    def _commit(resp):
        # One commit per request, only when it succeeded; errors roll back (core.errors).
        if resp.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return resp

    @app.route("/assets/<path:filename>")
    def assets(filename: str):
        return send_from_directory(ROOT / "static" / "assets", filename, max_age=3600)

    @app.route("/healthz")
    def healthz():
        db.session.execute(db.text("SELECT 1"))
        return {"status": "ok"}
