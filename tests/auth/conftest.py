"""Fixtures for the auth tests: a second app with CSRF or rate limiting switched on."""

from __future__ import annotations

import pytest

from core.extensions import db, limiter


@pytest.fixture
def strict_app(app):
    """strict_app(**config) -> an app on the same test database with some protections turned on."""
    from tests.conftest import test_overrides
    from wsgi import create_app

    made = []
    was_enabled = limiter.enabled

    def _make(**extra):
        other = create_app(test_overrides(app.config["SQLALCHEMY_DATABASE_URI"], **extra))
        other.extensions["keys_ready"] = True
        made.append(other)
        return other

    yield _make
    limiter.enabled = was_enabled  # the limiter object is shared by every app in the process
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
