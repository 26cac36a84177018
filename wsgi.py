"""Entry point: `flask --app wsgi ...` and `gunicorn 'wsgi:create_app()'` build the app here."""

from core.app import create_app

__all__ = ["create_app"]
