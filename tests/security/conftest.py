"""Fixtures for the attack suite: one small world with a real id for every kind of URL."""

from __future__ import annotations

import pytest

from core.extensions import db, limiter
from tests.security.world import build_world


@pytest.fixture
def world(partnership):
    """Cases, meetings, agenda items, pairs, a merge, an import token... (see world.build_world)."""
    return build_world(partnership)


@pytest.fixture
def other_app(app):
    """other_app(**config) -> a second app on the same test database with protections turned on."""
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
