"""Entry point: `flask --app wsgi ...` and `gunicorn 'wsgi:create_app()'` build the app here."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

from core.app import create_app as _create_app
from core.config import ConfigError

__all__ = ["create_app"]


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app; under `flask` a configuration that must not start exits with one line."""
    try:
        return _create_app(overrides)
    except ConfigError as exc:
        if click.get_current_context(silent=True) is None:
            raise  # gunicorn and tests see the exception (gunicorn then stops its workers)
        raise SystemExit(str(exc)) from None
