"""Entry point and composition root: `flask --app wsgi ...` and `gunicorn 'wsgi:create_app()'`.

This is the one module that knows every feature. `core` builds the shared infrastructure and
imports no feature; here the features are wired onto it: their tables, the request's user and
access policy, their blueprints and command groups, and the in-process scheduler.
"""

from __future__ import annotations

import importlib
from typing import Any

import click
from flask import Flask, g

import auth.routes
import chronology.routes
import cohort.routes
import dashboards.routes
import documents.routes
import duplicates.routes
import exchange.routes
import lifecycle.routes
import notifications.routes
import panels.routes
import search.routes
import sharing.routes
from auth.decorators import load_request_user
from core.api import api
from core.app import create_app as create_core_app
from core.config import ConfigError
from core.extensions import csrf
from panels.scheduler import maybe_start_in_process
from sharing import audit
from sharing.crypto import Keyring, ensure_data_keys, load_master_key
from sharing.gateway import reveal
from sharing.policy import current_policy

__all__ = ["create_app"]

# Every feature's tables, so the metadata (and Alembic) sees them all.
MODEL_MODULES = ("auth.models", "sharing.models", "cohort.models", "panels.models", "notifications.models",
                 "documents.models", "equality.models", "lifecycle.models")
BLUEPRINTS = (auth.routes.bp, sharing.routes.bp, cohort.routes.bp, exchange.routes.bp, panels.routes.bp,
              duplicates.routes.bp, notifications.routes.bp, dashboards.routes.bp, chronology.routes.bp,
              search.routes.bp, documents.routes.bp, lifecycle.routes.bp)
# Each adds its routes to core.api's blueprint, which is registered after them.
API_MODULES = ("auth.api", "cohort.api", "duplicates.api", "panels.api", "notifications.api", "lifecycle.api",
               "chronology.api", "search.api", "documents.api")
# Each module's CLI_GROUPS become `flask <group> <command>`.
CLI_MODULES = ("auth.cli", "sharing.cli", "partnership.cli", "exchange.cli", "duplicates.cli", "panels.cli",
               "demo.cli", "lifecycle.backup", "notifications.cli", "lifecycle.cli")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app; under `flask` a configuration that must not start exits with one line."""
    try:
        app = create_core_app(overrides, wire=wire_features)
    except ConfigError as exc:
        if click.get_current_context(silent=True) is None:
            raise  # gunicorn and tests see the exception (gunicorn then stops its workers)
        raise SystemExit(str(exc)) from None
    maybe_start_in_process(app)
    return app


def wire_features(app: Flask) -> None:
    """Everything the features add to the shared app, in the order requests meet it."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    app.extensions["keyring"] = Keyring(load_master_key(app.config))
    app.extensions["access_log"] = audit  # core's error pages and API record refusals through it
    _register_request_hooks(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    for name in API_MODULES:
        importlib.import_module(name)
    csrf.exempt(api)
    app.register_blueprint(api)
    for name in CLI_MODULES:
        for group in importlib.import_module(name).CLI_GROUPS:
            app.cli.add_command(group)


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _keys_and_user() -> None:
        if not app.extensions.get("keys_ready"):
            ensure_data_keys()
            app.extensions["keys_ready"] = True
        load_request_user()

    @app.context_processor
    def _context() -> dict[str, Any]:
        return {"current_user": g.get("user"), "policy": current_policy()}

    @app.template_global("reveal")
    def _reveal(obj: Any, attr: str) -> Any:
        """`reveal(note, "body")` in a template: the value if the viewer may read it, else None."""
        return reveal(obj, attr, current_policy())
